"""ContainerImage imports: pulled over the OCI distribution API from dvpsim's built-in registry (and from a
tiny registry in this module for the malformed images), measured like HTTP imports, failing like DVP."""

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from kubernetes import client, watch

from dvpsim.samples import qcow2
from tests.conftest import start_sim, stop_sim
from tests.kube import GROUP, VERSION, Dvp, condition, fresh_namespace

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MiB = 1024**2


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "registry"))


@pytest.fixture(scope="module")
def host(sim):
    """host:port of the simulator: its built-in registry's name in image references."""
    return sim.url.split("://", 1)[1]


@pytest.fixture
def registry_auth(sim):
    """Turn on the built-in registry's authentication for one test: registry_auth("bearer"|"basic")."""
    def enable(scheme):
        return sim.control("registry/auth", {"auth": "puller:s3cret", "scheme": scheme})
    yield enable
    assert sim.control("registry/auth", method="DELETE") == {"enabled": False, "scheme": None}


def container_image(name, image, storage="ContainerRegistry", **extra):
    return {"metadata": {"name": name},
            "spec": {"storage": storage, "dataSource": {"type": "ContainerImage",
                                                        "containerImage": {"image": image, **extra}}}}


def cluster_image(name, image, **extra):
    return {"metadata": {"name": name},
            "spec": {"dataSource": {"type": "ContainerImage", "containerImage": {"image": image, **extra}}}}


