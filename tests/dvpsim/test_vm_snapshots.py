"""VirtualMachineSnapshot: phases, consistency rules, keepIPAddress, disk snapshots, saved Secret, status.resources."""

import base64
import json

import pytest

from tests.kube import GUIDE_USER_DATA, Dvp, blank_disk, condition, fresh_namespace, vm_body

AGENT_USER_DATA = GUIDE_USER_DATA + "packages:\n  - qemu-guest-agent\n"


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "vmsnap"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def vm_snapshot(name, vm, **spec):
    return {"metadata": {"name": name}, "spec": {"virtualMachineName": vm, **spec}}


def running_vm(dvp, name, **vm_spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", vm_body(name, **vm_spec))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


def reasons(dvp, name):
    return [e.reason for e in dvp.events_about(name)]


def test_it_snapshots_a_running_vm_with_agent_consistently_and_keeps_its_ip(dvp):
    running_vm(dvp, "web", user_data=AGENT_USER_DATA)
    dvp.wait("virtualmachines", "web", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    vmip_before = dvp.get("virtualmachineipaddresses", "web")
    assert vmip_before["spec"]["type"] == "Auto"
    dvp.create("virtualmachinesnapshots", vm_snapshot("web-snap", "web"))
    ready = dvp.wait_phase("virtualmachinesnapshots", "web-snap", "Ready")

    assert ready["status"]["consistent"] is True
    uid = ready["metadata"]["uid"]
    assert ready["status"]["virtualDiskSnapshotNames"] == [f"web-root-{uid}"]
    disk_snapshot = dvp.get("virtualdisksnapshots", f"web-root-{uid}")
    assert disk_snapshot["status"]["phase"] == "Ready"
    assert disk_snapshot["metadata"]["ownerReferences"][0]["uid"] == uid
    kinds_and_names = [(r["kind"], r["name"]) for r in ready["status"]["resources"]]
    assert kinds_and_names == [("VirtualMachine", "web"), ("VirtualMachineIPAddress", "web"), ("VirtualDisk", "web-root")]
    assert all(r["apiVersion"] == "virtualization.deckhouse.io/v1alpha2" for r in ready["status"]["resources"])

    vmip = dvp.get("virtualmachineipaddresses", "web")
    assert vmip["spec"] == {"type": "Static", "staticIP": vmip_before["status"]["address"]}

    secret = dvp.core.read_namespaced_secret(ready["status"]["virtualMachineSnapshotSecretName"], dvp.namespace)
    saved = json.loads(base64.b64decode(next(iter(secret.data.values()))))
    assert saved["virtualMachine"]["spec"]["cpu"]["cores"] == 1
    assert saved["virtualMachine"]["metadata"]["uid"] == dvp.get("virtualmachines", "web")["metadata"]["uid"]
    assert saved["virtualMachineIPAddress"]["spec"]["staticIP"] == vmip_before["status"]["address"]

    seen = reasons(dvp, "web-snap")
    for reason in ("VirtualMachineSnapshottingStarted", "VirtualMachineSnapshottingFrozen",
                   "VirtualMachineSnapshottingInProgress", "VirtualMachineSnapshottingThawed",
                   "VirtualMachineSnapshottingCompleted"):
        assert reason in seen


def test_it_waits_for_the_agent_or_a_stop_before_a_consistent_snapshot_of_a_running_vm(dvp):
    running_vm(dvp, "noagent", user_data=None)
    dvp.create("virtualmachinesnapshots", vm_snapshot("noagent-snap", "noagent"))
    pending = dvp.wait("virtualmachinesnapshots", "noagent-snap",
                       lambda o: (condition(o, "VirtualMachineSnapshotReady") or {}).get("reason") == "PotentiallyInconsistent")
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "VirtualMachineSnapshotReady")["message"] == (
        'The snapshotting of virtual machine "noagent" might result in an inconsistent snapshot: virtual machine '
        "agent is not ready and virtual machine cannot be frozen: waiting for virtual machine agent to be ready or "
        "virtual machine will stop")
    assert "VirtualMachineSnapshottingPending" in reasons(dvp, "noagent-snap")

    dvp.create("virtualmachinesnapshots", vm_snapshot("noagent-loose", "noagent", requiredConsistency=False,
                                                      keepIPAddress="Never"))
    loose = dvp.wait_phase("virtualmachinesnapshots", "noagent-loose", "Ready")
    assert "consistent" not in loose["status"]
    assert [r["kind"] for r in loose["status"]["resources"]] == ["VirtualMachine", "VirtualDisk"]
    assert dvp.get("virtualmachineipaddresses", "noagent")["spec"]["type"] == "Auto"

    dvp.create("virtualmachineoperations", {"metadata": {"name": "noagent-stop"},
                                            "spec": {"type": "Stop", "virtualMachineName": "noagent"}})
    dvp.wait_phase("virtualmachines", "noagent", "Stopped", timeout=30)
    assert dvp.wait_phase("virtualmachinesnapshots", "noagent-snap", "Ready")["status"]["consistent"] is True


def test_it_waits_for_a_missing_vm_and_fails_when_a_disk_snapshot_is_lost(dvp):
    dvp.create("virtualmachinesnapshots", vm_snapshot("ghost-snap", "ghost"))
    pending = dvp.wait("virtualmachinesnapshots", "ghost-snap",
                       lambda o: condition(o, "VirtualMachineSnapshotReady") is not None)
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "VirtualMachineSnapshotReady")["reason"] == "WaitingForTheVirtualMachine"
    assert condition(pending, "VirtualMachineReady")["status"] == "False"

    dvp.create("virtualdisks", blank_disk("cold-root"))
    dvp.create("virtualmachines", vm_body("cold", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualmachines", "cold", "Stopped", timeout=30)
    dvp.create("virtualmachinesnapshots", vm_snapshot("cold-snap", "cold"))
    ready = dvp.wait_phase("virtualmachinesnapshots", "cold-snap", "Ready")
    assert ready["status"]["consistent"] is True
    dvp.delete("virtualdisksnapshots", ready["status"]["virtualDiskSnapshotNames"][0])
    failed = dvp.wait_phase("virtualmachinesnapshots", "cold-snap", "Failed")
    assert condition(failed, "VirtualMachineSnapshotReady")["reason"] == "VirtualDiskSnapshotLost"

    dvp.delete("virtualmachinesnapshots", "cold-snap")
    dvp.wait_gone("virtualmachinesnapshots", "cold-snap")
    secrets = [s.metadata.name for s in dvp.core.list_namespaced_secret(dvp.namespace).items]
    assert ready["status"]["virtualMachineSnapshotSecretName"] not in secrets
