"""VM Snapshots (VirtualMachineSnapshot): a snapshot's own page (the guide: "The snapshot status is displayed at the
top left, under the snapshot name") with its YAML and events. Snapshots are made from their VM's Snapshots tab, so
the list offers no create form."""
from portal.kube import kinds

from ..registry import Resource, register
from .vms.snapshots import not_ready_notes, permissions


def detail_context(user, project, obj):
    return {"notes": not_ready_notes(obj), "vm_name": (obj.get("spec") or {}).get("virtualMachineName", ""),
            "snapshot_why": permissions(user, project.name)}


resource = register(Resource(
    slug="vm-snapshots", kind=kinds.VM_SNAPSHOT, title="VM Snapshots", noun="VM snapshot",
    detail_context=detail_context, nav_order=60,
))
