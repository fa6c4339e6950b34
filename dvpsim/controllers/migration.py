"""A VM's live migration as the VM shows it, shared by the VirtualMachineOperation controller (Evict, Migrate)
and the disk controller (a storage-class change moves the volume with a live migration of its VM)."""

import secrets

from dvpsim import kinds, scheduling
from dvpsim.controllers import firmware
from dvpsim.controllers.base import remove_condition, set_condition, status_of


def pick_target(controller, vm, source):
    """(node, None) the VM can live-migrate to, or (None, why): any node but its own that fits."""
    vm_kind = kinds.get("VirtualMachine")
    nodes = [n for n in controller.cluster.store.list(kinds.get("Node")) if n["metadata"]["name"] != source]
    placed = [v for v in controller.cluster.store.list(vm_kind)
              if (v.get("status") or {}).get("nodeName") and v["metadata"]["uid"] != vm["metadata"]["uid"]]
    vmclass = controller.get(None, vm["spec"].get("virtualMachineClassName"), kinds.get("VirtualMachineClass")) or {}
    # The target pod cannot land on the source node (virt-launcher pods of one VM repel each other).
    return scheduling.place(vm, nodes, placed, (vmclass.get("spec") or {}).get("nodeSelector"),
                            (vmclass.get("spec") or {}).get("tolerations") or ())


def set_vm_migration(controller, vm, phase, migration_state, migrating, node=None):
    """Write the VM's phase, migrationState and Migrating condition; with `node`, the VM now runs there."""
    vm_kind = kinds.get("VirtualMachine")
    cluster = controller.cluster
    status = status_of(vm)
    if status.get("phase") != phase:
        status["phase"] = phase
        transitions = status.setdefault("stats", {}).setdefault("phasesTransitions", [])
        transitions.append({"phase": phase, "timestamp": cluster.clock.timestamp()})
        del transitions[:-5]
    status["migrationState"] = migration_state
    if node:
        status["nodeName"] = node
        status["versions"] = firmware.current(cluster)  # the target's virt-launcher runs today's firmware
        # The target's virt-launcher Pod takes over; the source Pod goes (dvpsim.controllers.launchers).
        suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        status["virtualMachinePods"] = [{"name": f"virt-launcher-{vm['metadata']['name']}-{suffix}", "active": True}]
    if migrating:
        set_condition(cluster, status, "Migrating", *migrating)
    else:  # the migrating handler drops the condition once no migration is in progress
        remove_condition(status, "Migrating")
    controller.write_status(vm, status, vm_kind)
