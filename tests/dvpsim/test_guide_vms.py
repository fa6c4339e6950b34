"""The user guide's "Virtual machines" sections (creation, life cycle, CPU and sizing policy, topology, guest agent,
connecting, run policies, configuration changes, initialization scripts), driven as the guide drives them:
kubectl for its `d8 k` commands, the serial console for what it types in the guest, operations for `d8 v`.

Phases the guide does not narrate but the CRD has are driven through dvpsim's control endpoints:
`POST /dvpsim/vms/<ns>/<name>/fail` (a crash loop: Pending), `.../pause` and `.../resume` (Pause).
"""

import asyncio
import base64
import json
import re
import shutil
import urllib.error

import aiohttp
import asyncssh
import pytest
import yaml
from kubernetes import client, watch

from tests.dvpsim.guide_examples import GUIDE, documents, examples
from tests.kube import GROUP, GUIDE_USER_DATA, VERSION, Dvp, blank_disk, condition, fresh_namespace, vm_body
from tests.guest import Console, PortForward, console_url, ssh
from tests.kubectl import KUBECTL, kubectl as run_kubectl

SECTION = (894, 1636)  # the guide's lines of the "Virtual machines" sections
AGENT_USER_DATA = "#cloud-config\npackages:\n  - qemu-guest-agent\n"
SMALL = {"cores": 1, "coreFraction": "10%"}

pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guide-vms"))
    dvp.classes = []
    yield dvp
    for vm in dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachines")["items"]:
        dvp.delete("virtualmachines", vm["metadata"]["name"])  # the shared nodes are not endless
    for vm in dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachines")["items"]:
        dvp.wait_gone("virtualmachines", vm["metadata"]["name"], timeout=60)
    dvp.core.delete_namespace(dvp.namespace)
    for name in dvp.classes:
        try:
            dvp.delete("virtualmachineclasses", name)
        except client.ApiException:
            pass


def kubectl(sim, dvp, *args, stdin=None):
    return run_kubectl(sim, "-n", dvp.namespace, *args, stdin=stdin, check=False)


def guide_example(kind, name=None, generate_name=None):
    """The YAML text of the guide's apply/create block (in this section) that makes `kind` `name`."""
    for line, verb, text in examples():
        if not SECTION[0] <= line <= SECTION[1]:
            continue
        for doc in documents(text):
            meta = doc.get("metadata") or {}
            if doc.get("kind") == kind and (meta.get("name") == name or meta.get("generateName") == generate_name):
                return verb, text
    raise AssertionError(f"no {kind} {name or generate_name} example in the guide's VM sections")


def running_vm(dvp, name, policy="AlwaysOnUnlessStoppedManually", user_data=GUIDE_USER_DATA, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    spec.setdefault("cpu", dict(SMALL))
    dvp.create("virtualmachines", vm_body(name, runPolicy=policy, user_data=user_data, **spec))
    if policy == "Manual":
        dvp.wait_phase("virtualmachines", name, "Stopped")
        dvp.wait_phase("virtualmachineoperations", operation(dvp, name, "Start"), "Completed")
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


def operation(dvp, vm, type_, **spec):
    return dvp.create("virtualmachineoperations", {
        "metadata": {"generateName": f"{vm}-{type_.lower()}-"},
        "spec": {"type": type_, "virtualMachineName": vm, **spec}})["metadata"]["name"]


def phases(vm):
    return [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]


def reasons(dvp, name, type_=None):
    return [e.reason for e in dvp.events_about(name) if type_ is None or e.type == type_]


def rejected(call, *args):
    with pytest.raises(client.ApiException) as info:
        call(*args)
    return info.value.status, json.loads(info.value.body)["message"]


def wide_columns(sim, dvp, name):
    """`kubectl get vm <name> -o wide` as {column: value}."""
    header, row = kubectl(sim, dvp, "get", "vm", name, "-o", "wide").stdout.splitlines()[:2]
    return dict(zip(re.split(r"\s{2,}", header.strip()), re.split(r"\s{2,}", row.strip())))


def control(sim, dvp, name, action, body=None):
    """POST a dvpsim control endpoint of the VM; (HTTP status, JSON answer)."""
    try:
        return 202, sim.control(f"vms/{dvp.namespace}/{name}/{action}", body or {})
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def watch_phases(dvp, name, since, until, timeout=30):
    """Every VM object a watch delivers from resourceVersion `since` until `until(obj)`; no transition is missed."""
    seen = []
    for event in watch.Watch().stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace,
                                      "virtualmachines", field_selector=f"metadata.name={name}",
                                      resource_version=since, timeout_seconds=timeout):
        seen.append(event["object"])
        if until(event["object"]):
            return seen
    raise AssertionError(f"{name} never got there: {[(o.get('status') or {}).get('phase') for o in seen]}")


