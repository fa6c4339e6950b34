"""The user guide's Images sections ("Creating image from HTTP server", "Load an image from the command line",
"Creating an image from a disk" / "from a disk snapshot"), driven the way the guide drives them, with the
outcomes it narrates asserted."""

import json
import re
import shutil
import subprocess
import time

import pytest

from dvpsim.samples import qcow2
from tests.dvpsim.guide_examples import GUIDE
from tests.kube import Dvp, blank_disk, condition, fresh_namespace, http_image
from tests.kubectl import KUBECTL, kubectl
from tests.dvpsim.guide_images_disks.helpers import apply, CURL, get_row, guide_yaml, MiB, small_vm, table, Watcher


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


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
