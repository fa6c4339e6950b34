"""Upload from computer: the console streams the browser's file to the image's upload URL, as the user."""
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import ApplicationCommunicator
from django.test import Client
from django.urls import reverse

from dvpsim.samples import qcow2
from portal.asgi import application

from .conftest import MEMBER, OUTSIDER, OWNER, PROJECT_A
from .helpers import create_dvp, get_dvp, wait_for_phase

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024**2
CSRF = "a" * 32


def _session(username):
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def put(path, chunks, username=OWNER, origin="http://localhost", csrf_header=CSRF, total=None):
    """PUT the chunks to the console's ASGI app as one streamed request; returns (status, json)."""
    headers = [(b"host", b"localhost"), (b"content-length", str(total or sum(map(len, chunks))).encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    cookies = f"csrftoken={CSRF}"
    if username:
        cookies += f"; sessionid={await sync_to_async(_session)(username)}"
    headers.append((b"cookie", cookies.encode()))
    if csrf_header:
        headers.append((b"x-csrftoken", csrf_header.encode()))
    communicator = ApplicationCommunicator(application, {
        "type": "http", "http_version": "1.1", "method": "PUT", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("localhost", 80)})
    for index, chunk in enumerate(chunks):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
    start = await communicator.receive_output(timeout=20)
    body = await communicator.receive_output(timeout=5)
    return start["status"], json.loads(body["body"])


def upload_path(name):
    return f"/projects/{PROJECT_A}/images/{name}/upload/"


@pytest.fixture
def waiting_image(sim, unique):
    name = unique("up")
    create_dvp(sim, "virtualimages", PROJECT_A, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    wait_for_phase(sim, "virtualimages", PROJECT_A, name, "WaitForUserUpload")
    return name


async def test_it_streams_a_file_in_chunks_to_the_upload_url(sim, waiting_image):
    data = qcow2(32 * MiB, 3 * MiB)
    chunks = [data[i:i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
    assert await put(upload_path(waiting_image), chunks) == (200, {"ok": True})
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", PROJECT_A, waiting_image, "Ready")
    assert image["status"]["format"] == "qcow2"
    assert image["status"]["size"]["unpackedBytes"] == str(32 * MiB)
    assert image["status"]["size"]["storedBytes"] == str(len(data))


async def test_it_says_why_a_bad_file_failed(sim, waiting_image):
    status, answer = await put(upload_path(waiting_image), [b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100])
    assert status == 502
    assert "not a valid image" in answer["error"]
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", PROJECT_A, waiting_image, "Failed")
    assert "not a valid image" in image["status"]["conditions"][-1]["message"]


async def test_it_refuses_without_the_csrf_token(sim, waiting_image):
    status, answer = await put(upload_path(waiting_image), [b"x"], csrf_header=None)
    assert status == 403 and "CSRF" in answer["error"]
    status, _ = await put(upload_path(waiting_image), [b"x"], csrf_header="b" * 32)
    assert status == 403


async def test_it_refuses_another_origin(sim, waiting_image):
    status, answer = await put(upload_path(waiting_image), [b"x"], origin="http://evil.example")
    assert status == 403 and "Origin" in answer["error"]
    status, _ = await put(upload_path(waiting_image), [b"x"], origin=None)
    assert status == 403


async def test_it_refuses_without_a_session(sim, waiting_image):
    status, answer = await put(upload_path(waiting_image), [b"x"], username=None)
    assert status == 401 and "log in" in answer["error"]


async def test_it_refuses_a_viewer_and_an_outsider(sim, waiting_image):
    status, answer = await put(upload_path(waiting_image), [b"x"], username=MEMBER)
    assert status == 403 and "update on virtualimages" in answer["error"]
    status, _ = await put(upload_path(waiting_image), [b"x"], username=OUTSIDER)
    assert status == 404
    image = await sync_to_async(get_dvp)(sim, "virtualimages", PROJECT_A, waiting_image)
    assert image["status"]["phase"] == "WaitForUserUpload"


async def test_it_refuses_an_image_that_is_not_uploaded(sim, unique):
    name = unique("http")
    await sync_to_async(create_dvp)(sim, "virtualimages", PROJECT_A, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": f"{sim.url}/nothing"}}}})
    status, answer = await put(upload_path(name), [b"x"])
    assert status == 409 and "not made by an upload" in answer["error"]


def test_the_detail_page_offers_the_upload_and_the_curl_command_to_the_owner(owner, sim, waiting_image):
    page = owner.get(reverse("virtualization:detail", args=[PROJECT_A, "images", waiting_image])).content.decode()
    url = get_dvp(sim, "virtualimages", PROJECT_A, waiting_image)["status"]["imageUploadURLs"]["external"]
    assert f"curl -T image.qcow2 {url}" in page
    assert f'data-upload-url="/projects/{PROJECT_A}/images/{waiting_image}/upload/"' in page
    assert "10 minutes" in page
    assert "js/upload.js" in page
    assert "from this page or with the curl command" in page  # the Ready condition said in words


def test_the_create_form_makes_an_upload_image(owner, sim, unique):
    name = unique("up")
    response = owner.post(reverse("virtualization:image-create-upload", args=[PROJECT_A]),
                          {"name": name, "storage": "ContainerRegistry", "sha256": "ab" * 32})
    assert response.status_code == 302
    image = get_dvp(sim, "virtualimages", PROJECT_A, name)
    assert image["spec"]["dataSource"] == {"type": "Upload", "upload": {"checksum": {"sha256": "ab" * 32}}}


async def test_it_streams_a_disk_upload_too(sim, unique):
    name = unique("vd-up")
    await sync_to_async(create_dvp)(sim, "virtualdisks", PROJECT_A, {"metadata": {"name": name},
                                                                     "spec": {"dataSource": {"type": "Upload"}}})
    await sync_to_async(wait_for_phase)(sim, "virtualdisks", PROJECT_A, name, "WaitForUserUpload")
    data = qcow2(512 * MiB, MiB)
    status = await put(f"/projects/{PROJECT_A}/disks/{name}/upload/", [data[:MiB // 2], data[MiB // 2:]])
    assert status == (200, {"ok": True})
    disk = await sync_to_async(wait_for_phase)(sim, "virtualdisks", PROJECT_A, name, "Ready")
    assert disk["status"]["capacity"] == "512Mi"
