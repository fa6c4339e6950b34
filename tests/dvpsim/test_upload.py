"""The upload endpoint (dvp-api-notes §6): capability URL, raw PUT/POST body, 503 on concurrency, timeout."""

import gzip
import hashlib
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from dvpsim.samples import qcow2
from tests.conftest import start_sim, stop_sim
from tests.kube import Dvp, condition, fresh_namespace

MiB = 1024**2


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "uploads"))


def upload_image(name, **upload):
    source = {"type": "Upload", **({"upload": upload} if upload else {})}
    return {"metadata": {"name": name}, "spec": {"storage": "ContainerRegistry", "dataSource": source}}


def waiting_url(dvp, plural, name):
    obj = dvp.wait(plural, name, lambda o: ((o.get("status") or {}).get("imageUploadURLs") or {}).get("external"))
    assert obj["status"]["phase"] == "WaitForUserUpload"
    return obj["status"]["imageUploadURLs"]["external"]


def send(url, data, method="PUT"):
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_it_gives_a_random_capability_url_that_answers_get(dvp, sim):
    dvp.create("virtualimages", upload_image("waiting"))
    url = waiting_url(dvp, "virtualimages", "waiting")
    path = urllib.parse.urlsplit(url).path
    assert path.startswith("/upload/") and len(path.removeprefix("/upload/")) == 32
    assert path.removeprefix("/upload/").isalnum()
    assert urllib.request.urlopen(url, timeout=5).status == 200
    assert send(sim.url + "/upload/" + "x" * 32, b"data") == 404
    ready = condition(dvp.get("virtualimages", "waiting"), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "WaitForUserUpload")


def test_it_imports_an_uploaded_qcow2_with_its_format_and_sizes(dvp):
    data = qcow2(64 * MiB, 2 * MiB)
    dvp.create("virtualimages", upload_image("uploaded", checksum={"sha256": hashlib.sha256(data).hexdigest()}))
    assert send(waiting_url(dvp, "virtualimages", "uploaded"), data) == 200
    status = dvp.wait_phase("virtualimages", "uploaded", "Ready")["status"]
    assert status["format"] == "qcow2"
    assert status["size"]["unpackedBytes"] == str(64 * MiB)
    assert status["size"]["storedBytes"] == str(2 * MiB)
    assert "imageUploadURLs" not in status
    assert {"WaitForUserUpload", "Provisioning", "Ready"} <= {e.reason for e in dvp.events_about("uploaded")}


def test_it_takes_post_and_unpacks_gzip(dvp):
    dvp.create("virtualimages", upload_image("posted"))
    assert send(waiting_url(dvp, "virtualimages", "posted"), gzip.compress(bytes(4 * MiB)), "POST") == 200
    status = dvp.wait_phase("virtualimages", "posted", "Ready")["status"]
    assert (status["format"], status["size"]["unpackedBytes"]) == ("raw", str(4 * MiB))


def test_it_fails_for_good_on_a_checksum_mismatch(dvp):
    dvp.create("virtualimages", upload_image("mismatch", checksum={"md5": "0" * 32}))
    url = waiting_url(dvp, "virtualimages", "mismatch")
    assert send(url, qcow2(MiB, 256 * 1024)) == 500
    image = dvp.wait_phase("virtualimages", "mismatch", "Failed")
    assert "md5 checksum mismatch" in condition(image, "Ready")["message"]
    assert send(url, b"again") == 404


def test_it_refuses_an_empty_file(dvp):
    dvp.create("virtualimages", upload_image("empty"))
    assert send(waiting_url(dvp, "virtualimages", "empty"), b"") == 500
    image = dvp.wait_phase("virtualimages", "empty", "Failed")
    assert "empty" in condition(image, "Ready")["message"]


def test_it_answers_503_to_a_second_upload_while_one_runs(dvp):
    dvp.create("virtualimages", upload_image("busy"))
    url = urllib.parse.urlsplit(waiting_url(dvp, "virtualimages", "busy"))
    data = qcow2(8 * MiB, 2 * MiB)
    first = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    first.putrequest("PUT", url.path)
    first.putheader("Content-Length", str(len(data)))
    first.endheaders()
    first.send(data[:MiB])
    dvp.wait_phase("virtualimages", "busy", "Provisioning")
    assert send(url.geturl(), data) == 503
    first.send(data[MiB:])
    assert first.getresponse().status == 200
    assert dvp.wait_phase("virtualimages", "busy", "Ready")["status"]["format"] == "qcow2"


def test_it_waits_again_after_an_interrupted_upload(dvp):
    dvp.create("virtualimages", upload_image("interrupted"))
    url = urllib.parse.urlsplit(waiting_url(dvp, "virtualimages", "interrupted"))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("PUT", url.path)
    connection.putheader("Content-Length", str(4 * MiB))
    connection.endheaders()
    connection.send(bytes(MiB))
    dvp.wait_phase("virtualimages", "interrupted", "Provisioning")
    connection.close()
    image = dvp.wait(
        "virtualimages", "interrupted",
        lambda o: o["status"]["phase"] == "WaitForUserUpload" and "interrupted" in condition(o, "Ready")["message"])
    assert image["status"]["imageUploadURLs"]["external"] == url.geturl()
    assert send(url.geturl(), bytes(MiB)) == 200
    dvp.wait_phase("virtualimages", "interrupted", "Ready")


def test_it_uploads_a_disk_in_two_halves_and_sizes_it(dvp):
    dvp.create("virtualdisks", {"metadata": {"name": "uploaded-disk"}, "spec": {"dataSource": {"type": "Upload"}}})
    assert send(waiting_url(dvp, "virtualdisks", "uploaded-disk"), qcow2(300 * MiB, MiB)) == 200
    seen = dvp.wait("virtualdisks", "uploaded-disk", lambda o: o["status"].get("progress") in ("75%", "100%"))
    assert seen["status"]["phase"] in ("Provisioning", "Ready")
    disk = dvp.wait_phase("virtualdisks", "uploaded-disk", "Ready")
    assert disk["status"]["capacity"] == "300Mi"


def test_it_uploads_a_cluster_image(sim):
    dvp = Dvp(sim, "default")
    name = f"cvi-upload-{time.monotonic_ns() % 10**8}"
    dvp.create("clustervirtualimages", {"metadata": {"name": name}, "spec": {"dataSource": {"type": "Upload"}}})
    try:
        assert send(waiting_url(dvp, "clustervirtualimages", name), qcow2(MiB, 512 * 1024)) == 200
        assert dvp.wait_phase("clustervirtualimages", name, "Ready")["status"]["format"] == "qcow2"
    finally:
        dvp.delete("clustervirtualimages", name)


def test_it_fails_an_upload_that_never_starts_within_ten_minutes():
    fast = start_sim(demo=False, speed=2400)  # 10 simulated minutes in a quarter of a second
    try:
        dvp = Dvp(fast, fresh_namespace(fast, "timeout"))
        dvp.create("virtualimages", upload_image("late"))
        image = dvp.wait_phase("virtualimages", "late", "Failed", timeout=10)
        ready = condition(image, "Ready")
        assert ready["reason"] == "WaitForUserUploadTimeout"
        assert ready["message"] == ("The image was not uploaded within 10 minutes. "
                                    "Recreate the VirtualImage to upload the image again.")
        assert "imageUploadURLs" not in image["status"]
    finally:
        stop_sim(fast)
