"""The user guide's "Creating a virtual machine" and "Virtual Machine Life Cycle", driven as the guide drives
them (kubectl for its `d8 k` commands, operations for `d8 v`)."""

import base64
import re
import shutil

import pytest

from tests.dvpsim.guide_examples import GUIDE
from tests.kube import blank_disk, condition, vm_body
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_vms.helpers import (
    control,
    Guest,
    kubectl,
    operation,
    phases,
    reasons,
    running_vm,
    SMALL,
    watch_phases,
    wide_columns,
)


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


# ---- Creating a virtual machine -----------------------------------------------------------------

def test_it_runs_the_guides_linux_vm_with_an_ip_from_the_vm_cidrs(sim, dvp, linux_vm):
    out = kubectl(sim, dvp, "get", "vm", "linux-vm").stdout
    header, row = out.splitlines()[:2]
    # dvp-api-notes.md §2: PHASE, UPTIME (.status.stats.lastStartTime), NODE, IPADDRESS, AGE (the guide omits UPTIME)
    assert header.split() == ["NAME", "PHASE", "UPTIME", "NODE", "IPADDRESS", "AGE"]
    assert re.match(r"linux-vm\s+Running\s+\S+\s+virtlab-pt-\d\s+10\.66\.10\.\d+\s+\S+$", row), row
    assert linux_vm["spec"]["cpu"] == {"cores": 1, "coreFraction": "10%"}
    assert linux_vm["status"]["resources"]["cpu"]["requestedCores"] == "100m"  # 10% of one core


