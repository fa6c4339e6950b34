"""The user guide's "Data export": what `d8 download -n <ns> vd/<disk> -o file.img` does against dvpsim, over HTTP.

The d8 CLI (deckhouse-cli internal/dataexport) creates a `storage.deckhouse.io/v1alpha1` DataExport named
`de-vd-<disk>` (`de-vds-<snapshot>`) with ttl 2m, waits for Ready and a url (publicURL with --publish), GETs
`<url>/api/v1/block` with the user's own bearer token into the file, then deletes the DataExport.
"""

import json
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, vm_body
from tests.kubectl import kubectl, needs_kubectl

GROUP, VERSION, PLURAL = "storage.deckhouse.io", "v1alpha1", "dataexports"
MiB = 1024**2


@pytest.fixture(scope="module")
def ns(sim):
    name = fresh_namespace(sim, "dataexport")
    rbac = client.RbacAuthorizationV1Api(sim.api("admin"))
    for user, role in (("alice", "d8:use:role:user"), ("victor", "d8:use:role:viewer")):
        rbac.create_namespaced_role_binding(name, {
            "metadata": {"name": f"{user}-{role.rsplit(':', 1)[-1]}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]})
    yield name
    client.CoreV1Api(sim.api("admin")).delete_namespace(name)


@pytest.fixture(scope="module")
def dvp(sim, ns):
    return Dvp(sim, ns)


@pytest.fixture(scope="module")
def exports(sim):
    """DataExports as alice, a project user (what `d8 download` does with her kubeconfig)."""
    return client.CustomObjectsApi(sim.api("alice"))


@pytest.fixture(scope="module")
def disk(dvp):
    dvp.create("virtualdisks", blank_disk("export-me", size="64Mi"))
    dvp.wait_phase("virtualdisks", "export-me", "Ready")
    yield "export-me"
    dvp.delete("virtualdisks", "export-me")


def data_export(name, kind, target, ttl="2m", publish=False):
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DataExport", "metadata": {"name": name},
            "spec": {"ttl": ttl, "publish": publish, "targetRef": {"kind": kind, "name": target}}}


def get_export(exports, ns, name):
    return exports.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)


def wait_export(exports, ns, name, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = get_export(exports, ns, name)
        if predicate(obj):
            return obj
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for DataExport {name}; last seen: {obj and obj.get('status')}")


def ready(obj):
    return (condition(obj, "Ready") or {}).get("status") == "True" and bool((obj.get("status") or {}).get("url"))


def delete_export(exports, ns, name):
    try:
        exports.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise


def fetch(url, token, path, method="GET", headers=None):
    """(status, headers, body bytes) of a request to the exporter."""
    request = urllib.request.Request(url + path, method=method,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def download(url, token, target_file):
    """GET <url>/api/v1/block into a file in chunks, as the CLI streams it; returns (status, Content-Length, size)."""
    request = urllib.request.Request(url + "/api/v1/block", headers={"Authorization": f"Bearer {token}"})
    size = 0
    nonzero = False
    with urllib.request.urlopen(request, timeout=60) as response, open(target_file, "wb") as out:
        length = int(response.headers["Content-Length"])
        while chunk := response.read(1024 * 1024):
            nonzero = nonzero or any(chunk)
            out.write(chunk)
            size += len(chunk)
    assert not nonzero, "dvpsim has no volume data: a blank disk reads as zeros"
    return response.status, length, size


@needs_kubectl
def test_it_downloads_a_disk_as_d8_download_does(sim, ns, dvp, exports, disk, tmp_path):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, data_export("de-vd-export-me", "VirtualDisk", disk))
    try:
        export = wait_export(exports, ns, "de-vd-export-me", ready)
        assert export["status"]["url"] == f"{sim.url}/dvpsim/dataexport/{ns}/de-vd-export-me"
        assert export["status"]["volumeMode"] == "Block"
        assert "publicURL" not in export["status"]
        assert condition(export, "Expired")["status"] == "False"
        exporting = dvp.wait_phase("virtualdisks", disk, "Exporting")
        assert (condition(exporting, "InUse")["status"], condition(exporting, "InUse")["reason"]) == \
            ("True", "UsedForDataExport")
        assert condition(exporting, "Ready")["reason"] == "Exporting"

        status, length, size = download(export["status"]["url"], sim.token("alice"), tmp_path / "file.img")
        assert (status, length, size) == (200, 64 * MiB, 64 * MiB)
        assert (tmp_path / "file.img").stat().st_size == 64 * MiB
        accessed = wait_export(exports, ns, "de-vd-export-me", lambda o: o["status"].get("accessTimestamp"))
        assert accessed["status"]["accessTimestamp"] >= accessed["metadata"]["creationTimestamp"]

        table = kubectl(sim, "get", "dataexports", "-n", ns, "de-vd-export-me").stdout.split("\n")
        assert table[0].split() == ["NAME", "READY", "TARGETKIND", "TARGETNAME", "TTL", "AGE"]
        assert table[1].split()[:5] == ["de-vd-export-me", "True", "VirtualDisk", disk, "2m"]
        as_yaml = kubectl(sim, "get", "dataexport", "-n", ns, "de-vd-export-me", "-o", "json").stdout
        assert json.loads(as_yaml)["spec"]["targetRef"] == {"kind": "VirtualDisk", "name": disk}
        reasons = [e.reason for e in dvp.events_about("de-vd-export-me")]
        assert "Ready" in reasons
    finally:
        delete_export(exports, ns, "de-vd-export-me")
    back = dvp.wait_phase("virtualdisks", disk, "Ready")
    assert (condition(back, "InUse")["status"], condition(back, "Ready")["status"]) == ("False", "True")
    assert {"Exporting", "Exported"} <= {e.reason for e in dvp.events_about(disk)}
    status, _, _ = fetch(f"{sim.url}/dvpsim/dataexport/{ns}/de-vd-export-me", sim.token("alice"), "/api/v1/block",
                         method="HEAD")
    assert status == 404


def test_it_exports_a_disk_snapshot_of_the_disk_size(sim, ns, dvp, exports, disk, tmp_path):
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "export-snap"},
                                        "spec": {"virtualDiskName": disk, "requiredConsistency": True}})
    try:
        dvp.wait_phase("virtualdisksnapshots", "export-snap", "Ready")
        exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                                data_export("de-vds-export-snap", "VirtualDiskSnapshot", "export-snap"))
        export = wait_export(exports, ns, "de-vds-export-snap", ready)
        assert export["status"]["volumeMode"] == "Block"
        status, headers, _ = fetch(export["status"]["url"], sim.token("alice"), "/api/v1/block", method="HEAD")
        assert (status, int(headers["Content-Length"])) == (200, 64 * MiB)
        status, length, size = download(export["status"]["url"], sim.token("alice"), tmp_path / "snap.img")
        assert (status, length, size) == (200, 64 * MiB, 64 * MiB)
        status, headers, body = fetch(export["status"]["url"], sim.token("alice"), "/api/v1/block",
                                      headers={"Range": "bytes=1024-2047"})
        assert (status, headers["Content-Range"], len(body)) == (206, f"bytes 1024-2047/{64 * MiB}", 1024)
        assert dvp.get("virtualdisks", disk)["status"]["phase"] == "Ready"  # a snapshot's export leaves the disk be
    finally:
        delete_export(exports, ns, "de-vds-export-snap")
        dvp.delete("virtualdisksnapshots", "export-snap")


