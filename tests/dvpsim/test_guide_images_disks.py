"""The user guide's Images and Disks sections, driven the way the guide drives them (kubectl for `d8 k`,
curl for the upload, the official client for the rest), with the outcomes it narrates asserted.

The guide's internet image URLs are rewritten to dvpsim's sample images (same file names). Covered
elsewhere over HTTP and not repeated here: checksums and HTTP failures (test_images.py), upload
capability URL, POST, 503 on a concurrent upload and the 10-minute timeout (test_upload.py),
Terminating while in use (test_protection.py), data source freeze of a Ready disk (test_admission.py).
"""
import json
import re
import shutil
import subprocess
import threading
import time

import pytest
import yaml
from kubernetes import watch

from dvpsim.samples import qcow2
from tests.conftest import start_sim, stop_sim
from tests.dvpsim.guide_examples import GUIDE, examples
from tests.kube import (
    GROUP,
    VERSION,
    Dvp,
    blank_disk,
    condition,
    fresh_namespace,
    http_image,
    vm_body,
)
from tests.kubectl import KUBECTL, kubectl

CURL = shutil.which("curl") or "/usr/bin/curl"
MiB = 1024**2

pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


def guide_yaml(sim, kind, name, ref_kind=None):
    """The guide's own example (Images and Disks sections), with internet URLs pointing at dvpsim's samples."""
    for _line, _verb, text in examples():
        doc = yaml.safe_load(text)
        ref = ((doc.get("spec") or {}).get("dataSource") or {}).get("objectRef") or {}
        if doc.get("kind") == kind and doc["metadata"]["name"] == name and ref.get("kind") == ref_kind:
            return re.sub(r"https://cloud-images\.ubuntu\.com/\S+/([^/\s]+\.img)",
                          rf"{sim.url}/dvpsim/samples/\1", text)
    raise AssertionError(f"no {kind} {name} example in the guide")


def apply(sim, namespace, text):
    return kubectl(sim, "apply", "-n", namespace, "-f", "-", stdin=text).stdout


def table(output):
    """kubectl table output as (header, rows), cut at the header's column starts (empty cells stay empty)."""
    lines = [line for line in output.splitlines() if line.strip()]
    names = re.split(r"\s{2,}", lines[0].strip())
    starts = []
    for name in names:
        starts.append(lines[0].index(name, starts[-1] + 1 if starts else 0))
    bounds = list(zip(starts, starts[1:] + [None]))
    return names, [[line[a:b].strip() for a, b in bounds] for line in lines[1:]]


def get_row(sim, namespace, resource, name, *extra):
    header, rows = table(kubectl(sim, "get", resource, name, "-n", namespace, *extra).stdout)
    return dict(zip(header, rows[0]))


class Watcher:
    """Phases (and other fields) an object goes through, seen by a watch started before the action."""

    def __init__(self, dvp, plural, name):
        self.seen, self._stop = [], False
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(dvp, plural, name), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.seen and time.monotonic() < deadline:  # the watch is open once the object's ADDED arrived
            time.sleep(0.02)
        assert self.seen, f"no watch event for {plural}/{name}"

    def _run(self, dvp, plural, name):
        try:
            for event in self._watch.stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION,
                                            dvp.namespace, plural, field_selector=f"metadata.name={name}",
                                            timeout_seconds=60):
                self.seen.append(event["object"])
                if self._stop:
                    break
        except Exception:  # the stream cut by stop()
            if not self._stop:
                raise

    def phases(self):
        phases = []
        for obj in self.seen:
            phase = (obj.get("status") or {}).get("phase")
            if phase and (not phases or phases[-1] != phase):
                phases.append(phase)
        return phases

    def stop(self):
        self._stop = True
        self._watch.stop()


def small_vm(name, disk):
    body = vm_body(name, disk=disk)
    body["spec"]["cpu"]["coreFraction"] = "10%"  # the shared cluster's nodes are not endless
    return body


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guide-vi-vd"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared nodes are not endless