class Guest:
    """The serial console of a VM, logged in as cloud/cloud (the guide's cloud-init user)."""

    def __init__(self, sim, dvp, name):
        self.sim, self.dvp, self.name = sim, dvp, name
        self.prompt = f"cloud@{name}:~$ "

    async def __aenter__(self):
        self.session = aiohttp.ClientSession()
        await self.connect()
        return self

    async def connect(self):
        ws = await self.session.ws_connect(console_url(self.sim, self.dvp, self.name), protocols=("plain.kubevirt.io",),
                                           headers={"Authorization": f"Bearer {self.sim.token('admin')}"})
        self.console = Console(ws)
        return self.console

    async def login(self):
        await self.console.type("\x03")
        await self.console.expect(f"{self.name} login: ")
        await self.console.type("cloud\rcloud\r")
        await self.console.expect(self.prompt)

    async def run(self, command, until=None):
        await self.console.type(command + "\r")
        return await self.console.expect(until or self.prompt)

    async def dropped(self):
        """Read until the server drops the line; returns what it showed last."""
        shown = self.console.buffer
        while True:
            message = await asyncio.wait_for(self.console.ws.receive(), 10)
            if message.type != aiohttp.WSMsgType.BINARY:
                return shown
            shown += message.data.decode()

    async def __aexit__(self, *exc):
        await self.console.ws.close()
        await self.session.close()


# ---- Creating a virtual machine -----------------------------------------------------------------

@pytest.fixture(scope="module")
def linux_vm(sim, dvp):
    """The guide's linux-vm, applied with kubectl from the guide's own YAML, on a disk named as in the guide."""
    dvp.create("virtualdisks", blank_disk("linux-vm-root", "10Gi"))
    _, text = guide_example("VirtualMachine", "linux-vm")
    applied = kubectl(sim, dvp, "apply", "-f", "-", stdin=text)
    assert applied.returncode == 0, applied.stderr
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm created" in applied.stdout
    return dvp.wait_phase("virtualmachines", "linux-vm", "Running", timeout=30)


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


# ---- Configuring CPU and coreFraction -----------------------------------------------------------

def test_it_guarantees_each_core_its_fraction(dvp):
    vm = running_vm(dvp, "shares", cpu={"cores": 2, "coreFraction": "10%"}, memory="2Gi")
    assert vm["status"]["resources"]["cpu"] == {"cores": 2, "coreFraction": "10%", "requestedCores": "200m",
                                                "runtimeOverhead": "0",
                                                "topology": {"sockets": 1, "coresPerSocket": 2}}
    # "If the coreFraction parameter is not defined, each VM virtual core is allocated 100%"
    whole = dvp.create("virtualmachines", vm_body("whole", disk="whole-none", runPolicy="AlwaysOff"))
    assert whole["spec"]["cpu"]["coreFraction"] == "100%"
    dvp.delete("virtualmachines", "shares")
    dvp.delete("virtualmachines", "whole")


