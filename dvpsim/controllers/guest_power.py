"""What happens when the guest itself powers off (`poweroff` in its console), as DVP's run policies decide.

KubeVirt sees the VM instance finish; DVP then starts it again under `AlwaysOn`, and leaves it Stopped under the
other policies (a shutdown from inside counts as a manual stop for `AlwaysOnUnlessStoppedManually`).
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
