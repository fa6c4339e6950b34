"""The user guide's "Disk snapshots" and "VM snapshots", driven the way the guide does it (kubectl for its `d8 k`
commands, its own YAML where it gives some)."""

import shutil

import pytest

from tests.dvpsim.guide_examples import GUIDE
from tests.kube import blank_disk, condition
from tests.kubectl import KUBECTL, kubectl
from tests.dvpsim.guide_network_snapshots.helpers import (
    AGENT_USER_DATA,
    apply,
    guide_yaml,
    running_vm,
    small_vm,
    snapshot_of,
    stopped_vm,
    table,
)


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


# ---- Disk snapshots -------------------------------------------------------------------------------------------------

def test_it_snapshots_a_free_disk_with_the_guides_manifest_and_restores_a_disk_from_it(sim, dvp):
    dvp.create("virtualdisks", blank_disk("linux-vm-root-free", size="10Gi"))
    dvp.wait_phase("virtualdisks", "linux-vm-root-free", "Ready")
    apply(sim, dvp.namespace, guide_yaml("VirtualDiskSnapshot", **{"virtualDiskName: linux-vm-root":
                                                                    "virtualDiskName: linux-vm-root-free"}))
    name = "linux-vm-root-1728027905"
    snapshot = dvp.wait_phase("virtualdisksnapshots", name, "Ready")
    assert snapshot["spec"]["requiredConsistency"] is True and snapshot["status"]["consistent"] is True
    header, rows = table(kubectl(sim, "get", "vdsnapshot", name, "-n", dvp.namespace).stdout)
    assert header == ["NAME", "PHASE", "CONSISTENT", "AGE"] and rows[0][:3] == [name, "Ready", "true"]

    disk_yaml = guide_yaml("VirtualDisk").replace("name: linux-vm-root\n", "name: linux-vm-root-restored\n", 1)
    assert "kind: VirtualDiskSnapshot" in disk_yaml and "i-sds-replicated-thin-r2" in disk_yaml
    apply(sim, dvp.namespace, disk_yaml)
    restored = dvp.wait_phase("virtualdisks", "linux-vm-root-restored", "Ready")
    assert restored["status"]["capacity"] == "10Gi"
    assert restored["status"]["storageClassName"] == "i-sds-replicated-thin-r2"
    assert restored["spec"]["dataSource"]["objectRef"] == {"kind": "VirtualDiskSnapshot", "name": name}


def test_it_snapshots_the_disk_of_a_stopped_vm_consistently(dvp):
    stopped_vm(dvp, "sleeper")
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "sleeper-snap"},
                                        "spec": {"virtualDiskName": "sleeper-root", "requiredConsistency": True}})
    assert dvp.wait_phase("virtualdisksnapshots", "sleeper-snap", "Ready")["status"]["consistent"] is True


def test_it_freezes_a_running_vm_with_the_agent_for_a_consistent_disk_snapshot(sim, dvp):
    running_vm(dvp, "agent-vm", user_data=AGENT_USER_DATA)
    dvp.wait("virtualmachines", "agent-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    speed = sim.control("clock")["speed"]
    sim.control("clock", {"speed": 0.5})  # the 2-second snapshot takes 4 s: time to see it InProgress
    try:
        dvp.create("virtualdisksnapshots", {"metadata": {"name": "agent-snap"},
                                            "spec": {"virtualDiskName": "agent-vm-root", "requiredConsistency": True}})
        in_progress = dvp.wait_phase("virtualdisksnapshots", "agent-snap", "InProgress")
    finally:
        sim.control("clock", {"speed": speed})
    assert condition(in_progress, "VirtualDiskSnapshotReady")["message"] == \
        "The file systems are frozen: the snapshot is being taken."
    assert dvp.wait_phase("virtualdisksnapshots", "agent-snap", "Ready")["status"]["consistent"] is True


def test_it_takes_an_inconsistent_disk_snapshot_of_a_running_vm_when_consistency_is_not_required(sim, dvp):
    running_vm(dvp, "no-agent", user_data=None)
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "must-be-consistent"},
                                        "spec": {"virtualDiskName": "no-agent-root"}})  # requiredConsistency: true
    waiting = dvp.wait("virtualdisksnapshots", "must-be-consistent",
                       lambda o: condition(o, "VirtualDiskSnapshotReady") is not None)
    assert waiting["status"]["phase"] == "Pending"
    assert condition(waiting, "VirtualDiskSnapshotReady")["reason"] == "PotentiallyInconsistent"
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "test-only"},
                                        "spec": {"virtualDiskName": "no-agent-root", "requiredConsistency": False}})
    ready = dvp.wait_phase("virtualdisksnapshots", "test-only", "Ready")
    assert not ready["status"].get("consistent")
    assert table(kubectl(sim, "get", "vds", "test-only", "-n", dvp.namespace).stdout)[1][0][:2] == ["test-only", "Ready"]


# ---- VM snapshots ---------------------------------------------------------------------------------------------------

