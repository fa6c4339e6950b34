"""Image import over HTTP from the simulator's sample server."""

import hashlib
import urllib.request

import pytest

from tests.kube import Dvp, condition, fresh_namespace, http_image, sample_url


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "images"))


def test_it_imports_a_qcow2_image_and_reports_format_and_sizes(dvp, sim):
    created = dvp.create("virtualimages", http_image(sim, "ubuntu", "noble-server-cloudimg-amd64.img"))
    image = dvp.wait_phase("virtualimages", "ubuntu", "Ready")
    status = image["status"]
    assert status["format"] == "qcow2"
    assert status["cdrom"] is False
    assert status["progress"] == "100%"
    assert status["size"]["unpacked"] == "3.5Gi"
    assert status["size"]["unpackedBytes"] == str(int(3.5 * 1024**3))
    assert status["size"]["stored"] == "3.4Mi"
    assert status["target"]["registryURL"] == \
        f"dvcr.d8-virtualization.svc/vi/{dvp.namespace}/ubuntu:{created['metadata']['uid']}"
    assert condition(image, "Ready")["status"] == "True"
    assert condition(image, "DatasourceReady")["status"] == "True"
    assert "virtualization.deckhouse.io/cleanup" in image["metadata"]["finalizers"]
    assert {"Provisioning", "Ready"} <= {e.reason for e in dvp.events_about("ubuntu")}


def test_it_shows_progress_while_downloading(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "progress", "noble-server-cloudimg-amd64.img"))
    seen = dvp.wait("virtualimages", "progress",
                    lambda o: (o.get("status") or {}).get("phase") == "Provisioning" and o["status"].get("progress"))
    assert seen["status"]["progress"].endswith("%")
    dvp.wait_phase("virtualimages", "progress", "Ready")


def test_it_unpacks_gzip_on_the_fly(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "tiny", "tiny-raw.img.gz"))
    status = dvp.wait_phase("virtualimages", "tiny", "Ready")["status"]
    assert status["format"] == "raw"
    assert status["size"]["unpacked"] == "16Mi"
    assert int(status["size"]["storedBytes"]) < 1024**2


def test_it_marks_an_iso_as_cdrom(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "installer", "install.iso"))
    status = dvp.wait_phase("virtualimages", "installer", "Ready")["status"]
    assert (status["format"], status["cdrom"]) == ("iso", True)


def test_it_fails_with_the_http_status_when_the_url_is_missing(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "missing", "no-such-image.qcow2"))
    image = dvp.wait_phase("virtualimages", "missing", "Failed")
    ready = condition(image, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ProvisioningFailed")
    assert ready["message"] == "Failed to download the image: http status 404 Not Found"


def test_it_fails_when_the_server_cannot_be_reached(dvp):
    dvp.create("virtualimages", {"metadata": {"name": "refused"}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": "http://127.0.0.1:9/x.img"}}}})
    ready = condition(dvp.wait_phase("virtualimages", "refused", "Failed"), "Ready")
    assert ready["reason"] == "ProvisioningFailed"
    assert "connection refused" in ready["message"]


def test_it_verifies_checksums(dvp, sim):
    data = urllib.request.urlopen(sample_url(sim, "alpine-virt.qcow2")).read()
    good = hashlib.sha256(data).hexdigest()
    dvp.create("virtualimages", http_image(sim, "checked", "alpine-virt.qcow2", checksum={"sha256": good}))
    dvp.create("virtualimages", http_image(sim, "tampered", "alpine-virt.qcow2", checksum={"md5": "0" * 32}))
    dvp.wait_phase("virtualimages", "checked", "Ready")
    ready = condition(dvp.wait_phase("virtualimages", "tampered", "Failed"), "Ready")
    assert "md5 checksum mismatch" in ready["message"]


def test_it_stores_cluster_images_under_cvi(dvp, sim):
    body = http_image(sim, "cvi-alpine-test", "alpine-virt.qcow2")
    del body["spec"]["storage"]
    created = dvp.create("clustervirtualimages", body)
    image = dvp.wait_phase("clustervirtualimages", "cvi-alpine-test", "Ready")
    assert image["status"]["target"]["registryURL"] == \
        f"dvcr.d8-virtualization.svc/cvi/cvi-alpine-test:{created['metadata']['uid']}"
    dvp.delete("clustervirtualimages", "cvi-alpine-test")
    dvp.wait_gone("clustervirtualimages", "cvi-alpine-test")


def test_it_lists_the_sample_images(sim):
    import json
    index = json.load(urllib.request.urlopen(f"{sim.url}/dvpsim/samples/index.json"))
    names = {entry["name"]: entry for entry in index}
    assert names["install.iso"]["format"] == "iso"
    assert names["noble-server-cloudimg-amd64.img"]["url"] == sample_url(sim, "noble-server-cloudimg-amd64.img")


def test_it_serves_sample_heads_with_a_length(sim):
    request = urllib.request.Request(sample_url(sim, "install.iso"), method="HEAD")
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Length"] == str(2 * 1024**2)