def test_it_places_a_vm_only_where_its_guaranteed_share_fits(dvp, open_class):
    """18 whole cores fit on none of the 16-CPU nodes; the same 18 cores at 10% (1.8 CPU guaranteed) do."""
    dvp.create("virtualdisks", blank_disk("greedy-root"))
    greedy = vm_body("greedy", cores=18, virtualMachineClassName=open_class)
    greedy["spec"]["cpu"] = {"cores": 18, "coreFraction": "100%"}
    dvp.create("virtualmachines", greedy)
    vm = dvp.wait("virtualmachines", "greedy",
                  lambda o: "nodes are available" in ((condition(o, "Running") or {}).get("message") or ""))
    assert "Insufficient cpu" in condition(vm, "Running")["message"] and not vm["status"].get("nodeName")
    dvp.delete("virtualmachines", "greedy")
    dvp.wait_gone("virtualmachines", "greedy", timeout=30)
    greedy["spec"]["cpu"]["coreFraction"] = "10%"
    dvp.create("virtualmachines", greedy)
    vm = dvp.wait_phase("virtualmachines", "greedy", "Running", timeout=30)
    assert vm["status"]["resources"]["cpu"]["requestedCores"] == "1800m"
    assert vm["status"]["resources"]["cpu"]["topology"] == {"sockets": 2, "coresPerSocket": 9}
    dvp.delete("virtualmachines", "greedy")


# ---- Virtual machine resource configuration and sizing policy ------------------------------------

@pytest.fixture(scope="module")
def guide_class(dvp):
    """A class with the guide's sizing policy (its v1alpha2 integers for coreFractions)."""
    name = f"guide-sizing-{dvp.namespace}"
    policies = yaml.safe_load("""
    - cores: {min: 1, max: 4}
      memory: {min: 1Gi, max: 8Gi}
      coreFractions: [5, 10, 20, 50, 100]
    - cores: {min: 5, max: 8}
      memory: {min: 5Gi, max: 16Gi}
      coreFractions: [20, 50, 100]
    """)
    dvp.create("virtualmachineclasses", {"metadata": {"name": name},
                                         "spec": {"cpu": {"type": "Discovery"}, "sizingPolicies": policies}})
    dvp.classes.append(name)
    return name


@pytest.mark.parametrize("cores, memory, fraction, refusal", [
    (2, "4Gi", "10%", None),
    (6, "6Gi", "20%", None),
    (2, "9Gi", "10%", "it must be between 1Gi and 8Gi"),
    (2, "4Gi", "15%", "allowed values are 5%, 10%, 20%, 50%, 100%"),
    (6, "4Gi", "50%", "it must be between 5Gi and 16Gi"),
    (6, "6Gi", "10%", "allowed values are 20%, 50%, 100%"),
    (9, "9Gi", "100%", "does not match any sizing policy"),
])
def test_it_saves_only_a_configuration_inside_the_guides_sizing_policy(dvp, guide_class, cores, memory, fraction,
                                                                      refusal):
    name = f"sized-{cores}-{memory.lower()}-{fraction.rstrip('%')}"
    body = vm_body(name, disk="none", memory=memory, runPolicy="AlwaysOff", virtualMachineClassName=guide_class)
    body["spec"]["cpu"] = {"cores": cores, "coreFraction": fraction}
    if refusal is None:
        created = dvp.create("virtualmachines", body)
        vm = dvp.wait("virtualmachines", name, lambda o: condition(o, "SizingPolicyMatched"))
        assert condition(vm, "SizingPolicyMatched")["status"] == "True"
        dvp.delete("virtualmachines", created["metadata"]["name"])
        return
    status, message = rejected(dvp.create, "virtualmachines", body)
    assert status == 403 and refusal in message, message


