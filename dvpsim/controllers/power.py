"""What each VM should be doing, as decided by its run policy and the operations applied to it.

Shared by the VM and VMOP controllers of one cluster; keyed by VM uid.
"""

import weakref
from dataclasses import dataclass

_BY_CLUSTER = weakref.WeakKeyDictionary()
_WAKERS = weakref.WeakKeyDictionary()


@dataclass
class Power:
    on: bool
    restart: bool = False     # a restart has been asked for and not yet begun
    force: bool = False       # the pending stop/restart skips the graceful shutdown
    boots: int = 0            # how many times the VM reached Running
    fault: str = ""           # KubeVirt's printable status of a failed instance (Pending until restarted)
    paused: str = ""          # why KubeVirt paused the guest (Pause until resumed, restarted or stopped)
    reboots: int = 0          # reboots from inside the guest (the instance and its pod stay)
    agent_installed: bool = False  # qemu-guest-agent installed by hand in the guest (kept on its disk)
    agent_check: bool = False      # the guest agent may have come or gone: reconcile it


def of(cluster, vm: dict) -> Power:
    table = _BY_CLUSTER.setdefault(cluster, {})
    uid = vm["metadata"]["uid"]
    if uid not in table:
        table[uid] = Power(on=_initially_on(vm))
    return table[uid]


def forget(cluster, uid: str):
    _BY_CLUSTER.get(cluster, {}).pop(uid, None)


def _initially_on(vm: dict) -> bool:
    policy = vm.get("spec", {}).get("runPolicy", "AlwaysOnUnlessStoppedManually")
    phase = (vm.get("status") or {}).get("phase")
    if policy == "AlwaysOn":
        return True
    if policy == "AlwaysOff":
        return False
    if phase in ("Running", "Starting", "Migrating", "Pause", "Degraded"):
        return True  # after a simulator restart, keep running what ran
    if phase in ("Stopped", "Stopping"):
        return False
    return policy == "AlwaysOnUnlessStoppedManually"


def on_wake(cluster, callback):
    """Register the VM controller's kick(namespace, name): called when a VM's power state changes."""
    _WAKERS[cluster] = callback


def wake(cluster, vm: dict):
    callback = _WAKERS.get(cluster)
    if callback is not None:
        callback(vm["metadata"]["namespace"], vm["metadata"]["name"])
