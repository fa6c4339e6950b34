"""The user guide's Disks sections (creating disks, resizing, "Changing the disk StorageClass"), driven the way
the guide drives them, with the outcomes it narrates asserted."""

import json
import re
import shutil
import time

import pytest

from tests.conftest import start_sim, stop_sim
from tests.dvpsim.guide_examples import GUIDE
from tests.kube import Dvp, blank_disk, condition, fresh_namespace, http_image
from tests.kubectl import KUBECTL, kubectl
from tests.dvpsim.guide_images_disks.helpers import apply, get_row, guide_yaml, small_vm, table, Watcher


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


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
