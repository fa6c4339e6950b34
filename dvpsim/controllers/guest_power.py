"""What happens when the guest itself powers off (`poweroff` in its console), as DVP's run policies decide.

KubeVirt sees the VM instance finish; DVP then starts it again under `AlwaysOn`, and leaves it Stopped under the
other policies (a shutdown from inside counts as a manual stop for `AlwaysOnUnlessStoppedManually`).

Also what else the guest or its hypervisor can do to a running VM: reboot from inside (the instance stays, so
changes awaiting a restart stay pending), crash (phase Pending, KubeVirt's CrashLoopBackOff), pause on an I/O error (phase Pause), and a
qemu-guest-agent installed by hand.
"""

import asyncio

from dvpsim import kinds
from dvpsim.controllers import power

_PENDING = set()  # keeps the scheduled reactions alive until they run


GUEST_SHUTDOWN_SECONDS = 1.0  # the guest's own shutdown, before KubeVirt sees the instance finish


def powered_off(cluster, namespace: str, name: str):
    """Called by the guest session (synchronously, while it answers the command): acts once the guest is down."""
    task = asyncio.get_running_loop().create_task(_after_shutdown(cluster, namespace, name))
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def _after_shutdown(cluster, namespace, name):
    await cluster.clock.sleep(GUEST_SHUTDOWN_SECONDS)
    vm = cluster.store.get(kinds.get("VirtualMachine"), namespace, name)
    if vm is None or (vm.get("status") or {}).get("phase") not in ("Running", "Migrating"):
        return
    state = power.of(cluster, vm)
    state.force = True  # the guest is already down: no graceful shutdown to wait for
    if vm["spec"].get("runPolicy") == "AlwaysOn":
        state.on = True
        state.restart = True
        message = "The guest OS powered off: the run policy AlwaysOn starts the virtual machine again"
    else:
        state.on = False
        message = "The guest OS powered off: the virtual machine is stopped"
    cluster.record_event(vm, "Normal", "GuestPoweredOff", message)
    power.wake(cluster, vm)


RUNNING = ("Running", "Migrating")


def _vm(cluster, namespace, name):
    return cluster.store.get(kinds.get("VirtualMachine"), namespace, name)


def rebooted(cluster, namespace: str, name: str):
    """A reboot inside the guest (`reboot`, `shutdown -r now`): KubeVirt keeps the instance and its pod, so the
    phase stays Running, the uptime and node stay, and restartAwaitingChanges are not applied; the agent
    reconnects once the OS is up again."""
    vm = _vm(cluster, namespace, name)
    if vm is None or (vm.get("status") or {}).get("phase") not in RUNNING:
        return
    state = power.of(cluster, vm)
    state.reboots += 1
    state.agent_check = True
    power.wake(cluster, vm)


def agent_started(cluster, namespace: str, name: str):
    """`apt install qemu-guest-agent` / `systemctl enable --now qemu-guest-agent` in the guest."""
    vm = _vm(cluster, namespace, name)
    if vm is None:
        return
    state = power.of(cluster, vm)
    state.agent_installed = True
    if (vm.get("status") or {}).get("phase") in RUNNING:
        state.agent_check = True
        power.wake(cluster, vm)


def crashed(cluster, namespace: str, name: str, printable_status: str = "CrashLoopBackOff") -> bool:
    """The VM's instance fails (a control endpoint, or a guest kernel panic) and KubeVirt reports `printable_status`:
    the VM goes Pending (vm_failures). False when the VM has no instance to fail."""
    vm = _vm(cluster, namespace, name)
    # (not while Migrating: the migration owns the phase until it ends)
    if vm is None or (vm.get("status") or {}).get("phase") not in ("Running", "Starting", "Pause"):
        return False
    power.of(cluster, vm).fault = printable_status
    power.wake(cluster, vm)
    return True


def paused(cluster, namespace: str, name: str, reason: str = "IOError") -> bool:
    """KubeVirt pauses a running guest on an I/O error (a full or failed disk): the VM goes to phase Pause."""
    vm = _vm(cluster, namespace, name)
    if vm is None or (vm.get("status") or {}).get("phase") != "Running":
        return False
    power.of(cluster, vm).paused = reason
    power.wake(cluster, vm)
    return True


def resumed(cluster, namespace: str, name: str) -> bool:
    """The cause is gone and the instance is unpaused (KubeVirt's unpause; DVP has no subresource for it)."""
    vm = _vm(cluster, namespace, name)
    if vm is None or (vm.get("status") or {}).get("phase") != "Pause":
        return False
    power.of(cluster, vm).paused = ""
    power.wake(cluster, vm)
    return True
