"""VirtualMachine life cycle, IP addresses and VirtualMachineOperations."""

import ipaddress

import pytest

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "vms"))


# Migration needs room on a second node: a small CPU share fits however full the shared nodes are.
SMALL_CPU = {"cores": 1, "coreFraction": "5%"}


def running_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", vm_body(name, **spec))
    return dvp.wait_phase("virtualmachines", name, "Running")


def operation(dvp, vm, type_, **spec):
    return dvp.create("virtualmachineoperations", {
        "metadata": {"generateName": f"{vm}-{type_.lower()}-"},
        "spec": {"type": type_, "virtualMachineName": vm, **spec}})["metadata"]["name"]


def test_it_runs_a_vm_on_a_node_with_an_ip(dvp):
    dvp.create("virtualdisks", blank_disk("web-root"))
    dvp.create("virtualmachines", vm_body("web", cores=2, memory="2Gi"))
    first = dvp.get("virtualmachines", "web")
    assert first["spec"]["virtualMachineClassName"] == "generic"
    vm = dvp.wait_phase("virtualmachines", "web", "Running")
    status = vm["status"]
    assert status["nodeName"].startswith("virtlab-pt-")
    assert ipaddress.ip_address(status["ipAddress"]) in ipaddress.ip_network("10.66.10.0/24")
    assert status["stats"]["lastStartTime"]
    assert [t["phase"] for t in status["stats"]["phasesTransitions"]][-2:] == ["Starting", "Running"]
    assert status["resources"]["cpu"] == {"cores": 2, "coreFraction": "100%", "requestedCores": "2",
                                          "runtimeOverhead": "0", "topology": {"sockets": 1, "coresPerSocket": 2}}
    assert status["resources"]["memory"]["size"] == "2Gi"
    assert status["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "web-root", "size": "1Gi", "attached": True}]
    for type_ in ("Running", "BlockDevicesReady", "VirtualMachineIPAddressReady", "VirtualMachineClassReady"):
        assert condition(vm, type_)["status"] == "True", type_
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "False"
    # no qemu-guest-agent in this cloud-init: DVP reports the agent as not ready (the AGENT column says False)
    assert (condition(vm, "AgentReady")["status"], condition(vm, "AgentReady")["reason"]) == ("False", "AgentNotReady")

    vmip = dvp.wait_phase("virtualmachineipaddresses", "web", "Attached")
    assert vmip["spec"]["type"] == "Auto"
    assert vmip["status"]["address"] == status["ipAddress"]
    lease = dvp.get("virtualmachineipaddressleases", "ip-" + status["ipAddress"].replace(".", "-"))
    assert lease["spec"]["virtualMachineIPAddressRef"] == {"name": "web", "namespace": dvp.namespace}
    assert lease["status"]["phase"] == "Bound"
    assert {"Starting", "Started"} <= {e.reason for e in dvp.events_about("web")}


def test_it_applies_the_dvp_defaults(dvp):
    dvp.create("virtualdisks", blank_disk("plain-root"))
    vm = dvp.create("virtualmachines", vm_body("plain"))
    spec = vm["spec"]
    assert spec["runPolicy"] == "AlwaysOnUnlessStoppedManually"
    assert (spec["osType"], spec["bootloader"]) == ("Generic", "BIOS")
    assert spec["disruptions"] == {"restartApprovalMode": "Manual"}
    assert spec["liveMigrationPolicy"] == "PreferSafe"
    assert spec["enableParavirtualization"] is True
    assert spec["terminationGracePeriodSeconds"] == 60
    assert spec["cpu"]["coreFraction"] == "100%"


def test_it_reports_the_guest_agent_when_cloud_init_installs_it(dvp):
    user_data = "#cloud-config\npackages:\n  - qemu-guest-agent\n"
    running_vm(dvp, "agent", user_data=user_data)
    vm = dvp.wait("virtualmachines", "agent", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    assert vm["status"]["guestOSInfo"]["id"] == "ubuntu"


def test_it_leaves_a_manual_vm_stopped_until_started(dvp):
    dvp.create("virtualdisks", blank_disk("manual-root"))
    dvp.create("virtualmachines", vm_body("manual", runPolicy="Manual"))
    dvp.wait_phase("virtualmachines", "manual", "Stopped")
    op = operation(dvp, "manual", "Start")
    dvp.wait_phase("virtualmachineoperations", op, "Completed")
    assert dvp.get("virtualmachines", "manual")["status"]["phase"] == "Running"


def test_it_stops_and_starts_a_vm_with_operations(dvp):
    running_vm(dvp, "cycle")
    stop = operation(dvp, "cycle", "Stop")
    dvp.wait("virtualmachines", "cycle", lambda o: o["status"]["phase"] in ("Stopping", "Stopped"))
    done = dvp.wait_phase("virtualmachineoperations", stop, "Completed")
    assert condition(done, "Completed")["status"] == "True"
    vm = dvp.get("virtualmachines", "cycle")
    assert vm["status"]["phase"] == "Stopped"
    assert "nodeName" not in vm["status"]
    # Stopped manually: AlwaysOnUnlessStoppedManually does not start it again.
    assert dvp.get("virtualmachines", "cycle")["status"]["phase"] == "Stopped"
    start = operation(dvp, "cycle", "Start")
    dvp.wait_phase("virtualmachineoperations", start, "Completed")
    assert dvp.get("virtualmachines", "cycle")["status"]["phase"] == "Running"


def test_it_restarts_a_vm(dvp):
    before = running_vm(dvp, "bounce")
    restart = operation(dvp, "bounce", "Restart", force=True)
    dvp.wait_phase("virtualmachineoperations", restart, "Completed")
    vm = dvp.get("virtualmachines", "bounce")
    assert vm["status"]["phase"] == "Running"
    phases = [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]
    assert phases[-3:] == ["Stopping", "Starting", "Running"]
    assert len(vm["status"]["stats"]["phasesTransitions"]) > len(before["status"]["stats"]["phasesTransitions"])


def test_it_fails_an_operation_that_does_not_apply(dvp):
    running_vm(dvp, "busy")
    op = operation(dvp, "busy", "Start")
    failed = dvp.wait_phase("virtualmachineoperations", op, "Failed")
    completed = condition(failed, "Completed")
    assert (completed["status"], completed["reason"]) == ("False", "NotApplicableForVirtualMachinePhase")
    assert completed["message"] == "Operation type Start is not applicable for VirtualMachine in phase Running"


def test_it_waits_for_block_devices(dvp):
    dvp.create("virtualmachines", vm_body("early", disk="not-yet"))
    vm = dvp.wait("virtualmachines", "early", lambda o: condition(o, "BlockDevicesReady"))
    assert vm["status"]["phase"] == "Pending"
    assert condition(vm, "BlockDevicesReady")["status"] == "False"
    dvp.create("virtualdisks", blank_disk("not-yet"))
    dvp.wait_phase("virtualmachines", "early", "Running")


def test_it_releases_the_ip_when_the_vm_is_deleted(dvp):
    vm = running_vm(dvp, "doomed")
    lease_name = "ip-" + vm["status"]["ipAddress"].replace(".", "-")
    dvp.delete("virtualmachines", "doomed")
    dvp.wait_gone("virtualmachines", "doomed")
    dvp.wait_gone("virtualmachineipaddresses", "doomed")
    dvp.wait("virtualmachineipaddressleases", lease_name, lambda o: o["status"]["phase"] == "Released")


def test_it_asks_for_a_restart_after_a_cpu_change(dvp):
    running_vm(dvp, "resize", memory="2Gi")
    dvp.patch("virtualmachines", "resize", {"spec": {"cpu": {"cores": 2}, "memory": {"size": "2Gi"}}})
    vm = dvp.wait("virtualmachines", "resize",
                  lambda o: condition(o, "AwaitingRestartToApplyConfiguration")["status"] == "True")
    assert {"operation": "replace", "path": "cpu.cores", "currentValue": 1, "desiredValue": 2} in \
        vm["status"]["restartAwaitingChanges"]


def test_it_live_migrates_a_vm_to_another_node(dvp):
    before = running_vm(dvp, "mover", cpu=SMALL_CPU)
    source = before["status"]["nodeName"]
    op = operation(dvp, "mover", "Evict")
    dvp.wait("virtualmachines", "mover", lambda o: o["status"]["phase"] == "Migrating")
    progressing = dvp.wait("virtualmachineoperations", op, lambda o: o["status"].get("progress") not in (None, "0%"))
    assert progressing["status"]["phase"] == "InProgress"
    done = dvp.wait_phase("virtualmachineoperations", op, "Completed")
    assert done["status"]["progress"] == "100%"
    vm = dvp.get("virtualmachines", "mover")
    assert vm["status"]["phase"] == "Running" and vm["status"]["nodeName"] != source
    state = vm["status"]["migrationState"]
    assert state["result"] == "Succeeded" and state["source"]["node"] == source
    assert state["target"]["node"] == vm["status"]["nodeName"] and state["endTimestamp"]
    assert condition(vm, "Migrating") is None  # DVP drops it once no migration is in progress


def test_it_cancels_a_migration_when_its_operation_is_deleted(dvp):
    source = running_vm(dvp, "stayer", cpu=SMALL_CPU)["status"]["nodeName"]
    op = operation(dvp, "stayer", "Migrate")
    dvp.wait("virtualmachines", "stayer", lambda o: o["status"]["phase"] == "Migrating")
    dvp.delete("virtualmachineoperations", op)
    vm = dvp.wait("virtualmachines", "stayer", lambda o: o["status"].get("migrationState", {}).get("result"))
    assert vm["status"]["migrationState"]["result"] == "Failed"
    assert vm["status"]["phase"] == "Running" and vm["status"]["nodeName"] == source
    assert "MigrationCanceled" in [e.reason for e in dvp.events_about("stayer")]


def test_it_does_not_migrate_a_stopped_vm(dvp):
    dvp.create("virtualdisks", blank_disk("parked-root"))
    dvp.create("virtualmachines", vm_body("parked", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualmachines", "parked", "Stopped")
    failed = dvp.wait_phase("virtualmachineoperations", operation(dvp, "parked", "Evict"), "Failed")
    assert condition(failed, "Completed")["reason"] == "NotApplicableForVirtualMachinePhase"


def test_it_reports_a_vm_that_no_longer_matches_its_class_sizing_policy(dvp):
    name = f"narrow-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {
        "cpu": {"type": "Discovery"},
        "sizingPolicies": [{"cores": {"min": 1, "max": 4}, "memory": {"min": "1Gi", "max": "8Gi"}}]}})
    dvp.create("virtualmachines", vm_body("sized", disk="none", runPolicy="AlwaysOff", virtualMachineClassName=name))
    vm = dvp.wait("virtualmachines", "sized", lambda o: condition(o, "SizingPolicyMatched"))
    assert condition(vm, "SizingPolicyMatched")["status"] == "True"
    dvp.patch("virtualmachineclasses", name, {"spec": {"sizingPolicies": [
        {"cores": {"min": 1, "max": 4}, "memory": {"min": "2Gi", "max": "8Gi"}}]}})
    vm = dvp.wait("virtualmachines", "sized", lambda o: condition(o, "SizingPolicyMatched")["status"] == "False")
    assert condition(vm, "SizingPolicyMatched")["message"] == \
        f'Memory size 1Gi does not match the sizing policy of the VirtualMachineClass "{name}" for 1 cores: ' \
        "it must be between 2Gi and 8Gi."