def test_it_keeps_a_vm_that_breaks_a_new_policy_running_but_refuses_its_changes(dvp, guide_class):
    body = vm_body("legacy", memory="2Gi", runPolicy="AlwaysOn", virtualMachineClassName=guide_class)
    body["spec"]["cpu"] = {"cores": 2, "coreFraction": "10%"}
    dvp.create("virtualdisks", blank_disk("legacy-root"))
    dvp.create("virtualmachines", body)
    dvp.wait_phase("virtualmachines", "legacy", "Running", timeout=30)
    dvp.patch("virtualmachineclasses", guide_class, {"spec": {"sizingPolicies": [
        {"cores": {"min": 1, "max": 4}, "memory": {"min": "4Gi", "max": "8Gi"}, "coreFractions": [5, 10, 20, 50, 100]},
        {"cores": {"min": 5, "max": 8}, "memory": {"min": "5Gi", "max": "16Gi"}, "coreFractions": [20, 50, 100]}]}})
    vm = dvp.wait("virtualmachines", "legacy", lambda o: condition(o, "SizingPolicyMatched")["status"] == "False")
    assert vm["status"]["phase"] == "Running"  # "will continue to run"
    assert "it must be between 4Gi and 8Gi" in condition(vm, "SizingPolicyMatched")["message"]
    # "any changes to their configuration cannot be saved until they comply with the new policy"
    status, message = rejected(dvp.patch, "virtualmachines", "legacy", {"spec": {"runPolicy": "Manual"}})
    assert status == 403 and "between 4Gi and 8Gi" in message
    dvp.patch("virtualmachines", "legacy", {"spec": {"memory": {"size": "4Gi"}}})  # brought into compliance
    vm = dvp.wait("virtualmachines", "legacy", lambda o: condition(o, "SizingPolicyMatched")["status"] == "True")
    assert {"operation": "replace", "path": "memory.size", "currentValue": "2Gi", "desiredValue": "4Gi"} in \
        dvp.wait("virtualmachines", "legacy", lambda o: o["status"].get("restartAwaitingChanges"))[
            "status"]["restartAwaitingChanges"]
    dvp.delete("virtualmachines", "legacy")


# ---- Automatic CPU topology configuration -------------------------------------------------------

@pytest.fixture(scope="module")
def open_class(dvp):
    """A class without a sizing policy: any number of cores the topology allows."""
    name = f"open-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {"cpu": {"type": "Discovery"}}})
    dvp.classes.append(name)
    return name


@pytest.mark.parametrize("cores, sockets, per_socket", [
    (1, 1, 1), (8, 1, 8), (16, 1, 16),                  # 1-16: one socket, step 1
    (18, 2, 9), (20, 2, 10), (32, 2, 16),               # 17-32: two sockets, step 2
    (36, 4, 9), (40, 4, 10), (64, 4, 16),               # 33-64: four sockets, step 4
    (72, 8, 9), (80, 8, 10), (248, 8, 31),              # 65-248: eight sockets, step 8
])
def test_it_spreads_the_cores_over_sockets(dvp, open_class, cores, sockets, per_socket):
    name = f"topology-{cores}"
    dvp.create("virtualmachines", vm_body(name, disk="none", cores=cores, memory="1Gi", runPolicy="AlwaysOff",
                                          virtualMachineClassName=open_class))
    vm = dvp.wait("virtualmachines", name, lambda o: (o.get("status") or {}).get("resources"))
    assert vm["status"]["resources"]["cpu"]["topology"] == {"sockets": sockets, "coresPerSocket": per_socket}
    assert vm["status"]["resources"]["cpu"]["cores"] == cores
    dvp.delete("virtualmachines", name)


@pytest.mark.parametrize("cores, words", [
    (17, "multiple of 2"), (31, "multiple of 2"),
    (34, "multiple of 4"), (62, "multiple of 4"),
    (66, "multiple of 8"), (244, "multiple of 8"),
    (256, "at most 248 cores"),
])
def test_it_refuses_cores_off_the_socket_step(dvp, open_class, cores, words):
    status, message = rejected(dvp.create, "virtualmachines",
                               vm_body(f"off-step-{cores}", disk="none", cores=cores, runPolicy="AlwaysOff",
                                       virtualMachineClassName=open_class))
    assert status == 403 and words in message and f"number of cores {cores} is not valid" in message, message


# ---- Guest OS agent ---------------------------------------------------------------------------