def test_it_snapshots_a_vm_with_the_guides_manifest_and_lists_the_saved_resources(sim, dvp):
    dvp.core.create_namespaced_secret(dvp.namespace, {
        "metadata": {"name": "cloud-init"}, "type": "provisioning.virtualization.deckhouse.io/cloud-init",
        "stringData": {"userData": AGENT_USER_DATA}})
    for plural, name in (("virtualmachines", "linux-vm"), ("virtualdisks", "linux-vm-root")):  # the IP tests' VM
        if dvp.find(plural, name) is not None:
            dvp.delete(plural, name)
            dvp.wait_gone(plural, name, timeout=30)
    dvp.create("virtualdisks", blank_disk("linux-vm-root"))
    dvp.create("virtualmachines", small_vm("linux-vm", user_data=None, provisioning={
        "type": "UserDataRef", "userDataRef": {"kind": "Secret", "name": "cloud-init"}}))
    dvp.wait_phase("virtualmachines", "linux-vm", "Running", timeout=30)
    dvp.wait("virtualmachines", "linux-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")

    apply(sim, dvp.namespace, guide_yaml("VirtualMachineSnapshot"))
    snapshot = dvp.wait_phase("virtualmachinesnapshots", "linux-vm-snapshot", "Ready", timeout=30)
    assert snapshot["spec"] == {"virtualMachineName": "linux-vm", "requiredConsistency": True,
                                "keepIPAddress": "Never"}
    assert snapshot["status"]["consistent"] is True
    assert [(r["apiVersion"], r["kind"], r["name"]) for r in snapshot["status"]["resources"]] == [
        ("virtualization.deckhouse.io/v1alpha2", "VirtualMachine", "linux-vm"),
        ("v1", "Secret", "cloud-init"),
        ("virtualization.deckhouse.io/v1alpha2", "VirtualDisk", "linux-vm-root")]
    assert dvp.wait_phase("virtualmachineipaddresses", "linux-vm", "Attached")["spec"]["type"] == "Auto"  # Never
    header, rows = table(kubectl(sim, "get", "vms", "-n", dvp.namespace).stdout)  # vms = VirtualMachineSnapshot
    assert header == ["NAME", "PHASE", "CONSISTENT", "AGE"] and rows[0][:3] == ["linux-vm-snapshot", "Ready", "true"]


def test_it_holds_the_snapshot_of_a_vm_back_while_its_disk_is_resizing(sim, dvp):
    stopped_vm(dvp, "grower")
    speed = sim.control("clock")["speed"]
    sim.control("clock", {"speed": 0.2})  # the 2-second resize takes 10 s: time to look at the snapshot meanwhile
    try:
        dvp.patch("virtualdisks", "grower-root", {"spec": {"persistentVolumeClaim": {"size": "3Gi"}}})
        dvp.wait_phase("virtualdisks", "grower-root", "Resizing")
        dvp.create("virtualmachinesnapshots", {"metadata": {"name": "grower-snap"},
                                               "spec": {"virtualMachineName": "grower"}})
        waiting = dvp.wait("virtualmachinesnapshots", "grower-snap",
                           lambda o: condition(o, "VirtualMachineSnapshotReady") is not None)
        assert dvp.get("virtualdisks", "grower-root")["status"]["phase"] == "Resizing"
    finally:
        sim.control("clock", {"speed": speed})
    assert waiting["status"]["phase"] == "Pending"
    assert condition(waiting, "VirtualMachineSnapshotReady")["reason"] == "BlockDevicesNotReady"
    assert condition(waiting, "VirtualMachineSnapshotReady")["message"] == \
        'Virtual disk is in the process of resizing: waiting for the virtual disk "grower-root" to be resized.'
    assert dvp.wait_phase("virtualmachinesnapshots", "grower-snap", "Ready", timeout=30)


def test_it_saves_the_changes_awaiting_a_restart_in_the_snapshot(dvp):
    running_vm(dvp, "pending-change", user_data=AGENT_USER_DATA)
    dvp.wait("virtualmachines", "pending-change",
             lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    dvp.patch("virtualmachines", "pending-change", {"spec": {"memory": {"size": "2Gi"}}})
    dvp.wait("virtualmachines", "pending-change", lambda o: o["status"].get("restartAwaitingChanges"))
    snapshot_of(dvp, "pending-change-snap", "pending-change")
    assert dvp.get("virtualmachines", "pending-change")["status"]["restartAwaitingChanges"]  # still waiting
    # A VM created from the snapshot gets the updated configuration.
    dvp.create("virtualmachinesnapshotoperations", {"metadata": {"name": "from-snap"}, "spec": {
        "type": "CreateVirtualMachine", "virtualMachineSnapshotName": "pending-change-snap",
        "createVirtualMachine": {"mode": "Strict", "customization": {"namePrefix": "new-"}}}})
    done = dvp.wait("virtualmachinesnapshotoperations", "from-snap",
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=30)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert dvp.get("virtualmachines", "new-pending-change")["spec"]["memory"]["size"] == "2Gi"
    dvp.delete("virtualmachines", "new-pending-change")
    dvp.delete("virtualmachines", "pending-change")
