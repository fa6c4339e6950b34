"""Virtual Machines: the kind's declaration (list, tabs, operations, live relations, routes) and what its
page says about a VM's phase and conditions. The views are in the modules of this package."""
from portal.kube import kinds
from projects.access import can

from ...consoles import pages as consoles
from ...generic.meta import meta_tab
from ...registry import (Action, BulkActions, CreateChoice, DeleteExtra, LiveRelation, Resource, Route, RowActions, Tab,
                         register)
from . import bulk, create, delete, diagnostics, operations, snapshots
from .tabs import configuration, disks, network, placement, usb
from .tabs import snapshots as snapshots_tab

CONDITION_HINTS = {
    ("SizingPolicyMatched", "False"): "The VM's cores, memory or CPU share do not match the sizing policy of its "
                                      "class: configuration changes cannot be saved until they do.",
    ("ConfigurationApplied", "False"): "The configuration is not applied to the running VM yet.",
    ("AwaitingRestartToApplyConfiguration", "True"): "Some changes only take effect after a restart.",
    ("FirmwareUpToDate", "False"): "The VM's firmware needs an update (it is migrated to apply it).",
    ("Migratable", "False"): "The VM cannot be live-migrated (for example it uses local disks).",
    ("AgentReady", "False"): "The guest agent (qemu-guest-agent) is not running in the guest.",
}


def condition_notes(status):
    notes = []
    for c in status.get("conditions") or []:
        hint = CONDITION_HINTS.get((c.get("type"), c.get("status")))
        if hint:
            notes.append({"type": c["type"], "hint": hint})
    return notes


def detail_context(user, project, obj):
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    can_operate = can(user, "create", kinds.VMOP, project.name)
    recent = operations.operations_of(user, project.name, name)
    migration = next((op for op in recent if op["spec"].get("type") in operations.MIGRATION_TYPES
                      and (op.get("status") or {}).get("phase") not in operations.VMOP_FINISHED), None)
    return {
        "operations": operations.operation_choices(obj, can_operate), "can_operate": can_operate,
        "recent_operations": recent[:5], "migration": migration,
        "can_cancel_migration": can(user, "delete", kinds.VMOP, project.name),
        "diagnostics": diagnostics.explain(status),
        "condition_notes": condition_notes(status),
    }


resource = register(Resource(
    slug="vms", kind=kinds.VM, title="Virtual Machines", noun="virtual machine", create_label="Create",
    create=(CreateChoice("Create", "", create.create, "vm-create"),),
    tabs=(
        Tab("configuration", "Configuration", configuration.context,
            actions=(Action("save", configuration.save), Action("review", configuration.review))),
        Tab("disks", "Disks and Images", disks.context, actions=tuple(Action(name, handle) for name, handle in (
            ("add", disks.add), ("up", disks.move_up), ("down", disks.move_down), ("remove", disks.remove),
            ("resize", disks.resize), ("attach", disks.attach), ("detach", disks.detach)))),
        Tab("placement", "Placement", placement.context,
            actions=(Action("save", placement.save), Action("review", placement.review))),
        Tab("network", "Network", network.context, actions=(
            Action("static-ip", network.request_static_ip), Action("keep-ip", network.keep_ip),
            Action("add-network", network.add_network), Action("assign-ip", network.assign_ip),
            Action("discard-ip", network.discard_ip))),
        Tab("usb", "USB", usb.context, actions=(Action("attach", usb.attach), Action("detach", usb.detach))),
        Tab("snapshots", "Snapshots", snapshots_tab.context),
        Tab("tty", "TTY", consoles.tab_context("tty")),
        Tab("vnc", "VNC", consoles.tab_context("vnc")),
        meta_tab("vms"),
    ),
    detail_context=detail_context,
    events_timeline=operations.timeline,
    row_actions=RowActions("virtualization/vms/includes/row_actions.html", operations.decorate_rows),
    bulk=BulkActions(bulk.ACTIONS, "vm-bulk", bulk.blocked),
    list_dialogs="virtualization/vms/includes/list_dialog.html",
    delete_extra=DeleteExtra(delete.context, "virtualization/vms/includes/delete_disks.html", delete.after),
    live_related=(
        LiveRelation(kinds.VMOP, lambda op, vm: (op.get("spec") or {}).get("virtualMachineName") == vm),
        LiveRelation(kinds.VM_SNAPSHOT, lambda snap, vm: (snap.get("spec") or {}).get("virtualMachineName") == vm),
        LiveRelation(kinds.VMIP, network.concerns),
        # The Network tab's Services and Ingresses: a Service selects by labels, so any change may concern the VM.
        LiveRelation(kinds.SERVICE, lambda service, vm: True), LiveRelation(kinds.INGRESS, lambda ingress, vm: True),
    ),
    routes=(
        Route("_new/boot-disk/", create.boot_disk, "vm-boot-disk"),
        Route("_bulk/", bulk.bulk, "vm-bulk"),
        Route("<str:name>/operations/", operations.operation, "vm-operation"),
        Route("<str:name>/operations/<str:operation_name>/cancel/", operations.cancel_migration,
              "vm-cancel-migration"),
        Route("<str:name>/sessions/<str:tab>/", consoles.holder, "vm-console-holder"),
        Route("<str:name>/window/<str:tab>/", consoles.window, "vm-console-window"),
        Route("<str:name>/configuration/changes/", configuration.changes, "vm-config-changes"),
        Route("<str:name>/snapshots/_new/", snapshots.create, "vm-snapshot-create"),
        Route("<str:name>/snapshots/<str:snapshot_name>/restore/", snapshots.restore, "vm-snapshot-restore"),
        Route("<str:name>/snapshots/<str:snapshot_name>/dry-run/", snapshots.dry_run, "vm-snapshot-dry-run"),
        Route("<str:name>/snapshots/<str:snapshot_name>/create-vm/", snapshots.create_vm,
              "vm-snapshot-create-vm"),
        Route("<str:name>/snapshots/<str:snapshot_name>/delete/", snapshots.delete, "vm-snapshot-delete"),
    ),
    nav_order=50,
))
