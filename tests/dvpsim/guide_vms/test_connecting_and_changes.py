"""The user guide's "Connecting to a virtual machine", "Virtual machine startup policy and state management",
"Change virtual machine configuration" and "Initialization scripts"."""

import asyncio
import base64
import json
import re
import shutil

import aiohttp
import asyncssh
import pytest

from tests.dvpsim.guide_examples import GUIDE
from tests.kube import blank_disk, condition, vm_body
from tests.guest import Console, PortForward, console_url, ssh
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_vms.helpers import (
    Guest,
    guide_example,
    kubectl,
    operation,
    phases,
    reasons,
    rejected,
    running_vm,
    SMALL,
    wide_columns,
)


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


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
