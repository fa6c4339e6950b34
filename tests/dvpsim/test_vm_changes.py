"""Configuration changes of a running VM, hot-plugged block devices and placement rules."""

import time

import aiohttp
import pytest

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, vm_body
from tests.guest import connect


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "changes"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # frees the simulated nodes for the tests that follow


def running_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", vm_body(name, **spec))
    return dvp.wait_phase("virtualmachines", name, "Running")


def restart_pending(vm):
    return (condition(vm, "AwaitingRestartToApplyConfiguration") or {}).get("status") == "True"


def test_it_lists_each_changed_field_awaiting_a_restart(dvp):
    running_vm(dvp, "several")
    dvp.patch("virtualmachines", "several", {"spec": {"memory": {"size": "2Gi"}, "osType": "Windows",
                                                      "runPolicy": "Manual"}})
    vm = dvp.wait("virtualmachines", "several", restart_pending)
    assert {c["path"]: (c["operation"], c.get("currentValue"), c.get("desiredValue"))
            for c in vm["status"]["restartAwaitingChanges"]} == {
        "memory.size": ("replace", "1Gi", "2Gi"), "osType": ("replace", "Generic", "Windows")}
    assert condition(vm, "ConfigurationApplied")["status"] == "False"  # the guide's Running-phase conditions
    assert condition(vm, "FirmwareUpToDate")["status"] == "True"


def test_it_applies_the_changes_on_restart_and_clears_the_list(dvp):
    running_vm(dvp, "manual")
    dvp.patch("virtualmachines", "manual", {"spec": {"cpu": {"cores": 2}, "memory": {"size": "2Gi"}}})
    dvp.wait("virtualmachines", "manual", restart_pending)
    dvp.create("virtualmachineoperations", {"metadata": {"generateName": "manual-"},
                                            "spec": {"type": "Restart", "virtualMachineName": "manual"}})
    vm = dvp.wait("virtualmachines", "manual", lambda o: o["status"].get("phase") == "Running"
                  and o["status"].get("resources", {}).get("cpu", {}).get("cores") == 2)
    assert not vm["status"].get("restartAwaitingChanges")
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "False"
    assert condition(vm, "ConfigurationApplied")["status"] == "True"


def test_it_restarts_by_itself_when_approval_is_automatic(dvp):
    running_vm(dvp, "auto", disruptions={"restartApprovalMode": "Automatic"})
    dvp.patch("virtualmachines", "auto", {"spec": {"cpu": {"cores": 2}, "memory": {"size": "2Gi"}}})
    vm = dvp.wait("virtualmachines", "auto", lambda o: o["status"].get("phase") == "Running"
                  and o["status"].get("resources", {}).get("cpu", {}).get("cores") == 2, timeout=30)
    assert not vm["status"].get("restartAwaitingChanges")
    phases = [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]
    assert "Stopping" in phases
    assert {"VMChangesApplied", "VMRestarted"} <= {e.reason for e in dvp.events_about("auto")}