@pytest.fixture(scope="module")
def ubuntu(sim, dvp):
    """The guide's `d8 k apply` of ubuntu-22-04 while `d8 k get vi ubuntu-22-04 -w` runs."""
    watcher = subprocess.Popen([KUBECTL, "--kubeconfig", sim.kubeconfig, "get", "vi", "-n", dvp.namespace,
                                "--field-selector", "metadata.name=ubuntu-22-04", "-w"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert "virtualimage.virtualization.deckhouse.io/ubuntu-22-04 created" in \
            apply(sim, dvp.namespace, guide_yaml(sim, "VirtualImage", "ubuntu-22-04"))
        dvp.wait_phase("virtualimages", "ubuntu-22-04", "Ready", timeout=30)
        time.sleep(0.5)
    finally:
        watcher.terminate()
    return watcher.communicate(timeout=10)[0]


# ---- Images: "Creating image from HTTP server" ---------------------------------------------------

def test_it_prints_the_http_image_ready_with_cdrom_false_and_100_percent(sim, dvp, ubuntu):
    for resource in ("virtualimage", "vi"):
        header, rows = table(kubectl(sim, "get", resource, "ubuntu-22-04", "-n", dvp.namespace).stdout)
        assert header == ["NAME", "PHASE", "CDROM", "PROGRESS", "AGE"]
        assert rows[0][:4] == ["ubuntu-22-04", "Ready", "false", "100%"]


def test_it_shows_the_guides_watch_rows_while_downloading(ubuntu):
    rows = [re.split(r"\s{2,}", line.strip()) for line in ubuntu.splitlines() if line.startswith("ubuntu-22-04")]
    rows = [row for row in rows if len(row) >= 4]  # the guide starts watching once the image has a phase
    phases = [row[1] for row in rows]
    assert phases[0] == "Provisioning" and phases[-1] == "Ready"
    assert phases == sorted(phases, key=["Provisioning", "Ready"].index)  # Provisioning… then Ready
    provisioning = [row for row in rows if row[1] == "Provisioning"]
    assert all(row[2] == "false" for row in rows)
    assert len(provisioning[0]) == 4, f"the first row has no progress yet: {provisioning[0]}"
    progress = [float(row[3].rstrip("%")) for row in provisioning if len(row) == 5]
    assert progress[0] == 0.0 and progress[-1] == 100.0 and progress == sorted(progress)
    assert any(0 < p < 100 for p in progress), f"no intermediate progress in {progress}"
    assert all(re.fullmatch(r"\d+\.\d%", row[3]) for row in provisioning if len(row) == 5)
    assert rows[-1][3] == "100%"


def test_it_describes_the_downloaded_image(sim, dvp, ubuntu):
    described = kubectl(sim, "describe", "vi", "ubuntu-22-04", "-n", dvp.namespace).stdout
    for line in (r"Phase:\s+Ready", r"Format:\s+qcow2", r"Unpacked:\s+3\.5Gi", r"Stored:\s+3\.4Mi",
                 r"Registry URL:\s+dvcr\.d8-virtualization\.svc/vi/", r"Type:\s+HTTP"):
        assert re.search(line, described), f"{line!r} not in:\n{described}"


def test_it_prints_stored_and_unpacked_sizes_wide(sim, dvp, ubuntu):
    uid = dvp.get("virtualimages", "ubuntu-22-04")["metadata"]["uid"]
    row = get_row(sim, dvp.namespace, "vi", "ubuntu-22-04", "-o", "wide")
    # The guide's columns plus TARGETPVC (dvp-api-notes §2), empty for an image kept in DVCR. (Where AGE
    # sits is the printer-column contract's business: tests/contract/test_printer_columns.py.)
    assert [c for c in row if c != "AGE"] == ["NAME", "PHASE", "CDROM", "PROGRESS", "STOREDSIZE", "UNPACKEDSIZE",
                                              "REGISTRY URL", "TARGETPVC"]
    assert (row["STOREDSIZE"], row["UNPACKEDSIZE"], row["TARGETPVC"]) == ("3.4Mi", "3.5Gi", "")
    assert row["REGISTRY URL"] == f"dvcr.d8-virtualization.svc/vi/{dvp.namespace}/ubuntu-22-04:{uid}"


def test_it_stores_the_guides_pvc_image_in_a_pvc_of_its_storage_class(sim, dvp):
    apply(sim, dvp.namespace, guide_yaml(sim, "VirtualImage", "ubuntu-22-04-pvc"))
    image = dvp.wait_phase("virtualimages", "ubuntu-22-04-pvc", "Ready", timeout=30)
    row = get_row(sim, dvp.namespace, "vi", "ubuntu-22-04-pvc")
    assert (row["PHASE"], row["CDROM"], row["PROGRESS"]) == ("Ready", "false", "100%")
    pvc_name = image["status"]["target"]["persistentVolumeClaimName"]
    assert "registryURL" not in image["status"]["target"]
    assert image["status"]["storageClassName"] == "i-sds-replicated-thin-r2"
    pvc = dvp.core.read_namespaced_persistent_volume_claim(pvc_name, dvp.namespace)
    assert pvc.spec.storage_class_name == "i-sds-replicated-thin-r2"
    assert pvc.status.phase == "Bound" and pvc.spec.resources.requests["storage"] == "3584Mi"
    assert get_row(sim, dvp.namespace, "vi", "ubuntu-22-04-pvc", "-o", "wide")["TARGETPVC"] == pvc_name


def test_it_puts_a_pvc_image_without_a_class_on_the_default_one(sim, dvp):
    body = http_image(sim, "pvc-default", "alpine-virt.qcow2")
    body["spec"]["storage"] = "PersistentVolumeClaim"
    dvp.create("virtualimages", body)
    image = dvp.wait_phase("virtualimages", "pvc-default", "Ready", timeout=30)
    pvc = dvp.core.read_namespaced_persistent_volume_claim(image["status"]["target"]["persistentVolumeClaimName"],
                                                           dvp.namespace)
    assert pvc.spec.storage_class_name == image["status"]["storageClassName"] == "i-sds-replicated-thin-r1"


def test_it_reports_pvc_lost_when_the_pvc_of_an_image_is_gone(sim, dvp):
    body = http_image(sim, "pvc-fragile", "alpine-virt.qcow2")
    body["spec"]["storage"] = "PersistentVolumeClaim"
    dvp.create("virtualimages", body)
    pvc = dvp.wait_phase("virtualimages", "pvc-fragile", "Ready", timeout=30)["status"]["target"][
        "persistentVolumeClaimName"]
    dvp.core.delete_namespaced_persistent_volume_claim(pvc, dvp.namespace)
    image = dvp.wait_phase("virtualimages", "pvc-fragile", "PVCLost")
    assert (condition(image, "Ready")["status"], condition(image, "Ready")["reason"]) == ("False", "PVCLost")
    assert get_row(sim, dvp.namespace, "vi", "pvc-fragile")["PHASE"] == "PVCLost"


@pytest.mark.parametrize("file, fmt, cdrom, unpacked", [
    ("disk.vmdk", "vmdk", "false", "1Gi"),
    ("tiny-raw.img.xz", "raw", "false", "16Mi"),
    ("tiny-raw.img.gz", "raw", "false", "16Mi"),
    ("install.iso", "iso", "true", "2Mi"),
])
def test_it_detects_the_format_from_the_downloaded_bytes(sim, dvp, file, fmt, cdrom, unpacked):
    name = "fmt-" + re.sub(r"[^a-z0-9]+", "-", file)
    dvp.create("virtualimages", http_image(sim, name, file))
    status = dvp.wait_phase("virtualimages", name, "Ready", timeout=30)["status"]
    assert (status["format"], status["size"]["unpacked"]) == (fmt, unpacked)
    row = get_row(sim, dvp.namespace, "vi", name, "-o", "wide")
    assert (row["CDROM"], row["UNPACKEDSIZE"]) == (cdrom, unpacked)
    if file.endswith((".xz", ".gz")):
        assert int(status["size"]["storedBytes"]) < MiB  # stored compressed, unpacked when used


def test_it_changes_the_spec_before_ready_and_starts_over(sim, dvp):
    dvp.create("virtualimages", {"metadata": {"name": "not-yet"}, "spec": {"storage": "ContainerRegistry",
               "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "nowhere"}}}})
    pending = dvp.wait("virtualimages", "not-yet", lambda o: condition(o, "DatasourceReady"))
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "DatasourceReady")["reason"] == "ImageNotReady"
    kubectl(sim, "patch", "vi", "not-yet", "-n", dvp.namespace, "--type", "merge", "-p", json.dumps(
        {"spec": {"dataSource": {"type": "HTTP", "objectRef": None,
                                 "http": {"url": f"{sim.url}/dvpsim/samples/alpine-virt.qcow2"}}}}))
    assert dvp.wait_phase("virtualimages", "not-yet", "Ready", timeout=30)["status"]["format"] == "qcow2"
    refused = kubectl(sim, "patch", "vi", "not-yet", "-n", dvp.namespace, "--type", "merge", "-p", json.dumps(
        {"spec": {"dataSource": {"http": {"url": f"{sim.url}/dvpsim/samples/disk.vmdk"}}}}), check=False)
    assert refused.returncode != 0
    assert "data source cannot be changed if the VirtualImage has already been provisioned" in refused.stderr


def test_it_makes_images_from_other_images(sim, dvp, ubuntu):
    for kind, source in (("VirtualImage", "ubuntu-22-04"), ("ClusterVirtualImage", "alpine-virt")):
        name = f"copy-of-{source}"
        dvp.create("virtualimages", {"metadata": {"name": name}, "spec": {"storage": "ContainerRegistry",
                   "dataSource": {"type": "ObjectRef", "objectRef": {"kind": kind, "name": source}}}})
        copy = dvp.wait_phase("virtualimages", name, "Ready", timeout=30)["status"]
        original = (dvp.get("virtualimages", source) if kind == "VirtualImage"
                    else dvp.get("clustervirtualimages", source))["status"]
        assert (copy["format"], copy["size"]) == (original["format"], original["size"])
        assert copy["target"]["registryURL"] != original["target"]["registryURL"]


# ---- Images: "Load an image from the command line" ------------------------------------------------

def test_it_takes_the_guides_curl_upload_and_becomes_ready(sim, dvp, tmp_path):
    apply(sim, dvp.namespace, guide_yaml(sim, "VirtualImage", "some-image"))
    dvp.wait_phase("virtualimages", "some-image", "WaitForUserUpload")
    urls = json.loads(kubectl(sim, "get", "vi", "some-image", "-n", dvp.namespace,
                              "-o", "jsonpath={.status.imageUploadURLs}").stdout)
    assert set(urls) == {"external", "inCluster"}
    assert re.fullmatch(r"https?://[^/]+/upload/[A-Za-z0-9]{32}", urls["external"])
    # DVP's inCluster URL is http://<Service ClusterIP>/upload; dvpsim has no cluster network, so it is
    # the same loopback capability URL as external (dvpsim/upload.py).
    assert urls["inCluster"].startswith("http")
    cirros = tmp_path / "cirros.img"
    cirros.write_bytes(qcow2(112 * MiB, 2 * MiB, seed=9))
    upload = subprocess.run([CURL, "-k", "-sS", "-f", "-o", "/dev/null", "-w", "%{http_code} %{method}",
                             urls["external"], "--progress-bar", "-T", str(cirros)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert upload.stdout == "200 PUT", upload.stderr
    image = dvp.wait_phase("virtualimages", "some-image", "Ready", timeout=30)
    row = get_row(sim, dvp.namespace, "vi", "some-image")
    assert (row["PHASE"], row["CDROM"], row["PROGRESS"]) == ("Ready", "false", "100%")
    assert (image["status"]["format"], image["status"]["size"]["unpacked"]) == ("qcow2", "112Mi")


def test_it_detects_an_uploaded_vdi(sim, dvp, tmp_path):
    dvp.create("virtualimages", {"metadata": {"name": "vbox"}, "spec": {"storage": "ContainerRegistry",
                                                                        "dataSource": {"type": "Upload"}}})
    url = dvp.wait("virtualimages", "vbox", lambda o: (o.get("status") or {}).get("imageUploadURLs"))[
        "status"]["imageUploadURLs"]["external"]
    vdi = bytearray(MiB)
    vdi[0x40:0x44] = (0xBEDA107F).to_bytes(4, "little")
    vdi[0x170:0x178] = (5 * 1024**3).to_bytes(8, "little")
    (tmp_path / "box.vdi").write_bytes(bytes(vdi))
    post = subprocess.run([CURL, "-k", "-sS", "-f", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
                           f"@{tmp_path / 'box.vdi'}", url], capture_output=True, text=True, timeout=60,
                          check=False)
    assert post.stdout == "200", post.stderr
    status = dvp.wait_phase("virtualimages", "vbox", "Ready", timeout=30)["status"]
    assert (status["format"], status["cdrom"], status["size"]["unpacked"]) == ("vdi", False, "5Gi")


# ---- Images: "Creating an image from a disk" / "from a disk snapshot" ----------------------------

def test_it_makes_an_image_from_a_disk_only_once_its_vm_is_off(sim, dvp):
    dvp.create("virtualdisks", blank_disk("linux-vm-root", "300Mi"))
    dvp.create("virtualmachines", small_vm("disk-owner", "linux-vm-root"))
    dvp.wait_phase("virtualmachines", "disk-owner", "Running", timeout=30)
    apply(sim, dvp.namespace, guide_yaml(sim, "VirtualImage", "linux-vm-root", "VirtualDisk"))
    image = dvp.wait("virtualimages", "linux-vm-root",
                     lambda o: (condition(o, "DatasourceReady") or {}).get("reason") == "VirtualDiskAttachedToVirtualMachine")
    assert image["status"]["phase"] == "Pending"
    assert '"disk-owner"' in condition(image, "DatasourceReady")["message"]
    assert "VirtualDiskAttachedToVirtualMachine" in {e.reason for e in dvp.events_about("linux-vm-root")}
    time.sleep(0.5)  # 10 simulated seconds: still waiting while the VM runs
    assert dvp.get("virtualimages", "linux-vm-root")["status"]["phase"] == "Pending"

    dvp.patch("virtualmachines", "disk-owner", {"spec": {"runPolicy": "AlwaysOff"}})
    dvp.wait_phase("virtualmachines", "disk-owner", "Stopped", timeout=30)
    image = dvp.wait_phase("virtualimages", "linux-vm-root", "Ready", timeout=30)
    assert (image["status"]["format"], image["status"]["size"]["unpacked"]) == ("raw", "300Mi")
    dvp.delete("virtualmachines", "disk-owner")


def test_it_marks_a_disk_in_use_while_an_image_is_made_from_it(sim, dvp):
    dvp.create("virtualdisks", blank_disk("image-source", "200Mi"))
    dvp.wait_phase("virtualdisks", "image-source", "Ready")
    watcher = Watcher(dvp, "virtualdisks", "image-source")
    try:
        dvp.create("virtualimages", {"metadata": {"name": "from-free-disk"}, "spec": {"storage": "ContainerRegistry",
                   "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualDisk", "name": "image-source"}}}})
        dvp.wait_phase("virtualimages", "from-free-disk", "Ready", timeout=30)
        disk = dvp.wait("virtualdisks", "image-source", lambda o: condition(o, "InUse")["reason"] == "NotInUse")
        time.sleep(0.3)
    finally:
        watcher.stop()
    reasons = [condition(o, "InUse")["reason"] for o in watcher.seen if condition(o, "InUse")]
    assert "UsedForImageCreation" in reasons, reasons
    in_use = next(condition(o, "InUse") for o in watcher.seen
                  if (condition(o, "InUse") or {}).get("reason") == "UsedForImageCreation")
    assert in_use["status"] == "True" and '"from-free-disk"' in in_use["message"]
    assert condition(disk, "InUse")["status"] == "False"


def test_it_makes_an_image_from_a_ready_disk_snapshot(sim, dvp):
    namespace = fresh_namespace(sim, "guide-vds")
    other = Dvp(sim, namespace)
    try:
        other.create("virtualdisks", blank_disk("linux-vm-root", "500Mi"))
        apply(sim, namespace, guide_yaml(sim, "VirtualImage", "linux-vm-root", "VirtualDiskSnapshot"))
        waiting = other.wait("virtualimages", "linux-vm-root", lambda o: condition(o, "DatasourceReady"))
        assert waiting["status"]["phase"] == "Pending"
        assert condition(waiting, "DatasourceReady")["reason"] == "VirtualDiskSnapshotNotReady"
        other.wait_phase("virtualdisks", "linux-vm-root", "Ready")
        other.create("virtualdisksnapshots", {"metadata": {"name": "linux-vm-root-snapshot"},
                                              "spec": {"virtualDiskName": "linux-vm-root"}})
        other.wait_phase("virtualdisksnapshots", "linux-vm-root-snapshot", "Ready", timeout=30)
        image = other.wait_phase("virtualimages", "linux-vm-root", "Ready", timeout=30)
        assert image["status"]["size"]["unpacked"] == "500Mi"
    finally:
        other.core.delete_namespace(namespace)


# ---- Disks --------------------------------------------------------------------------------------

def test_it_lists_storage_classes_with_binding_mode_and_expansion(sim):
    header, rows = table(kubectl(sim, "get", "storageclass").stdout)
    assert header == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    by_name = {row[0]: row[1:5] for row in rows}
    replicated = "replicated.csi.storage.deckhouse.io"
    for n in (1, 2, 3):  # the guide's list
        default = " (default)" if n == 1 else ""
        assert by_name[f"i-sds-replicated-thin-r{n}{default}"] == [replicated, "Delete", "Immediate", "true"]
        assert by_name[f"sds-replicated-thin-r{n}"] == [replicated, "Delete", "WaitForFirstConsumer", "true"]
    assert by_name["nfs-4-1-wffc"] == ["nfs.csi.k8s.io", "Delete", "WaitForFirstConsumer", "true"]


def test_it_creates_the_guides_blank_disk_of_100mi(sim, dvp):
    apply(sim, dvp.namespace, guide_yaml(sim, "VirtualDisk", "blank-disk"))
    dvp.wait_phase("virtualdisks", "blank-disk", "Ready")
    row = get_row(sim, dvp.namespace, "vd", "blank-disk")
    # dvp-api-notes §2: the VirtualMachine column sits between CAPACITY and AGE (empty here).
    assert [c for c in row if c != "AGE"] == ["NAME", "PHASE", "CAPACITY", "VIRTUALMACHINE"]
    assert (row["PHASE"], row["CAPACITY"], row["VIRTUALMACHINE"]) == ("Ready", "100Mi", "")
    wide = get_row(sim, dvp.namespace, "vd", "blank-disk", "-o", "wide")
    assert wide["STORAGECLASS"] == "i-sds-replicated-thin-r2"
    # "Diagnosing problems … the .status.conditions block", and the controller's Events, as describe shows them.
    described = kubectl(sim, "describe", "vd", "blank-disk", "-n", dvp.namespace).stdout
    assert re.search(r"Type:\s+Ready", described) and re.search(r"Reason:\s+Ready", described)
    assert re.search(r"Normal\s+Ready\s+.*The disk is ready: 100Mi", described), described


def test_it_keeps_a_wait_for_first_consumer_disk_waiting_until_a_vm_uses_it(sim, dvp):
    dvp.create("virtualdisks", blank_disk("wffc-disk", "100Mi", "sds-replicated-thin-r1"))
    dvp.wait_phase("virtualdisks", "wffc-disk", "WaitForFirstConsumer")
    assert get_row(sim, dvp.namespace, "vd", "wffc-disk")["PHASE"] == "WaitForFirstConsumer"
    dvp.create("virtualmachines", small_vm("first-consumer", "wffc-disk"))
    dvp.wait_phase("virtualdisks", "wffc-disk", "Ready", timeout=30)
    row = get_row(sim, dvp.namespace, "vd", "wffc-disk")
    assert (row["PHASE"], row["CAPACITY"]) == ("Ready", "100Mi")
    dvp.delete("virtualmachines", "first-consumer")


def test_it_reports_pvc_lost_when_the_pvc_of_a_disk_is_gone(sim, dvp):
    dvp.create("virtualdisks", blank_disk("fragile", "100Mi"))
    pvc = dvp.wait_phase("virtualdisks", "fragile", "Ready")["status"]["target"]["persistentVolumeClaimName"]
    dvp.core.delete_namespaced_persistent_volume_claim(pvc, dvp.namespace)
    disk = dvp.wait_phase("virtualdisks", "fragile", "PVCLost")
    ready = condition(disk, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PVCLost")
    assert pvc in ready["message"]
    assert get_row(sim, dvp.namespace, "vd", "fragile")["PHASE"] == "PVCLost"
    assert "PVCLost" in {e.reason for e in dvp.events_about("fragile")}
    dvp.delete("virtualdisks", "fragile")
    dvp.wait_gone("virtualdisks", "fragile")


def test_it_changes_the_spec_of_a_disk_before_ready_and_starts_over(sim, dvp):
    dvp.create("virtualdisks", blank_disk("unplaced", "100Mi", "no-such-class"))
    dvp.wait("virtualdisks", "unplaced", lambda o: condition(o, "StorageClassReady"))
    kubectl(sim, "patch", "vd", "unplaced", "-n", dvp.namespace, "--type", "merge", "-p",
            '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r3","size":"200Mi"}}}')
    status = dvp.wait_phase("virtualdisks", "unplaced", "Ready")["status"]
    assert (status["storageClassName"], status["capacity"]) == ("i-sds-replicated-thin-r3", "200Mi")


def test_it_creates_the_guides_disks_from_an_image_with_and_without_a_size(sim, dvp, ubuntu):
    unpacked = get_row(sim, dvp.namespace, "vi", "ubuntu-22-04", "-o", "wide")["UNPACKEDSIZE"]
    assert unpacked == "3.5Gi"
    ns = fresh_namespace(sim, "guide-vd-img")
    other = Dvp(sim, ns)
    try:
        apply(sim, ns, guide_yaml(sim, "VirtualImage", "ubuntu-22-04"))
        apply(sim, ns, guide_yaml(sim, "VirtualDisk", "linux-vm-root", "VirtualImage"))
        apply(sim, ns, guide_yaml(sim, "VirtualDisk", "linux-vm-root-2", "VirtualImage"))
        other.wait_phase("virtualdisks", "linux-vm-root", "Ready", timeout=30)
        other.wait_phase("virtualdisks", "linux-vm-root-2", "Ready", timeout=30)
        _header, rows = table(kubectl(sim, "get", "vd", "-n", ns).stdout)
        capacity = {row[0]: (row[1], row[2]) for row in rows}
        assert capacity["linux-vm-root"] == ("Ready", "10Gi")
        # Without a size the disk takes the unpacked size of the image (3.5Gi = 3584Mi).
        assert capacity["linux-vm-root-2"] == ("Ready", "3584Mi")
    finally:
        other.core.delete_namespace(ns)


def test_it_refuses_to_make_a_disk_from_an_iso(sim, dvp):
    dvp.create("virtualimages", http_image(sim, "installer", "install.iso"))
    dvp.wait_phase("virtualimages", "installer", "Ready", timeout=30)
    dvp.create("virtualdisks", {"metadata": {"name": "from-iso"}, "spec": {
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "installer"}}}})
    disk = dvp.wait_phase("virtualdisks", "from-iso", "Failed")
    assert "ISO" in condition(disk, "Ready")["message"]


def test_it_grows_a_disk_of_a_running_vm_through_resizing(sim, dvp):
    dvp.create("virtualdisks", blank_disk("grow-root", "10Gi", "i-sds-replicated-thin-r2"))
    dvp.create("virtualmachines", small_vm("grower", "grow-root"))
    dvp.wait_phase("virtualmachines", "grower", "Running", timeout=30)
    row = get_row(sim, dvp.namespace, "vd", "grow-root")
    assert (row["PHASE"], row["CAPACITY"], row["VIRTUALMACHINE"]) == ("Ready", "10Gi", "grower")
    watcher = Watcher(dvp, "virtualdisks", "grow-root")
    try:
        kubectl(sim, "patch", "vd", "grow-root", "-n", dvp.namespace, "--type", "merge",
                "-p", '{"spec":{"persistentVolumeClaim":{"size":"11Gi"}}}')
        dvp.wait("virtualdisks", "grow-root", lambda o: o["status"].get("capacity") == "11Gi"
                 and o["status"]["phase"] == "Ready")
        time.sleep(0.2)
    finally:
        watcher.stop()
    assert watcher.phases()[-2:] == ["Resizing", "Ready"]
    resizing = next(o for o in watcher.seen if o["status"].get("phase") == "Resizing")
    assert (condition(resizing, "Resizing")["status"], condition(resizing, "Resizing")["reason"]) == ("True", "InProgress")
    row = get_row(sim, dvp.namespace, "vd", "grow-root")
    assert (row["PHASE"], row["CAPACITY"]) == ("Ready", "11Gi")
    pvc = dvp.get("virtualdisks", "grow-root")["status"]["target"]["persistentVolumeClaimName"]
    assert dvp.core.read_namespaced_persistent_volume_claim(pvc, dvp.namespace).status.capacity["storage"] == "11Gi"
    assert {"Resizing", "Resized"} <= {e.reason for e in dvp.events_about("grow-root")}
    assert dvp.get("virtualmachines", "grower")["status"]["phase"] == "Running"

    refused = kubectl(sim, "patch", "vd", "grow-root", "-n", dvp.namespace, "--type", "merge",
                      "-p", '{"spec":{"persistentVolumeClaim":{"size":"10Gi"}}}', check=False)
    assert refused.returncode != 0
    assert "spec.persistentVolumeClaim.size value (10Gi) should be greater than or equal to the current value (11Gi)" \
        in refused.stderr
    dvp.delete("virtualmachines", "grower")


# ---- Disks: "Changing the disk StorageClass" ------------------------------------------------------

def test_it_migrates_the_disk_of_a_running_vm_to_another_storage_class(sim, dvp):
    dvp.create("virtualdisks", blank_disk("moving", "1Gi", "i-sds-replicated-thin-r2"))
    dvp.create("virtualmachines", small_vm("mover", "moving"))
    dvp.wait_phase("virtualmachines", "mover", "Running", timeout=30)
    source_pvc = dvp.wait("virtualdisks", "moving", lambda o: o["status"].get("attachedToVirtualMachines"))[
        "status"]["target"]["persistentVolumeClaimName"]
    source_node = dvp.get("virtualmachines", "mover")["status"]["nodeName"]
    watcher, vm_watcher = Watcher(dvp, "virtualdisks", "moving"), Watcher(dvp, "virtualmachines", "mover")
    try:
        kubectl(sim, "patch", "vd", "moving", "-n", dvp.namespace, "--type=merge", "--patch",
                '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r3"}}}')
        disk = dvp.wait("virtualdisks", "moving", lambda o: o["status"].get("storageClassName") ==
                        "i-sds-replicated-thin-r3" and o["status"]["phase"] == "Ready", timeout=30)
        time.sleep(0.3)
    finally:
        watcher.stop()
        vm_watcher.stop()
    assert watcher.phases()[-2:] == ["Migrating", "Ready"]
    # "After the disk configuration is updated, a live migration of the VM will be initiated"
    assert vm_watcher.phases()[-2:] == ["Migrating", "Running"]
    vm = dvp.get("virtualmachines", "mover")
    assert vm["status"]["migrationState"]["result"] == "Succeeded"
    assert vm["status"]["migrationState"]["source"]["node"] == source_node != vm["status"]["nodeName"]
    assert not any(c["type"] == "Migrating" for c in vm["status"]["conditions"])
    state = disk["status"]["migrationState"]
    assert (state["sourcePVC"], state["result"]) == (source_pvc, "Succeeded")
    target = dvp.core.read_namespaced_persistent_volume_claim(state["targetPVC"], dvp.namespace)
    assert target.spec.storage_class_name == "i-sds-replicated-thin-r3"
    assert disk["status"]["target"]["persistentVolumeClaimName"] == state["targetPVC"]
    assert get_row(sim, dvp.namespace, "vd", "moving", "-o", "wide")["STORAGECLASS"] == "i-sds-replicated-thin-r3"
    dvp.delete("virtualmachines", "mover")


def test_it_waits_to_migrate_the_storage_class_of_a_disk_until_a_running_vm_mounts_it(sim, dvp):
    dvp.create("virtualdisks", blank_disk("idle", "100Mi", "i-sds-replicated-thin-r2"))
    dvp.wait_phase("virtualdisks", "idle", "Ready")
    kubectl(sim, "patch", "vd", "idle", "-n", dvp.namespace, "--type=merge", "--patch",
            '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r3"}}}')
    disk = dvp.wait("virtualdisks", "idle", lambda o: condition(o, "Migrating"))
    migrating = condition(disk, "Migrating")
    assert (migrating["status"], migrating["reason"]) == ("False", "WaitForTargetReady")
    assert "running virtual machine" in migrating["message"]
    assert (disk["status"]["phase"], disk["status"]["storageClassName"]) == ("Ready", "i-sds-replicated-thin-r2")


def test_it_does_not_migrate_the_storage_class_of_a_hot_plugged_disk(sim, dvp):
    dvp.create("virtualdisks", blank_disk("hotplug-root", "100Mi"))
    dvp.create("virtualmachines", small_vm("hotplugger", "hotplug-root"))
    dvp.create("virtualdisks", blank_disk("plugged", "100Mi", "i-sds-replicated-thin-r2"))
    dvp.wait_phase("virtualmachines", "hotplugger", "Running", timeout=30)
    dvp.create("virtualmachineblockdeviceattachments", {"metadata": {"name": "plug"}, "spec": {
        "virtualMachineName": "hotplugger", "blockDeviceRef": {"kind": "VirtualDisk", "name": "plugged"}}})
    dvp.wait_phase("virtualmachineblockdeviceattachments", "plug", "Attached", timeout=30)
    kubectl(sim, "patch", "vd", "plugged", "-n", dvp.namespace, "--type=merge", "--patch",
            '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r3"}}}')
    disk = dvp.wait("virtualdisks", "plugged", lambda o: condition(o, "Migrating"))
    message = condition(disk, "Migrating")["message"]
    assert "connected statically via .spec.blockDeviceRefs" in message and '"plug"' in message
    time.sleep(0.5)
    disk = dvp.get("virtualdisks", "plugged")
    assert (disk["status"]["phase"], disk["status"]["storageClassName"]) == ("Ready", "i-sds-replicated-thin-r2")
    dvp.delete("virtualmachines", "hotplugger")


@pytest.fixture
def own_sim():
    """A private simulator: for changes (clock steps, module settings) that must not touch the shared one."""
    sim = start_sim(speed=20)
    yield sim
    stop_sim(sim)


def test_it_takes_the_default_storage_classes_from_the_module_settings(own_sim):
    sim = own_sim
    dvp = Dvp(sim, fresh_namespace(sim, "defaults"))
    kubectl(sim, "patch", "moduleconfig", "virtualization", "--type", "merge", "-p", json.dumps(
        {"spec": {"settings": {"virtualDisks": {"defaultStorageClassName": "i-sds-replicated-thin-r3"},
                               "virtualImages": {"defaultStorageClassName": "i-sds-replicated-thin-r2"}}}}))
    dvp.create("virtualdisks", blank_disk("plain", "100Mi"))
    body = http_image(sim, "plain-pvc", "alpine-virt.qcow2")
    body["spec"]["storage"] = "PersistentVolumeClaim"
    dvp.create("virtualimages", body)
    assert dvp.wait_phase("virtualdisks", "plain", "Ready")["status"]["storageClassName"] == "i-sds-replicated-thin-r3"
    image = dvp.wait_phase("virtualimages", "plain-pvc", "Ready", timeout=30)
    assert image["status"]["storageClassName"] == "i-sds-replicated-thin-r2"


def test_it_retries_a_failed_storage_class_migration_with_the_guides_backoff_and_cancels_on_revert(own_sim):
    sim = own_sim
    dvp = Dvp(sim, fresh_namespace(sim, "backoff"))
    dvp.create("virtualdisks", blank_disk("stuck", "1Gi", "i-sds-replicated-thin-r2"))
    dvp.create("virtualmachines", small_vm("pinned", "stuck"))
    node = dvp.wait_phase("virtualmachines", "pinned", "Running", timeout=30)["status"]["nodeName"]
    # Pinned to its node, the VM's live migration (which carries the volume) has nowhere to go.
    dvp.patch("virtualmachines", "pinned", {"spec": {"nodeSelector": {"kubernetes.io/hostname": node}}})
    dvp.wait("virtualdisks", "stuck", lambda o: o["status"].get("attachedToVirtualMachines"))
    # From here on, simulated time moves (almost) only when the test steps it: speed 1, steps of whole seconds.
    sim.control("clock", {"speed": 1})
    kubectl(sim, "patch", "vd", "stuck", "-n", dvp.namespace, "--type=merge", "--patch",
            '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r3"}}}')

    def migration(n):
        return dvp.wait("virtualdisks", "stuck", lambda o: f"(attempt {n})" in
                        ((o["status"].get("migrationState") or {}).get("message") or ""), timeout=30)["status"]

    def attempts():
        message = (dvp.get("virtualdisks", "stuck")["status"].get("migrationState") or {}).get("message", "")
        return int(re.search(r"\(attempt (\d+)\)", message).group(1))

    delays = []
    for n in range(1, 9):
        status = migration(n)
        delay = int(re.search(r"next attempt in (\d+)s", status["migrationState"]["message"]).group(1))
        delays.append(delay)
        assert status["phase"] == "Ready" and status["storageClassName"] == "i-sds-replicated-thin-r2"
        assert status["migrationState"]["result"] == "Failed"
        migrating = condition({"status": status}, "Migrating")
        assert (migrating["status"], migrating["reason"]) == ("False", "WaitForTargetReady")
        sim.control("clock", {"step": delay - 2})
        time.sleep(0.3)
        assert attempts() == n, f"attempt {n + 1} came before its {delay}s delay"
        sim.control("clock", {"step": 2})
    migration(9)
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]
    failures = [e for e in dvp.events_about("stuck") if e.reason == "MigrationFailed"]
    assert len(failures) >= 9 and all(e.type == "Warning" for e in failures)

    kubectl(sim, "patch", "vd", "stuck", "-n", dvp.namespace, "--type=merge", "--patch",
            '{"spec":{"persistentVolumeClaim":{"storageClassName":"i-sds-replicated-thin-r2"}}}')
    disk = dvp.wait("virtualdisks", "stuck", lambda o: not condition(o, "Migrating"))
    assert disk["status"]["phase"] == "Ready"
    assert "MigrationCanceled" in {e.reason for e in dvp.events_about("stuck")}
    sim.control("clock", {"step": 600})
    time.sleep(0.5)
    assert attempts() == 9  # no attempt after the cancel
