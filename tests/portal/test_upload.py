"""portal.kube.upload.put: a file streamed to an image's upload URL, and the endpoint's refusals typed."""
import asyncio

import pytest
from asgiref.sync import sync_to_async

from dvpsim.samples import qcow2
from portal.kube import Conflict, KubeError, Unavailable, upload
from tests.kube import create_dvp, wait_for_phase

MiB = 1024**2


@pytest.fixture
def upload_url(sim, project, unique):
    name = unique("put")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    image = wait_for_phase(sim, "virtualimages", project, name, "WaitForUserUpload")
    return project, name, image["status"]["imageUploadURLs"]["external"]


async def chunks_of(data, size=256 * 1024, pulled=None, gate=None):
    for i in range(0, len(data), size):
        if gate is not None and i:
            await gate.wait()
        if pulled is not None:
            pulled.append(i)
        yield data[i:i + size]


async def test_it_streams_the_chunks_as_one_body(sim, upload_url):
    project, name, url = upload_url
    data = qcow2(16 * MiB, 2 * MiB)
    pulled = []
    await upload.put(url, chunks_of(data, pulled=pulled), len(data))
    assert len(pulled) == 8  # every chunk was pulled from the iterator, none of them before the request
    image = await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "Ready")
    assert image["status"]["size"]["storedBytes"] == str(len(data))


async def test_it_types_the_endpoints_refusals(sim, upload_url):
    project, name, url = upload_url
    data = qcow2(16 * MiB, MiB)
    gate = asyncio.Event()
    first = asyncio.create_task(upload.put(url, chunks_of(data, gate=gate), len(data)))
    await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "Provisioning")
    with pytest.raises(Conflict, match="already running"):
        await upload.put(url, chunks_of(data), len(data))
    gate.set()
    await first
    with pytest.raises(Conflict, match="URL is closed"):
        await upload.put(url, chunks_of(data), len(data))


async def test_it_gives_the_endpoints_words_when_the_file_is_refused(upload_url):
    _, _, url = upload_url
    bad = b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100
    with pytest.raises(KubeError, match="not a valid image") as refused:
        await upload.put(url, chunks_of(bad), len(bad))
    assert not isinstance(refused.value, Conflict)


async def test_it_says_when_the_endpoint_cannot_be_reached():
    with pytest.raises(Unavailable, match="could not be reached"):
        await upload.put("http://127.0.0.1:9/upload/nothing", chunks_of(b"x"), 1)