async def test_it_connects_an_agent_installed_in_the_guest_by_hand(sim, dvp):
    running_vm(dvp, "bare")
    vm = dvp.get("virtualmachines", "bare")
    agent = condition(vm, "AgentReady")
    assert (agent["status"], agent["reason"], agent["message"]) == \
        ("False", "AgentNotReady", "Failed to connect to VM Agent.")
    assert "guestOSInfo" not in vm["status"]
    assert wide_columns(sim, dvp, "bare")["AGENT"] == "False"
    async with Guest(sim, dvp, "bare") as guest:
        await guest.login()
        assert "not found" in await guest.run("sudo systemctl enable --now qemu-guest-agent")
        assert "Permission denied" in await guest.run("apt install qemu-guest-agent")
        assert "Setting up qemu-guest-agent" in await guest.run("sudo apt install qemu-guest-agent")
        await guest.run("sudo systemctl enable --now qemu-guest-agent")
    vm = dvp.wait("virtualmachines", "bare", lambda o: condition(o, "AgentReady")["status"] == "True")
    assert vm["status"]["guestOSInfo"]["id"] == "ubuntu"
    assert "AgentReady" in reasons(dvp, "bare")
    dvp.delete("virtualmachines", "bare")


# ---- Connecting to a virtual machine ------------------------------------------------------------

async def test_it_lets_the_cloud_init_user_in_over_ssh_through_port_forwarding(sim, dvp, linux_vm):
    assert await ssh(sim, dvp, "linux-vm", "hostname") == "linux-vm\n"
    with pytest.raises(asyncssh.PermissionDenied):
        await ssh(sim, dvp, "linux-vm", "hostname", password="wrong")
    async with PortForward(sim, dvp, "linux-vm", port=8080) as sock:  # nothing listens there
        sock.settimeout(10)
        assert await asyncio.get_running_loop().run_in_executor(None, sock.recv, 1) == b""
    # an interactive shell, like `d8 v ssh cloud@linux-vm --local-ssh`
    async with PortForward(sim, dvp, "linux-vm") as sock:
        async with asyncssh.run_client(sock, username="cloud", password="cloud", known_hosts=None) as conn:
            process = await conn.create_process(term_type="xterm")
            assert await process.stdout.readuntil("cloud@linux-vm:~$ ")
            process.stdin.write("whoami\r")
            assert "cloud" in await process.stdout.readuntil("cloud@linux-vm:~$ ")
            process.stdin.write("exit\r")
            await process.wait_closed()