def pull_secret(dvp, name, registry, user, password, namespace=None, spelled_out=False):
    """A kubernetes.io/dockerconfigjson Secret, as `kubectl create secret docker-registry` writes it
    (`auth`), or with username/password and the registry as a URL, as other tools do."""
    if spelled_out:
        config = {"auths": {f"https://{registry}/v1/": {"username": user, "password": password}}}
    else:
        config = {"auths": {registry: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}
    dvp.core.create_namespaced_secret(namespace or dvp.namespace, {
        "metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})


def failed(dvp, plural, name):
    """The Failed image's Ready condition, after checking the Warning Event that goes with it."""
    image = dvp.wait_phase(plural, name, "Failed")
    ready = condition(image, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ProvisioningFailed")
    assert ready["message"].startswith("Failed to pull the image: ")
    warnings = [e for e in dvp.events_about(name) if e.type == "Warning"]
    assert [(e.reason, e.message) for e in warnings] == [("ProvisioningFailed", ready["message"])]
    assert warnings[0].involved_object.kind == "VirtualImage"
    assert warnings[0].involved_object.uid == image["metadata"]["uid"]
    return ready["message"]


# ---- the happy paths -------------------------------------------------------------------------

def test_it_pulls_a_container_disk_from_the_built_in_registry(dvp, host):
    created = dvp.create("virtualimages", container_image("noble", f"{host}/samples/noble-server-cloudimg-amd64:latest"))
    image = dvp.wait_phase("virtualimages", "noble", "Ready")
    status = image["status"]
    assert (status["format"], status["cdrom"], status["progress"]) == ("qcow2", False, "100%")
    assert status["size"]["unpackedBytes"] == str(int(3.5 * 1024**3))
    assert status["size"]["unpacked"] == "3.5Gi"
    assert status["size"]["stored"] == "3.4Mi"  # the file under /disk/, not the gzip'd layer
    assert status["target"]["registryURL"] == \
        f"dvcr.d8-virtualization.svc/vi/{dvp.namespace}/noble:{created['metadata']['uid']}"
    assert condition(image, "Ready")["status"] == "True"
    assert condition(image, "DatasourceReady")["status"] == "True"
    events = {e.reason: e for e in dvp.events_about("noble")}
    assert events["Provisioning"].message == \
        f"Import of the image from {host}/samples/noble-server-cloudimg-amd64:latest started"
    assert "Ready" in events


def test_it_lists_each_sample_as_a_container_image(dvp, sim, host):
    index = json.load(urllib.request.urlopen(f"{sim.url}/dvpsim/samples/index.json"))
    images = {entry["name"]: entry["containerImage"] for entry in index}
    assert images["alpine-virt.qcow2"] == f"{host}/samples/alpine-virt:latest"
    assert images["tiny-raw.img.gz"] == f"{host}/samples/tiny-raw.img.gz:latest"
    catalog = json.load(urllib.request.urlopen(f"{sim.url}/v2/_catalog"))["repositories"]
    assert sorted(image.split("/", 1)[1].rsplit(":", 1)[0] for image in images.values()) == catalog


def test_it_stores_a_pulled_image_on_a_pvc(dvp, host):
    dvp.create("virtualimages", container_image("on-pvc", f"{host}/samples/alpine-virt", storage="PersistentVolumeClaim"))
    status = dvp.wait_phase("virtualimages", "on-pvc", "Ready")["status"]
    assert (status["format"], status["size"]["unpacked"]) == ("qcow2", "200Mi")
    pvc_name = status["target"]["persistentVolumeClaimName"]
    pvc = dvp.core.read_namespaced_persistent_volume_claim(pvc_name, dvp.namespace)
    assert pvc.spec.resources.requests["storage"] == "200Mi"


def test_it_pulls_a_cluster_image_and_marks_an_iso_as_cdrom(dvp, host):
    name = f"iso-{uuid.uuid4().hex[:6]}"
    created = dvp.create("clustervirtualimages", cluster_image(name, f"{host}/samples/install:latest"))
    try:
        status = dvp.wait_phase("clustervirtualimages", name, "Ready")["status"]
        assert (status["format"], status["cdrom"]) == ("iso", True)
        assert status["size"]["unpackedBytes"] == str(2 * MiB)
        assert status["target"]["registryURL"] == f"dvcr.d8-virtualization.svc/cvi/{name}:{created['metadata']['uid']}"
    finally:
        dvp.delete("clustervirtualimages", name)


@pytest.mark.parametrize("sample", ["tiny-raw.img.gz", "tiny-raw.img.xz"])
def test_it_unpacks_a_compressed_disk_found_in_a_plain_tar_layer(dvp, host, sample):
    name = "tiny-" + sample[-2:]
    dvp.create("virtualimages", container_image(name, f"{host}/samples/{sample}:latest"))
    status = dvp.wait_phase("virtualimages", name, "Ready")["status"]
    assert (status["format"], status["size"]["unpacked"]) == ("raw", "16Mi")
    assert int(status["size"]["storedBytes"]) < MiB


def test_it_pulls_by_digest(dvp, sim, host):
    request = urllib.request.Request(f"{sim.url}/v2/samples/disk/manifests/latest", headers={"Accept": OCI_MANIFEST})
    with urllib.request.urlopen(request) as response:
        body, digest = response.read(), response.headers["Docker-Content-Digest"]
    assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
    head = urllib.request.Request(f"{sim.url}/v2/samples/disk/manifests/{digest}", method="HEAD",
                                  headers={"Accept": OCI_MANIFEST})
    with urllib.request.urlopen(head) as response:
        assert (response.headers["Docker-Content-Digest"], response.headers["Content-Length"]) == (digest, str(len(body)))
    dvp.create("virtualimages", container_image("by-digest", f"{host}/samples/disk@{digest}"))
    status = dvp.wait_phase("virtualimages", "by-digest", "Ready")["status"]
    assert (status["format"], status["size"]["unpacked"]) == ("vmdk", "1Gi")


def test_it_reports_progress_and_speed_while_pulling(dvp, host):
    custom = client.CustomObjectsApi(dvp.api_client)
    stream = watch.Watch()
    seen = []
    dvp.create("virtualimages", container_image("progress", f"{host}/samples/noble-server-cloudimg-amd64:latest"))
    for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace, "virtualimages",
                               field_selector="metadata.name=progress", timeout_seconds=20):
        status = event["object"].get("status") or {}
        seen.append((status.get("phase"), status.get("progress"), "downloadSpeed" in status))
        if status.get("phase") in ("Ready", "Failed"):
            stream.stop()
    assert seen[-1][:2] == ("Ready", "100%")
    during = [float(p.rstrip("%")) for phase, p, _ in seen if phase == "Provisioning" and p]
    assert during == sorted(during), during
    assert any(0 < p < 100 for p in during), seen
    assert any(speed for phase, p, speed in seen if phase == "Provisioning" and p and 0 < float(p.rstrip("%")) < 100)


# ---- failures ----------------------------------------------------------------------------------

def test_it_fails_when_the_registry_host_is_unknown(dvp):
    dvp.create("virtualimages", container_image("no-host", "registry.invalid/images/disk:1"))
    assert "dial tcp: lookup registry.invalid: no such host" in failed(dvp, "virtualimages", "no-host")


def test_it_fails_when_the_registry_refuses_connections(dvp):
    dvp.create("virtualimages", container_image("refused", "127.0.0.1:9/samples/alpine-virt:latest"))
    assert "dial tcp 127.0.0.1:9: connect: connection refused" in failed(dvp, "virtualimages", "refused")


def test_it_fails_when_the_manifest_is_unknown(dvp, host):
    dvp.create("virtualimages", container_image("no-tag", f"{host}/samples/alpine-virt:v9"))
    dvp.create("virtualimages", container_image("no-repo", f"{host}/samples/windows-11:latest"))
    dvp.create("virtualimages", container_image("no-digest", f"{host}/samples/alpine-virt@sha256:{'0' * 64}"))
    assert failed(dvp, "virtualimages", "no-tag") == (
        f"Failed to pull the image: GET http://{host}/v2/samples/alpine-virt/manifests/v9: MANIFEST_UNKNOWN: manifest unknown")
    assert "NAME_UNKNOWN: repository name not known to registry" in failed(dvp, "virtualimages", "no-repo")
    assert "MANIFEST_UNKNOWN" in failed(dvp, "virtualimages", "no-digest")


# ---- authentication ------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_it_authenticates_with_the_image_pull_secret(dvp, sim, host, registry_auth, scheme):
    assert registry_auth(scheme) == {"enabled": True, "scheme": scheme, "username": "puller"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{sim.url}/v2/")
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].lower().startswith(scheme)
    pull_secret(dvp, f"good-{scheme}", host, "puller", "s3cret")
    pull_secret(dvp, f"bad-{scheme}", host, "puller", "guess")
    secret_ref = {"imagePullSecret": {"name": f"good-{scheme}"}}
    image = f"{host}/samples/alpine-virt:latest"
    dvp.create("virtualimages", container_image(f"anonymous-{scheme}", image))
    dvp.create("virtualimages", container_image(f"wrong-{scheme}", image, imagePullSecret={"name": f"bad-{scheme}"}))
    dvp.create("virtualimages", container_image(f"right-{scheme}", image, **secret_ref))
    assert dvp.wait_phase("virtualimages", f"right-{scheme}", "Ready")["status"]["format"] == "qcow2"
    for name in (f"anonymous-{scheme}", f"wrong-{scheme}"):
        assert "UNAUTHORIZED: authentication required" in failed(dvp, "virtualimages", name)


def test_it_uses_the_cluster_images_pull_secret_from_its_namespace(dvp, host, registry_auth):
    registry_auth("bearer")
    pull_secret(dvp, "cvi-creds", host, "puller", "s3cret", spelled_out=True)
    name = f"private-{uuid.uuid4().hex[:6]}"
    dvp.create("clustervirtualimages", cluster_image(name, f"{host}/samples/alpine-virt:latest",
                                                     imagePullSecret={"name": "cvi-creds", "namespace": dvp.namespace}))
    try:
        assert dvp.wait_phase("clustervirtualimages", name, "Ready")["status"]["size"]["unpacked"] == "200Mi"
    finally:
        dvp.delete("clustervirtualimages", name)


def test_it_waits_for_a_missing_pull_secret(dvp, host, registry_auth):
    registry_auth("basic")
    dvp.create("virtualimages", container_image("later", f"{host}/samples/alpine-virt:latest",
                                                imagePullSecret={"name": "not-yet"}))
    image = dvp.wait_phase("virtualimages", "later", "Pending")
    datasource = condition(image, "DatasourceReady")
    assert (datasource["status"], datasource["reason"], datasource["message"]) == (
        "False", "ContainerRegistrySecretNotFound", "Container registry secret not found.")
    assert (condition(image, "Ready")["status"], condition(image, "Ready")["reason"]) == ("False", "ProvisioningNotStarted")
    assert [(e.type, e.reason) for e in dvp.events_about("later")] == [("Warning", "ContainerRegistrySecretNotFound")]
    pull_secret(dvp, "not-yet", host, "puller", "s3cret")
    image = dvp.wait_phase("virtualimages", "later", "Ready")
    assert condition(image, "DatasourceReady")["status"] == "True"


def test_it_verifies_the_registry_certificate_with_the_ca_bundle(dvp, sim):
    # The simulator serves the same routes over HTTPS; its certificate is the kubeconfig's CA.
    with open(sim.kubeconfig) as f:
        ca_bundle = yaml.safe_load(f)["clusters"][0]["cluster"]["certificate-authority-data"]
    tls_host = sim.server.split("://", 1)[1]
    dvp.create("virtualimages", container_image("tls", f"{tls_host}/samples/alpine-virt:latest", caBundle=ca_bundle))
    dvp.create("virtualimages", container_image("tls-unverified", f"{tls_host}/samples/alpine-virt:latest"))
    assert dvp.wait_phase("virtualimages", "tls", "Ready")["status"]["format"] == "qcow2"
    assert f'Get "https://{tls_host}/v2/": tls: failed to verify certificate: self-signed certificate' in \
        failed(dvp, "virtualimages", "tls-unverified")


def test_it_provisions_a_disk_straight_from_a_container_image(dvp, host, registry_auth):
    registry_auth("bearer")
    dvp.create("virtualdisks", {"metadata": {"name": "pulled"}, "spec": {"dataSource": {
        "type": "ContainerImage", "containerImage": {"image": f"{host}/samples/alpine-virt:latest",
                                                     "imagePullSecret": {"name": "disk-creds"}}}}})
    disk = dvp.wait_phase("virtualdisks", "pulled", "Pending")
    datasource = condition(disk, "DatasourceReady")
    assert (datasource["reason"], datasource["message"]) == ("ContainerRegistrySecretNotFound",
                                                             "Container registry secret not found.")
    assert ("Normal", "VirtualDiskContainerRegistrySecretNotFound") in \
        [(e.type, e.reason) for e in dvp.events_about("pulled")]
    pull_secret(dvp, "disk-creds", host, "puller", "s3cret")
    disk = dvp.wait_phase("virtualdisks", "pulled", "Ready")
    assert disk["status"]["capacity"] == "200Mi"  # the qcow2's virtual size
    dvp.create("virtualdisks", {"metadata": {"name": "unpulled"}, "spec": {"dataSource": {
        "type": "ContainerImage", "containerImage": {"image": f"{host}/samples/alpine-virt:latest"}}}})
    ready = condition(dvp.wait_phase("virtualdisks", "unpulled", "Failed"), "Ready")
    assert ready["reason"] == "ProvisioningFailed"
    assert ready["message"].startswith("Failed to pull the image: GET ")
    assert "UNAUTHORIZED: authentication required" in ready["message"]
    assert ("Warning", "ProvisioningFailed") in [(e.type, e.reason) for e in dvp.events_about("unpulled")]


# ---- malformed images, from a tiny registry of this module -----------------------------------------

def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(files, gzipped=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, data in files.items():
            entry = tarfile.TarInfo(path)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    data = buf.getvalue()
    return (gzip.compress(data, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip") if gzipped \
        else (data, "application/vnd.docker.image.rootfs.diff.tar")


class TinyRegistry:
    """Anonymous, plain-HTTP, read-only; images are (manifest bytes, media type) plus blobs by digest."""

    def __init__(self):
        self.manifests = {}  # (repo, ref) -> (bytes, media type)
        self.blobs = {}      # digest -> bytes served (maybe not matching the digest)

    def image(self, repo, layers, tag="latest", media_type=OCI_MANIFEST, tamper=False):
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        self.blobs[_sha(config)] = config
        entries = []
        for data, layer_type in layers:
            self.blobs[_sha(data)] = data[:-1] + bytes([data[-1] ^ 1]) if tamper else data
            entries.append({"mediaType": layer_type, "digest": _sha(data), "size": len(data)})
        manifest = json.dumps({"schemaVersion": 2, "mediaType": media_type,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": _sha(config), "size": len(config)},
                               "layers": entries}).encode()
        self.manifests[(repo, _sha(manifest))] = (manifest, media_type)
        if tag:
            self.manifests[(repo, tag)] = (manifest, media_type)
        return _sha(manifest), len(manifest)

    def serve(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = self.path.split("/")
                if self.path == "/v2/":
                    return self.reply(200, b"{}", "application/json")
                if len(parts) >= 5 and parts[-2] in ("manifests", "blobs"):
                    repo, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
                    if kind == "manifests" and (repo, ref) in registry.manifests:
                        return self.reply(200, *registry.manifests[(repo, ref)])
                    if kind == "blobs" and ref in registry.blobs:
                        return self.reply(200, registry.blobs[ref], "application/octet-stream")
                body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
                self.reply(404, body.encode(), "application/json")

            def reply(self, code, body, content_type):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def tiny():
    registry = TinyRegistry()
    disk = qcow2(64 * MiB, 256 * 1024, seed=9)
    registry.image("nodisk", [_layer({"etc/os-release": b"ID=scratch\n"})])
    registry.image("tampered", [_layer({"disk/disk.qcow2": disk}, gzipped=False)], tamper=True)
    registry.image("twodisks", [_layer({"disk/a.qcow2": disk, "disk/b.qcow2": disk})])
    # A multi-platform index; the linux/amd64 child is a Docker v2 manifest of two plain tar layers.
    arm_digest, arm_size = registry.image("multi", [_layer({"disk/arm.img": b"\0" * 4096})], tag=None)
    amd_digest, amd_size = registry.image("multi", [_layer({"etc/hostname": b"disk\n"}, gzipped=False),
                                                    _layer({"./disk/amd64.qcow2": disk}, gzipped=False)],
                                          tag=None, media_type=DOCKER_MANIFEST)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": arm_digest, "size": arm_size,
         "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": DOCKER_MANIFEST, "digest": amd_digest, "size": amd_size,
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]}).encode()
    registry.manifests[("multi", "latest")] = (index, OCI_INDEX)
    host = registry.serve()
    yield host
    registry.server.shutdown()


def test_it_picks_linux_amd64_from_an_index(dvp, tiny):
    dvp.create("virtualimages", container_image("multi", f"{tiny}/multi:latest"))
    status = dvp.wait_phase("virtualimages", "multi", "Ready")["status"]
    assert (status["format"], status["size"]["unpacked"], status["size"]["storedBytes"]) == (
        "qcow2", "64Mi", str(256 * 1024))


def test_it_fails_without_a_file_under_disk(dvp, tiny):
    dvp.create("virtualimages", container_image("nodisk", f"{tiny}/nodisk:latest"))
    dvp.create("virtualimages", container_image("twodisks", f"{tiny}/twodisks:latest"))
    assert "no disk image in the container image: expected a single file under /disk/" in \
        failed(dvp, "virtualimages", "nodisk")
    assert "more than one file under /disk/: /disk/a.qcow2, /disk/b.qcow2" in failed(dvp, "virtualimages", "twodisks")


def test_it_fails_when_a_layer_does_not_match_its_digest(dvp, tiny):
    dvp.create("virtualimages", container_image("tampered", f"{tiny}/tampered:latest"))
    assert "error verifying sha256 checksum of layer sha256:" in failed(dvp, "virtualimages", "tampered")


def test_it_demands_the_credentials_given_on_the_command_line():
    private = start_sim("--registry-auth", "robot:pa55", "--registry-auth-scheme", "basic", demo=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{private.url}/v2/samples/alpine-virt/manifests/latest")
        assert (refused.value.code, refused.value.headers["WWW-Authenticate"]) == (401, 'Basic realm="dvpsim"')
        assert json.load(refused.value)["errors"][0]["code"] == "UNAUTHORIZED"
        request = urllib.request.Request(f"{private.url}/v2/samples/alpine-virt/manifests/latest", headers={
            "Authorization": "Basic " + base64.b64encode(b"robot:pa55").decode(), "Accept": OCI_MANIFEST})
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        assert private.control("registry/auth") == {"enabled": True, "scheme": "basic", "username": "robot"}
    finally:
        stop_sim(private)
