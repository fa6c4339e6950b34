"""VirtualDiskSnapshot: phases, consistency and the requiredConsistency rule; disks and images made from one."""

import pytest

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "vdsnap"))


def snapshot(name, disk, required=None):
    spec = {"virtualDiskName": disk}
    if required is not None:
        spec["requiredConsistency"] = required
    return {"metadata": {"name": name}, "spec": spec}


def test_it_snapshots_a_free_disk_consistently_and_restores_a_disk_of_its_size(dvp):
    dvp.create("virtualdisks", blank_disk("data", size="3Gi"))
    dvp.wait_phase("virtualdisks", "data", "Ready")
    dvp.create("virtualdisksnapshots", snapshot("data-snap", "data"))
    ready = dvp.wait_phase("virtualdisksnapshots", "data-snap", "Ready")
    assert ready["status"]["consistent"] is True
    assert ready["status"]["volumeSnapshotName"]
    dvp.create("virtualdisks", {"metadata": {"name": "restored"}, "spec": {"dataSource": {
        "type": "ObjectRef", "objectRef": {"kind": "VirtualDiskSnapshot", "name": "data-snap"}}}})
    assert dvp.wait_phase("virtualdisks", "restored", "Ready")["status"]["capacity"] == "3Gi"
    dvp.create("virtualimages", {"metadata": {"name": "from-snap"}, "spec": {"storage": "ContainerRegistry",
               "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualDiskSnapshot", "name": "data-snap"}}}})
    assert dvp.wait_phase("virtualimages", "from-snap", "Ready")["status"]["size"]["unpacked"] == "3Gi"


def test_it_waits_for_a_missing_disk(dvp):
    dvp.create("virtualdisksnapshots", snapshot("orphan", "no-such-disk"))
    pending = dvp.wait("virtualdisksnapshots", "orphan", lambda o: condition(o, "VirtualDiskReady"))
    assert pending["status"]["phase"] == "Pending"
    assert "not found" in condition(pending, "VirtualDiskReady")["message"]


def test_it_refuses_a_consistent_snapshot_of_a_running_vm_without_agent(dvp):
    dvp.create("virtualdisks", blank_disk("busy-root"))
    dvp.create("virtualmachines", vm_body("busy", disk="busy-root", user_data=None))
    dvp.wait_phase("virtualmachines", "busy", "Running", timeout=30)
    dvp.create("virtualdisksnapshots", snapshot("busy-snap", "busy-root"))
    pending = dvp.wait("virtualdisksnapshots", "busy-snap",
                       lambda o: (condition(o, "VirtualDiskSnapshotReady") or {}).get("reason") == "PotentiallyInconsistent")
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "VirtualDiskSnapshotReady")["message"] == (
        'The virtual machine "busy" with an attached virtual disk "busy-root" is Running: the snapshotting of '
        "virtual disk might result in an inconsistent snapshot: virtual machine agent is not ready and virtual "
        "machine cannot be frozen: waiting for virtual machine agent to be ready, or virtual machine will stop")
    dvp.create("virtualdisksnapshots", snapshot("busy-loose", "busy-root", required=False))
    loose = dvp.wait_phase("virtualdisksnapshots", "busy-loose", "Ready")
    assert loose["status"]["consistent"] is False