def test_it_refuses_port_forwarding_to_a_stopped_vm(sim, dvp):
    dvp.create("virtualmachines", vm_body("unreachable", disk="unreachable-none", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualmachines", "unreachable", "Stopped")

    async def attempt():
        async with aiohttp.ClientSession() as session:
            url = console_url(sim, dvp, "unreachable").replace("/console", "/portforward?port=22")
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(url, headers={"Authorization": f"Bearer {sim.token('admin')}"})
            return info.value.status
    assert asyncio.run(attempt()) == 500  # dvp-api-notes.md §5: "VirtualMachine is not Running or Migrating"
    dvp.delete("virtualmachines", "unreachable")


# ---- Virtual machine startup policy and state management -----------------------------------------

def test_it_keeps_an_always_off_vm_off_whatever_operation_asks(dvp):
    dvp.create("virtualdisks", blank_disk("dark-root"))
    dvp.create("virtualmachines", vm_body("dark", runPolicy="AlwaysOff", cpu=dict(SMALL)))
    vm = dvp.wait_phase("virtualmachines", "dark", "Stopped")
    assert "nodeName" not in vm["status"] and condition(vm, "AgentReady") is None
    failed = dvp.wait_phase("virtualmachineoperations", operation(dvp, "dark", "Start"), "Failed")
    assert condition(failed, "Completed")["reason"] == "NotApplicableForVirtualMachineRunPolicy"
    assert dvp.get("virtualmachines", "dark")["status"]["phase"] == "Stopped"
    dvp.delete("virtualmachines", "dark")


def test_it_refuses_to_stop_an_always_on_vm_with_an_operation(dvp):
    running_vm(dvp, "steady", policy="AlwaysOn")
    failed = dvp.wait_phase("virtualmachineoperations", operation(dvp, "steady", "Stop"), "Failed")
    completed = condition(failed, "Completed")
    assert (completed["reason"], completed["message"]) == (
        "NotApplicableForVirtualMachineRunPolicy",
        "Operation type Stop is not applicable for VirtualMachine with runPolicy AlwaysOn")
    assert dvp.get("virtualmachines", "steady")["status"]["phase"] == "Running"
    dvp.delete("virtualmachines", "steady")


async def test_it_keeps_a_manual_vm_stopped_after_a_shutdown_from_inside(sim, dvp):
    running_vm(dvp, "handheld", policy="Manual")
    async with Guest(sim, dvp, "handheld") as guest:
        await guest.login()
        assert "Powering off" in await guest.run("sudo shutdown -h now")
    vm = dvp.wait_phase("virtualmachines", "handheld", "Stopped", timeout=30)
    assert phases(vm)[-2:] == ["Stopping", "Stopped"]
    sim.control("clock", {"step": 60})
    assert dvp.get("virtualmachines", "handheld")["status"]["phase"] == "Stopped"
    assert "GuestPoweredOff" in reasons(dvp, "handheld")
    dvp.delete("virtualmachines", "handheld")


# ---- Change virtual machine configuration --------------------------------------------------------

def test_it_applies_the_immediate_fields_without_asking_for_a_restart(dvp):
    before = running_vm(dvp, "tweak")
    dvp.patch("virtualmachines", "tweak", {
        "metadata": {"annotations": {"example.com/owner": "team-a"}},
        "spec": {"liveMigrationPolicy": "AlwaysSafe", "runPolicy": "Manual",
                 "disruptions": {"restartApprovalMode": "Automatic"}}})
    vm = dvp.wait("virtualmachines", "tweak", lambda o: condition(o, "VirtualMachineClassReady").get(
        "observedGeneration") == o["metadata"]["generation"])  # reconciled after the patch
    assert not vm["status"].get("restartAwaitingChanges")
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "False"
    assert vm["status"]["stats"]["lastStartTime"] == before["status"]["stats"]["lastStartTime"]
    # runPolicy applies at once: AlwaysOff stops the running VM
    dvp.patch("virtualmachines", "tweak", {"spec": {"runPolicy": "AlwaysOff"}})
    dvp.wait_phase("virtualmachines", "tweak", "Stopped", timeout=30)
    dvp.delete("virtualmachines", "tweak")


def test_it_takes_a_stopped_vms_changes_at_its_next_start(dvp):
    dvp.create("virtualdisks", blank_disk("later-root"))
    dvp.create("virtualmachines", vm_body("later", runPolicy="Manual", cpu=dict(SMALL)))
    dvp.wait_phase("virtualmachines", "later", "Stopped")
    dvp.patch("virtualmachines", "later", {"spec": {"cpu": {"cores": 2}}})
    vm = dvp.wait("virtualmachines", "later",
                  lambda o: ((o.get("status") or {}).get("resources") or {}).get("cpu", {}).get("cores") == 2)
    assert not vm["status"].get("restartAwaitingChanges")
    dvp.wait_phase("virtualmachineoperations", operation(dvp, "later", "Start"), "Completed", timeout=30)
    vm = dvp.get("virtualmachines", "later")
    assert vm["status"]["resources"]["cpu"]["cores"] == 2 and not vm["status"].get("restartAwaitingChanges")
    dvp.delete("virtualmachines", "later")


async def test_it_narrates_the_cores_change_of_the_guide(sim, dvp, linux_vm):
    """nproc 1 → patch cores 2 → still 1, restartAwaitingChanges, NEED RESTART True → a reboot inside the guest
    changes nothing (KubeVirt keeps the instance) → the guide's Restart operation → nproc 2, nothing pending."""
    assert await ssh(sim, dvp, "linux-vm", "nproc") == "1\n"
    async with Guest(sim, dvp, "linux-vm") as guest:
        await guest.login()
        assert "\r\n1\r\n" in await guest.run("nproc")
        patched = kubectl(sim, dvp, "patch", "vm", "linux-vm", "--type", "merge", "-p", '{"spec":{"cpu":{"cores":2}}}')
        assert "virtualmachine.virtualization.deckhouse.io/linux-vm patched" in patched.stdout, patched.stderr
        vm = dvp.wait("virtualmachines", "linux-vm", lambda o: o["status"].get("restartAwaitingChanges"))
        assert await ssh(sim, dvp, "linux-vm", "nproc") == "1\n"
        changes = json.loads(kubectl(sim, dvp, "get", "vm", "linux-vm", "-o",
                                     "jsonpath={.status.restartAwaitingChanges}").stdout)
        assert changes == [{"currentValue": 1, "desiredValue": 2, "operation": "replace", "path": "cpu.cores"}]
        applied = condition(vm, "ConfigurationApplied")
        assert (applied["status"], applied["reason"], applied["message"]) == \
            ("False", "ConfigurationNotApplied", "Waiting for restart from user.")
        assert wide_columns(sim, dvp, "linux-vm")["NEED RESTART"] == "True"

        # A reboot from inside the guest: the serial line shows it and drops (1006); the VM stays Running.
        started, pods = vm["status"]["stats"]["lastStartTime"], vm["status"]["virtualMachinePods"]
        await guest.console.type("sudo reboot\r")
        shown = await guest.dropped()
        assert "reboot: Restarting system" in shown
        assert guest.console.ws.close_code == 1006
        console = await guest.connect()
        booted = await console.expect("linux-vm login: ")
        assert "Linux version" in booted  # a fresh boot log and login prompt
        vm = dvp.get("virtualmachines", "linux-vm")
        assert vm["status"]["phase"] == "Running" and vm["status"]["stats"]["lastStartTime"] == started
        assert vm["status"]["virtualMachinePods"] == pods  # the same instance, the same virt-launcher pod
        assert vm["status"]["restartAwaitingChanges"] == changes  # not applied by an in-guest reboot
        await console.type("cloud\rcloud\r")
        await console.expect(guest.prompt)
        assert "\r\n1\r\n" in await guest.run("nproc")

    # `d8 v restart linux-vm` = the guide's VirtualMachineOperation
    verb, text = guide_example("VirtualMachineOperation", generate_name="restart-linux-vm-")
    created = kubectl(sim, dvp, verb, "-f", "-", stdin=text)
    assert created.returncode == 0, created.stderr
    op = re.search(r"virtualmachineoperation\.virtualization\.deckhouse\.io/(restart-linux-vm-\w+) created",
                   created.stdout).group(1)
    dvp.wait_phase("virtualmachineoperations", op, "Completed", timeout=30)
    listed = kubectl(sim, dvp, "get", "vmop").stdout
    assert re.search(rf"{op}\s+Completed\s+(\S+\s+)?Restart\s+linux-vm\s+", listed), listed
    vm = dvp.get("virtualmachines", "linux-vm")
    assert not vm["status"].get("restartAwaitingChanges")
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "False"
    assert await ssh(sim, dvp, "linux-vm", "nproc") == "2\n"


# ---- Initialization scripts ---------------------------------------------------------------------

def test_it_accepts_inline_user_data_up_to_2048_bytes(dvp):
    def sized(name, size):
        body = vm_body(name, disk="none", runPolicy="AlwaysOff")
        body["spec"]["provisioning"]["userData"] = "#cloud-config\n#" + "x" * (size - 16) + "\n"
        assert len(body["spec"]["provisioning"]["userData"].encode()) == size
        return body
    dvp.create("virtualmachines", sized("init-2048", 2048))
    status, message = rejected(dvp.create, "virtualmachines", sized("init-2049", 2049))
    assert status == 422 and "`userData` exceeds 2048 byte limit" in message
    dvp.delete("virtualmachines", "init-2048")


async def test_it_boots_with_the_cloud_init_of_a_secret(sim, dvp):
    user_data = ("#cloud-config\nusers:\n  - name: admin\n    plain_text_passwd: s3cret\n    lock_passwd: false\n"
                 "    sudo: ALL=(ALL) NOPASSWD:ALL\n")
    dvp.core.create_namespaced_secret(dvp.namespace, {
        "metadata": {"name": "cloud-init-example"}, "type": "provisioning.virtualization.deckhouse.io/cloud-init",
        "data": {"userData": base64.b64encode(user_data.encode()).decode()}})
    dvp.create("virtualdisks", blank_disk("from-secret-root"))
    dvp.create("virtualmachines", vm_body("from-secret", cpu=dict(SMALL), user_data=None, provisioning={
        "type": "UserDataRef", "userDataRef": {"kind": "Secret", "name": "cloud-init-example"}}))
    vm = dvp.wait_phase("virtualmachines", "from-secret", "Running", timeout=30)
    assert condition(vm, "ProvisioningReady")["status"] == "True"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(console_url(sim, dvp, "from-secret"), protocols=("plain.kubevirt.io",),
                                      headers={"Authorization": f"Bearer {sim.token('admin')}"})
        console = Console(ws)
        await console.expect("from-secret login: ")
        await console.type("admin\rs3cret\r")
        await console.expect("admin@from-secret:~$ ")
        await ws.close()
    dvp.delete("virtualmachines", "from-secret")


@pytest.mark.parametrize("secret_type, data, message", [
    ("Opaque", {"userData": "I2Nsb3VkLWNvbmZpZwo="}, "Unexpected secret type: Opaque"),
    ("provisioning.virtualization.deckhouse.io/cloud-init", {"script": "I2Nsb3VkLWNvbmZpZwo="},
     'the secret should have one of data fields [userdata userData]: secret is not valid'),
])
def test_it_waits_for_a_usable_cloud_init_secret(dvp, secret_type, data, message):
    name = f"bad-init-{secret_type.split('/')[-1].lower()}"
    dvp.core.create_namespaced_secret(dvp.namespace, {"metadata": {"name": name}, "type": secret_type, "data": data})
    dvp.create("virtualmachines", vm_body(name, disk="none", cpu=dict(SMALL), user_data=None, provisioning={
        "type": "UserDataRef", "userDataRef": {"kind": "Secret", "name": name}}))
    vm = dvp.wait("virtualmachines", name, lambda o: condition(o, "ProvisioningReady"))
    assert vm["status"]["phase"] == "Pending"
    ready = condition(vm, "ProvisioningReady")
    assert ready["status"] == "False" and message in ready["message"], ready
    dvp.delete("virtualmachines", name)


def test_it_boots_windows_with_a_sysprep_secret(dvp):
    dvp.core.create_namespaced_secret(dvp.namespace, {
        "metadata": {"name": "sysprep-example"}, "type": "provisioning.virtualization.deckhouse.io/sysprep",
        "data": {"unattend.xml": base64.b64encode(b"<unattend xmlns='urn:schemas-microsoft-com:unattend'/>").decode()}})
    dvp.create("virtualdisks", blank_disk("windows-root"))
    dvp.create("virtualmachines", vm_body("windows", cpu=dict(SMALL), user_data=None, osType="Windows", provisioning={
        "type": "SysprepRef", "sysprepRef": {"kind": "Secret", "name": "sysprep-example"}}))
    vm = dvp.wait_phase("virtualmachines", "windows", "Running", timeout=30)
    assert condition(vm, "ProvisioningReady")["status"] == "True"
    assert vm["spec"]["provisioning"]["sysprepRef"] == {"kind": "Secret", "name": "sysprep-example"}
    dvp.delete("virtualmachines", "windows")