def test_it_refuses_a_disk_a_running_vm_uses(sim, ns, dvp, exports):
    dvp.create("virtualdisks", blank_disk("busy-disk", size="64Mi"))
    dvp.create("virtualmachines", vm_body("busy-vm", disk="busy-disk", user_data=None,
                                          cpu={"cores": 1, "coreFraction": "10%"}))
    try:
        dvp.wait_phase("virtualmachines", "busy-vm", "Running", timeout=30)
        exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                                data_export("de-vd-busy-disk", "VirtualDisk", "busy-disk"))
        refused = wait_export(exports, ns, "de-vd-busy-disk", lambda o: condition(o, "Ready"))
        ready_ = condition(refused, "Ready")
        assert (ready_["status"], ready_["reason"]) == ("False", "TargetInUse")
        assert 'running VirtualMachine "busy-vm"' in ready_["message"]
        assert "url" not in refused["status"]
        warnings = [e for e in dvp.events_about("de-vd-busy-disk") if e.reason == "TargetInUse"]
        assert warnings and warnings[0].type == "Warning"
        assert dvp.get("virtualdisks", "busy-disk")["status"]["phase"] == "Ready"
        status, _, _ = fetch(f"{sim.url}/dvpsim/dataexport/{ns}/de-vd-busy-disk", sim.token("alice"), "/api/v1/block")
        assert status == 503
    finally:
        delete_export(exports, ns, "de-vd-busy-disk")
        dvp.delete("virtualmachines", "busy-vm")
        dvp.wait_gone("virtualmachines", "busy-vm", timeout=30)
        dvp.delete("virtualdisks", "busy-disk")


def test_it_refuses_a_missing_disk_with_a_warning(ns, dvp, exports):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, data_export("de-vd-nope", "VirtualDisk", "nope"))
    try:
        refused = wait_export(exports, ns, "de-vd-nope", lambda o: condition(o, "Ready"))
        assert (condition(refused, "Ready")["reason"], condition(refused, "Ready")["message"]) == \
            ("TargetNotFound", 'VirtualDisk "nope" not found.')
    finally:
        delete_export(exports, ns, "de-vd-nope")


def test_it_serves_only_users_who_may_get_the_export(sim, ns, exports, disk):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, data_export("de-vd-guarded", "VirtualDisk", disk))
    try:
        url = wait_export(exports, ns, "de-vd-guarded", ready)["status"]["url"]
        for outsider in ("bob", "victor"):  # another project's manager; a viewer of this one
            status, _, body = fetch(url, sim.token(outsider), "/api/v1/block")
            assert status == 403, outsider
            assert f'User "{outsider}" cannot get resource "dataexports"' in json.loads(body)["message"]
        assert fetch(url, "not-a-token", "/api/v1/block", method="HEAD")[0] == 401
        assert fetch(url, sim.token("alice"), "/api/v1/block", method="HEAD")[0] == 200
        with pytest.raises(client.ApiException) as refused:  # a viewer cannot make one either
            client.CustomObjectsApi(sim.api("victor")).create_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, data_export("de-vd-viewer", "VirtualDisk", disk))
        assert refused.value.status == 403
    finally:
        delete_export(exports, ns, "de-vd-guarded")