def test_it_hot_plugs_a_disk_through_a_block_device_attachment(sim, dvp):
    running_vm(dvp, "hotplug")
    dvp.create("virtualdisks", blank_disk("blank-disk", "3Gi"))
    dvp.wait_phase("virtualdisks", "blank-disk", "Ready")
    dvp.create("virtualmachineblockdeviceattachments", {
        "metadata": {"name": "attach-blank-disk"},
        "spec": {"virtualMachineName": "hotplug", "blockDeviceRef": {"kind": "VirtualDisk", "name": "blank-disk"}}})
    phases = set()
    attachment = dvp.wait("virtualmachineblockdeviceattachments", "attach-blank-disk",
                          lambda o: phases.add((o.get("status") or {}).get("phase")) or
                          (o.get("status") or {}).get("phase") == "Attached")
    assert "InProgress" in phases and attachment["status"]["virtualMachineName"] == "hotplug"
    vm = dvp.wait("virtualmachines", "hotplug", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    plugged = vm["status"]["blockDeviceRefs"][1]
    assert plugged == {"kind": "VirtualDisk", "name": "blank-disk", "size": "3Gi", "attached": True,
                       "hotplugged": True, "virtualMachineBlockDeviceAttachmentName": "attach-blank-disk"}
    assert not restart_pending(vm)

    dvp.delete("virtualmachineblockdeviceattachments", "attach-blank-disk")
    vm = dvp.wait("virtualmachines", "hotplug", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)
    assert vm["status"]["blockDeviceRefs"][0]["name"] == "hotplug-root"


async def test_it_shows_the_hot_plugged_disk_in_lsblk(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "lsblk"))
    dvp.create("virtualdisks", blank_disk("linux-vm-root", "10Gi"))
    dvp.create("virtualdisks", blank_disk("data", "7Gi"))
    dvp.create("virtualmachines", vm_body("linux-vm"))
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    dvp.create("virtualmachineblockdeviceattachments", {
        "metadata": {"name": "attach-data"},
        "spec": {"virtualMachineName": "linux-vm", "blockDeviceRef": {"kind": "VirtualDisk", "name": "data"}}})
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, dvp)
        await console.expect("linux-vm login: ")
        await console.type("cloud\r")
        await console.expect("Password: ")
        await console.type("cloud\r")
        await console.expect("cloud@linux-vm:~$ ")
        await console.type("lsblk\r")
        listing = await console.expect("cloud@linux-vm:~$ ")
        assert "10G" in listing and "7G" in listing
        await console.ws.close()
    dvp.core.delete_namespace(dvp.namespace)


def test_it_keeps_an_attachment_pending_until_the_vm_runs(dvp):
    dvp.create("virtualdisks", blank_disk("parked-root"))
    dvp.create("virtualdisks", blank_disk("parked-data"))
    dvp.create("virtualmachines", vm_body("parked", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualmachines", "parked", "Stopped")
    dvp.create("virtualmachineblockdeviceattachments", {
        "metadata": {"name": "attach-parked"},
        "spec": {"virtualMachineName": "parked", "blockDeviceRef": {"kind": "VirtualDisk", "name": "parked-data"}}})
    pending = dvp.wait("virtualmachineblockdeviceattachments", "attach-parked",
                       lambda o: condition(o, "VirtualMachineReady") is not None)
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "VirtualMachineReady")["message"] == 'VirtualMachine "parked" is not running.'


def test_it_says_why_a_vm_cannot_be_placed(dvp):
    dvp.create("virtualdisks", blank_disk("nowhere-root"))
    dvp.create("virtualmachines", vm_body("nowhere", nodeSelector={"disktype": "ssd"}))
    vm = dvp.wait("virtualmachines", "nowhere",
                  lambda o: "nodes are available" in ((condition(o, "Running") or {}).get("message") or ""))
    assert condition(vm, "Running")["message"] == (
        "Could not schedule the virtual machine: Unschedulable: 0/3 nodes are available: 3 node(s) didn't match "
        "Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
        "scheduling.")
    assert vm["status"]["phase"] == "Pending" and not vm["status"].get("nodeName")


def test_it_keeps_vms_with_strict_anti_affinity_apart(dvp):
    anti = {"virtualMachineAndPodAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    for name in ("db-1", "db-2", "db-3", "db-4"):
        dvp.create("virtualdisks", blank_disk(f"{name}-root"))
        body = vm_body(name, affinity=anti)
        body["metadata"]["labels"] = {"server": "database"}
        dvp.create("virtualmachines", body)
    # The four are scheduled in no fixed order: three run on three nodes, whichever comes last waits.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        vms = [dvp.get("virtualmachines", name) for name in ("db-1", "db-2", "db-3", "db-4")]
        running = [vm for vm in vms if vm["status"].get("phase") == "Running"]
        waiting = [vm for vm in vms if "nodes are available" in ((condition(vm, "Running") or {}).get("message") or "")]
        if len(running) == 3 and len(waiting) == 1:
            break
        time.sleep(0.3)
    assert len({vm["status"]["nodeName"] for vm in running}) == 3
    assert condition(waiting[0], "Running")["message"] == (
        "Could not schedule the virtual machine: Unschedulable: 0/3 nodes are available: 3 node(s) didn't match "
        "pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming "
        "pod.")


def test_it_keeps_the_spec_of_an_attachment_immutable(dvp):
    from kubernetes.client.exceptions import ApiException
    dvp.create("virtualmachineblockdeviceattachments", {
        "metadata": {"name": "fixed"},
        "spec": {"virtualMachineName": "nowhere", "blockDeviceRef": {"kind": "VirtualDisk", "name": "nowhere-root"}}})
    with pytest.raises(ApiException) as refused:
        dvp.patch("virtualmachineblockdeviceattachments", "fixed", {"spec": {"virtualMachineName": "other"}})
    assert refused.value.status == 403
    assert "specification changes are not available" in refused.value.body


def test_it_refuses_additional_networks_without_the_sdn_module(sim, dvp):
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    modules = client.CustomObjectsApi(sim.api("admin"))  # the demo enables sdn: disable it for a moment
    modules.patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "sdn", {"spec": {"enabled": False}})
    try:
        with pytest.raises(ApiException) as refused:
            dvp.create("virtualmachines", vm_body("netted", networks=[{"type": "Main"},
                                                                     {"type": "Network", "name": "user-net"}]))
    finally:
        modules.patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "sdn",
                                            {"spec": {"enabled": True}})
    assert refused.value.status == 403 and "requires SDN module to be enabled" in refused.value.body