def test_it_reports_the_agent_that_the_guides_cloud_init_installs(sim, dvp, linux_vm):
    vm = dvp.wait("virtualmachines", "linux-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    info = vm["status"]["guestOSInfo"]
    assert {"id", "name", "prettyName", "version", "versionId", "kernelRelease", "kernelVersion", "machine"} <= set(info)
    columns = wide_columns(sim, dvp, "linux-vm")
    assert (columns["CORES"], columns["COREFRACTION"], columns["MEMORY"]) == ("1", "10%", "1Gi")
    assert (columns["NEED RESTART"], columns["AGENT"], columns["MIGRATABLE"]) == ("False", "True", "True")
    assert "AgentReady" in reasons(dvp, "linux-vm")


# ---- Virtual Machine Life Cycle -----------------------------------------------------------------

def test_it_shows_the_running_conditions_the_guide_lists_and_no_complaints(dvp, linux_vm):
    vm = dvp.wait("virtualmachines", "linux-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    for type_, value in (("Running", "True"), ("BlockDevicesReady", "True"), ("VirtualMachineClassReady", "True"),
                         ("ProvisioningReady", "True"), ("FirmwareUpToDate", "True"), ("ConfigurationApplied", "True"),
                         ("SizingPolicyMatched", "True"), ("AwaitingRestartToApplyConfiguration", "False"),
                         ("Migratable", "True")):
        assert condition(vm, type_)["status"] == value, type_
    # `jq '.status.conditions[] | select(.message != "")'`: a healthy VM has nothing to say
    assert [c for c in vm["status"]["conditions"] if c.get("message")] == []


def test_it_holds_a_vm_pending_and_names_what_it_waits_for(dvp):
    dvp.create("virtualmachines", vm_body("waiting", cpu=dict(SMALL), user_data=None,
                                          provisioning={"type": "UserDataRef",
                                                        "userDataRef": {"kind": "Secret", "name": "waiting-init"}}))
    vm = dvp.wait("virtualmachines", "waiting", lambda o: condition(o, "ProvisioningReady"))
    assert vm["status"]["phase"] == "Pending"
    ready = {c["type"]: c for c in vm["status"]["conditions"] if c["type"].endswith("Ready")}
    assert (ready["BlockDevicesReady"]["status"], ready["BlockDevicesReady"]["message"]) == \
        ("False", 'Waiting for block devices to be ready: VirtualDisk "waiting-root" not found.')
    assert (ready["ProvisioningReady"]["status"], ready["ProvisioningReady"]["reason"]) == \
        ("False", "ProvisioningNotReady")
    assert ready["ProvisioningReady"]["message"] == f"Secret {dvp.namespace}/waiting-init not found"
    assert ready["VirtualMachineClassReady"]["status"] == "True"
    # no instance yet: status.resources shows what the spec asks for (topology included)
    assert vm["status"]["resources"]["cpu"]["topology"] == {"sockets": 1, "coresPerSocket": 1}
    dvp.create("virtualdisks", blank_disk("waiting-root"))
    dvp.core.create_namespaced_secret(dvp.namespace, {
        "metadata": {"name": "waiting-init"}, "type": "provisioning.virtualization.deckhouse.io/cloud-init",
        "data": {"userData": base64.b64encode(b"#cloud-config\n").decode()}})
    vm = dvp.wait_phase("virtualmachines", "waiting", "Running", timeout=30)
    assert phases(vm)[-3:] == ["Pending", "Starting", "Running"]
    dvp.delete("virtualmachines", "waiting")


def test_it_holds_a_crash_looping_vm_pending_and_its_run_policy_restarts_it(sim, dvp):
    before = running_vm(dvp, "crashy")
    since = before["metadata"]["resourceVersion"]
    status, answer = control(sim, dvp, "crashy", "fail")
    assert status == 202, answer
    seen = watch_phases(dvp, "crashy", since,
                        lambda o: phases(o)[-3:] == ["Pending", "Starting", "Running"] and
                        o["status"]["phase"] == "Running")
    looping = next(o for o in seen if o["status"]["phase"] == "Pending")
    running = condition(looping, "Running")
    assert (running["status"], running["reason"], running["message"]) == \
        ("False", "PodNotStarted", "The virtual machine repeatedly fails to start.")
    assert not looping["status"].get("nodeName") and not looping["status"].get("virtualMachinePods")
    # `jq '.status.conditions[] | select(.message != "")'` names the failure
    assert "Running" in [c["type"] for c in looping["status"]["conditions"] if c.get("message")]
    assert "InternalVirtualMachineError" not in reasons(dvp, "crashy")  # CrashLoopBackOff is a PodNotStarted
    # AlwaysOnUnlessStoppedManually: "In case of failures the VM operation is restored automatically"
    assert "VMRestarted" in reasons(dvp, "crashy", "Normal")
    after = seen[-1]
    assert condition(after, "Running")["status"] == "True"
    # a new instance: KubeVirt starts a fresh virt-launcher pod
    assert after["status"]["virtualMachinePods"][0]["name"] != before["status"]["virtualMachinePods"][0]["name"]
    dvp.delete("virtualmachines", "crashy")


def test_it_leaves_a_failed_manual_vm_pending_until_it_is_stopped(sim, dvp):
    running_vm(dvp, "fragile", policy="Manual")
    assert control(sim, dvp, "fragile", "fail", {"status": "Unknown"})[0] == 202
    vm = dvp.wait_phase("virtualmachines", "fragile", "Pending")
    running = condition(vm, "Running")
    assert (running["reason"], running["message"]) == \
        ("InternalVirtualMachineError", "The virtual machine state is temporarily unknown.")
    warnings = [e for e in dvp.events_about("fragile") if e.type == "Warning"]
    assert [(e.reason, e.message) for e in warnings] == [("InternalVirtualMachineError", 'printableStatus="Unknown"')]
    sim.control("clock", {"step": 60})  # far past KubeVirt's back-off: Manual restores nothing by itself
    assert dvp.get("virtualmachines", "fragile")["status"]["phase"] == "Pending"
    restart = operation(dvp, "fragile", "Restart")  # restart.go: a Restart does not apply to a Pending VM
    assert dvp.wait_phase("virtualmachineoperations", restart, "Failed", timeout=30)
    stop = operation(dvp, "fragile", "Stop")  # stop.go: a Stop does
    dvp.wait_phase("virtualmachineoperations", stop, "Completed", timeout=30)
    dvp.wait_phase("virtualmachines", "fragile", "Stopped")
    dvp.wait_phase("virtualmachineoperations", operation(dvp, "fragile", "Start"), "Completed", timeout=30)
    vm = dvp.wait_phase("virtualmachines", "fragile", "Running", timeout=30)
    assert condition(vm, "Running")["status"] == "True"
    dvp.delete("virtualmachines", "fragile")


async def test_it_crash_loops_a_vm_whose_guest_kernel_panics(sim, dvp):
    running_vm(dvp, "panicky", policy="Manual")
    async with Guest(sim, dvp, "panicky") as guest:
        await guest.login()
        assert "Permission denied" in await guest.run("echo c > /proc/sysrq-trigger")
        await guest.console.type("echo c | sudo tee /proc/sysrq-trigger\r")
        shown = await guest.dropped()
    assert "Kernel panic - not syncing: sysrq triggered crash" in shown
    vm = dvp.wait_phase("virtualmachines", "panicky", "Pending")
    assert condition(vm, "Running")["message"] == "The virtual machine repeatedly fails to start."
    stop = operation(dvp, "panicky", "Stop")  # stop.go: Stop applies to Pending
    dvp.wait_phase("virtualmachineoperations", stop, "Completed", timeout=30)
    assert dvp.get("virtualmachines", "panicky")["status"]["phase"] == "Stopped"
    dvp.delete("virtualmachines", "panicky")


async def test_it_pauses_a_vm_on_an_io_error_until_it_is_resumed_or_restarted(sim, dvp):
    running_vm(dvp, "stalled")
    async with Guest(sim, dvp, "stalled") as guest:
        await guest.login()
        assert control(sim, dvp, "stalled", "pause")[0] == 202
        vm = dvp.wait_phase("virtualmachines", "stalled", "Pause")
        running = condition(vm, "Running")
        assert (running["status"], running["reason"], running["message"]) == \
            ("False", "GuestNotRunning", "VMI was paused, low-level IO error detected")
        assert "Paused" in reasons(dvp, "stalled", "Warning")
        assert vm["status"]["nodeName"]  # the instance stays where it is
        assert not guest.console.ws.closed  # paused, not gone: the serial line stays open
        assert control(sim, dvp, "stalled", "resume")[0] == 202
        vm = dvp.wait_phase("virtualmachines", "stalled", "Running")
        assert condition(vm, "Running")["status"] == "True" and "Resumed" in reasons(dvp, "stalled")
        assert "\r\nstalled\r\n" in await guest.run("hostname")  # the same line, the same login
        assert phases(vm)[-2:] == ["Pause", "Running"]
    assert control(sim, dvp, "stalled", "pause")[0] == 202
    dvp.wait_phase("virtualmachines", "stalled", "Pause")
    restart = operation(dvp, "stalled", "Restart")  # dvp-api-notes.md §8.1: Restart applies to Pause
    dvp.wait_phase("virtualmachineoperations", restart, "Completed", timeout=30)
    assert phases(dvp.get("virtualmachines", "stalled"))[-4:] == ["Pause", "Stopping", "Starting", "Running"]
    assert control(sim, dvp, "stalled", "pause")[0] == 202
    dvp.wait_phase("virtualmachines", "stalled", "Pause")
    stop = operation(dvp, "stalled", "Stop")  # and Stop applies to Pause too
    dvp.wait_phase("virtualmachineoperations", stop, "Completed", timeout=30)
    assert phases(dvp.get("virtualmachines", "stalled"))[-3:] == ["Pause", "Stopping", "Stopped"]
    dvp.delete("virtualmachines", "stalled")


def test_it_releases_a_deleted_vm_but_keeps_its_disk(dvp):
    """Terminating: "All resources associated with the VM are released, but are not automatically deleted"."""
    running_vm(dvp, "gone")
    dvp.delete("virtualmachines", "gone")  # its Terminating phase: test_run_policies.py
    dvp.wait_gone("virtualmachines", "gone", timeout=30)
    disk = dvp.wait("virtualdisks", "gone-root", lambda o: not any(
        a.get("mounted") for a in o["status"].get("attachedToVirtualMachines") or []))
    assert disk["status"]["phase"] == "Ready" and "deletionTimestamp" not in disk["metadata"]


def test_it_refuses_to_fail_or_pause_a_vm_without_an_instance(sim, dvp):
    dvp.create("virtualmachines", vm_body("idle", disk="idle-none", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualmachines", "idle", "Stopped")
    for action in ("fail", "pause", "resume"):
        status, answer = control(sim, dvp, "idle", action)
        assert status == 409 and "phase Stopped" in answer["message"], answer
    status, answer = control(sim, dvp, "idle", "fail", {"status": "Degraded"})
    assert status == 400 and "CrashLoopBackOff" in answer["message"], answer
    assert control(sim, dvp, "no-such-vm", "fail")[0] == 404
    dvp.delete("virtualmachines", "idle")