def test_it_expires_an_export_not_downloaded_within_its_ttl(sim, ns, dvp, exports, disk):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, data_export("de-vd-late", "VirtualDisk", disk))
    try:
        url = wait_export(exports, ns, "de-vd-late", ready)["status"]["url"]
        dvp.wait_phase("virtualdisks", disk, "Exporting")
        sim.control("clock", {"step": 60})
        time.sleep(0.5)
        assert (condition(get_export(exports, ns, "de-vd-late"), "Expired") or {}).get("status") == "False"
        sim.control("clock", {"step": 70})
        expired = wait_export(exports, ns, "de-vd-late",
                              lambda o: (condition(o, "Expired") or {}).get("status") == "True")
        assert (condition(expired, "Ready")["status"], condition(expired, "Ready")["reason"]) == ("False", "Expired")
        assert fetch(url, sim.token("alice"), "/api/v1/block", method="HEAD")[0] == 503
        assert dvp.wait_phase("virtualdisks", disk, "Ready")  # the export is over: the disk is free again
        assert "Expired" in {e.reason for e in dvp.events_about("de-vd-late") if e.type == "Warning"}
    finally:
        delete_export(exports, ns, "de-vd-late")


def test_it_keeps_an_export_alive_while_it_is_accessed(sim, ns, exports, disk):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, data_export("de-vd-busy", "VirtualDisk", disk))
    try:
        url = wait_export(exports, ns, "de-vd-busy", ready)["status"]["url"]
        sim.control("clock", {"step": 100})
        assert fetch(url, sim.token("alice"), "/api/v1/block", headers={"Range": "bytes=0-0"})[0] == 206
        wait_export(exports, ns, "de-vd-busy", lambda o: o["status"].get("accessTimestamp"))
        sim.control("clock", {"step": 100})  # 200 s since Ready, 100 s since the access
        time.sleep(0.5)
        assert ready(get_export(exports, ns, "de-vd-busy"))
    finally:
        delete_export(exports, ns, "de-vd-busy")


def test_it_publishes_a_public_url(sim, ns, exports, disk):
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                            data_export("de-vd-public", "VirtualDisk", disk, publish=True))
    try:
        export = wait_export(exports, ns, "de-vd-public", ready)
        assert export["status"]["publicURL"] == export["status"]["url"]
        status, headers, _ = fetch(export["status"]["publicURL"], sim.token("alice"), "/api/v1/block", method="HEAD")
        assert (status, int(headers["Content-Length"])) == (200, 64 * MiB)
    finally:
        delete_export(exports, ns, "de-vd-public")


def test_it_exports_the_claim_of_a_disk(sim, ns, dvp, exports, disk):
    pvc = dvp.get("virtualdisks", disk)["status"]["target"]["persistentVolumeClaimName"]
    exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                            data_export(f"de-pvc-{pvc}", "PersistentVolumeClaim", pvc))
    try:
        export = wait_export(exports, ns, f"de-pvc-{pvc}", ready)
        assert export["status"]["volumeMode"] == "Block"  # the claims of DVP disks are block volumes
        status, headers, _ = fetch(export["status"]["url"], sim.token("alice"), "/api/v1/block", method="HEAD")
        assert (status, int(headers["Content-Length"])) == (200, 64 * MiB)
        assert fetch(export["status"]["url"], sim.token("alice"), "/api/v1/files/")[0] == 400
    finally:
        delete_export(exports, ns, f"de-pvc-{pvc}")


def test_it_exports_the_disk_of_a_stopped_vm(ns, dvp, exports):
    dvp.create("virtualdisks", blank_disk("idle-disk", size="64Mi"))
    dvp.create("virtualmachines", vm_body("idle-vm", disk="idle-disk", user_data=None, runPolicy="AlwaysOff",
                                          cpu={"cores": 1, "coreFraction": "10%"}))
    try:
        dvp.wait_phase("virtualmachines", "idle-vm", "Stopped")
        dvp.wait_phase("virtualdisks", "idle-disk", "Ready")
        exports.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                                data_export("de-vd-idle-disk", "VirtualDisk", "idle-disk"))
        wait_export(exports, ns, "de-vd-idle-disk", ready)
        exporting = dvp.wait_phase("virtualdisks", "idle-disk", "Exporting")
        assert condition(exporting, "InUse")["reason"] == "UsedForDataExport"
    finally:
        delete_export(exports, ns, "de-vd-idle-disk")
        dvp.delete("virtualmachines", "idle-vm")
        dvp.wait_gone("virtualmachines", "idle-vm", timeout=30)
        dvp.delete("virtualdisks", "idle-disk")
