"""Upload from computer: the console streams the browser's file to the image's upload URL, as the user."""
import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from dvpsim.samples import qcow2

from tests.kube import create_dvp, get_dvp, wait_for_phase
from tests.websockets import connect as websocket

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024**2


OWNER = object()  # the cast's owner; None: no session


async def connect(cast, path, username=OWNER, origin="http://localhost"):
    return await websocket(path, cast.owner if username is OWNER else username, origin)


async def put(cast, path, chunks, username=OWNER, origin="http://localhost"):
    """Send the chunks as the page does; returns (status, answer, acks). status None: refused before accept."""
    communicator, connected = await connect(cast, path, username, origin)
    if not connected:
        return None, {}, []
    acks = []
    first = json.loads(await communicator.receive_from(timeout=10))  # ready, or why not
    if first.get("ready"):
        await communicator.send_to(text_data=json.dumps({"size": sum(map(len, chunks))}))
        for chunk in chunks:
            await communicator.send_to(bytes_data=chunk)
        await communicator.send_to(text_data=json.dumps({"done": True}))
        while True:
            answer = json.loads(await communicator.receive_from(timeout=30))
            if "ack" not in answer:
                break
            acks.append(answer["ack"])
    else:
        answer = first
    await communicator.disconnect()
    return (200 if answer.get("ok") else answer.get("status")), answer, acks


def upload_path(project, name, slug="images"):
    return f"/ws/projects/{project}/{slug}/{name}/upload/"


@pytest.fixture
def waiting_image(project, sim, unique):
    name = unique("up")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    wait_for_phase(sim, "virtualimages", project, name, "WaitForUserUpload")
    return name


async def test_it_streams_a_file_in_chunks_to_the_upload_url(cast, project, sim, waiting_image):
    data = qcow2(32 * MiB, 3 * MiB)
    chunks = [data[i:i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
    status, answer, acks = await put(cast, upload_path(project, waiting_image), chunks)
    assert (status, answer) == (200, {"ok": True})
    assert acks == sorted(acks) and acks[-1] == len(data)  # progress as the chunks go upstream
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", project, waiting_image, "Ready")
    assert image["status"]["format"] == "qcow2"
    assert image["status"]["size"]["unpackedBytes"] == str(32 * MiB)
    assert image["status"]["size"]["storedBytes"] == str(len(data))


async def test_it_says_why_a_bad_file_failed(cast, project, sim, waiting_image):
    status, answer, _ = await put(cast, upload_path(project, waiting_image), [b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100])
    assert status == 502
    assert "not a valid image" in answer["error"]
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", project, waiting_image, "Failed")
    assert "not a valid image" in image["status"]["conditions"][-1]["message"]


async def test_it_refuses_another_origin_before_accepting(project, cast, sim, waiting_image):
    for origin in ("http://evil.example", "http://localhost:9999", None):
        status, _, _ = await put(cast, upload_path(project, waiting_image), [b"x"], origin=origin)
        assert status is None, origin


async def test_it_refuses_without_a_session_before_accepting(project, cast, sim, waiting_image):
    status, _, _ = await put(cast, upload_path(project, waiting_image), [b"x"], username=None)
    assert status is None


async def test_it_cancels_the_upstream_upload_when_the_page_goes_away(cast, project, sim, waiting_image):
    communicator, connected = await connect(cast, upload_path(project, waiting_image))
    assert connected
    assert json.loads(await communicator.receive_from(timeout=10)) == {"ready": True}
    await communicator.send_to(text_data=json.dumps({"size": 64 * MiB}))
    await communicator.send_to(bytes_data=qcow2(64 * MiB, MiB)[: MiB // 2])
    await communicator.receive_from(timeout=10)  # the first ack: the upload is running upstream
    await communicator.disconnect()
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", project, waiting_image, "WaitForUserUpload")
    assert image["status"]["imageUploadURLs"]


async def test_it_refuses_a_viewer_and_an_outsider(project, cast, sim, waiting_image):
    status, answer, _ = await put(cast, upload_path(project, waiting_image), [b"x"], username=cast.viewer)
    assert status == 403 and "update on virtualimages" in answer["error"]
    status, _, _ = await put(cast, upload_path(project, waiting_image), [b"x"], username=cast.outsider)
    assert status == 404
    image = await sync_to_async(get_dvp)(sim, "virtualimages", project, waiting_image)
    assert image["status"]["phase"] == "WaitForUserUpload"


async def test_it_refuses_an_image_that_is_not_uploaded(cast, project, sim, unique):
    name = unique("http")
    await sync_to_async(create_dvp)(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": f"{sim.url}/nothing"}}}})
    status, answer, _ = await put(cast, upload_path(project, name), [b"x"])
    assert status == 409 and "not made by an upload" in answer["error"]


def test_the_detail_page_offers_the_upload_and_the_curl_command_to_the_owner(project, owner, sim, waiting_image):
    page = owner.get(reverse("virtualization:detail", args=[project, "images", waiting_image])).content.decode()
    url = get_dvp(sim, "virtualimages", project, waiting_image)["status"]["imageUploadURLs"]["external"]
    assert f"curl -T image.qcow2 {url}" in page
    assert f'data-upload-socket="/ws/projects/{project}/images/{waiting_image}/upload/"' in page
    assert "10 minutes" in page
    assert "js/upload.js" in page
    assert "from this page or with the curl command" in page  # the Ready condition said in words


def test_the_create_form_makes_an_upload_image(project, owner, sim, unique):
    name = unique("up")
    response = owner.post(reverse("virtualization:image-create-upload", args=[project]),
                          {"name": name, "storage": "ContainerRegistry", "sha256": "ab" * 32})
    assert response.status_code == 302
    image = get_dvp(sim, "virtualimages", project, name)
    assert image["spec"]["dataSource"] == {"type": "Upload", "upload": {"checksum": {"sha256": "ab" * 32}}}


async def test_it_streams_a_disk_upload_too(cast, project, sim, unique):
    name = unique("vd-up")
    await sync_to_async(create_dvp)(sim, "virtualdisks", project, {"metadata": {"name": name},
                                                                     "spec": {"dataSource": {"type": "Upload"}}})
    await sync_to_async(wait_for_phase)(sim, "virtualdisks", project, name, "WaitForUserUpload")
    data = qcow2(512 * MiB, MiB)
    status, answer, _ = await put(cast, upload_path(project, name, "disks"), [data[:MiB // 2], data[MiB // 2:]])
    assert (status, answer) == (200, {"ok": True})
    disk = await sync_to_async(wait_for_phase)(sim, "virtualdisks", project, name, "Ready")
    assert disk["status"]["capacity"] == "512Mi"


def test_it_puts_the_upload_file_field_on_the_create_form_before_create(project, owner):
    page = owner.get(reverse("virtualization:image-create-upload", args=[project])).content.decode()
    field = page[page.index("data-upload-pick-field"):]
    assert "<strong>Upload File</strong>" in field and ">Choose a file from your computer</a>" in field
    picker = re.search(r'<input type="file"[^>]*data-upload-pick[^>]*>', page).group(0)
    assert "name=" not in picker  # the file never goes in the form's POST: the upload socket takes it after Create
    assert page.index("data-upload-pick-field") < page.index(">Create</button>")
    assert "js/upload.js" in page