def test_it_reports_the_networks_with_mac_addresses(sim, dvp):
    vm = running_vm(dvp, "netted", networks=[{"type": "Main"}, {"type": "Network", "name": "user-net"},
                                             {"type": "ClusterNetwork", "name": "corp-net"}])
    main, first, second = vm["status"]["networks"]
    assert main == {"type": "Main", "id": 1}
    assert (first["name"], second["name"]) == ("user-net", "corp-net") and (first["id"], second["id"]) == (2, 3)
    assert first["macAddress"] != second["macAddress"]
    assert int(first["macAddress"][:2], 16) & 0x0f == 0x02


def test_it_waits_for_a_restart_only_when_new_placement_rules_exclude_the_node(dvp):
    node = running_vm(dvp, "placed")["status"]["nodeName"]
    # Rules its node satisfies apply at once: only the memory change waits for the restart.
    dvp.patch("virtualmachines", "placed", {"spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                                                     "memory": {"size": "2Gi"}}})
    vm = dvp.wait("virtualmachines", "placed", restart_pending)
    assert [c["path"] for c in vm["status"]["restartAwaitingChanges"]] == ["memory.size"]
    other = next(n for n in ("virtlab-pt-1", "virtlab-pt-2", "virtlab-pt-3") if n != node)
    dvp.patch("virtualmachines", "placed", {"spec": {"nodeSelector": {"kubernetes.io/hostname": other}}})
    vm = dvp.wait("virtualmachines", "placed", lambda o: len(o["status"].get("restartAwaitingChanges") or []) == 2)
    # The first selector was applied to the running VM; vmchange reports the field whole.
    assert vm["status"]["restartAwaitingChanges"][1] == \
        {"operation": "replace", "path": "nodeSelector", "currentValue": {"kubernetes.io/hostname": node},
         "desiredValue": {"kubernetes.io/hostname": other}}
    dvp.create("virtualmachineoperations", {"metadata": {"generateName": "placed-"},
                                            "spec": {"type": "Restart", "virtualMachineName": "placed"}})
    vm = dvp.wait("virtualmachines", "placed", lambda o: o["status"].get("nodeName") == other
                  and o["status"].get("phase") == "Running")
    assert not vm["status"].get("restartAwaitingChanges")
