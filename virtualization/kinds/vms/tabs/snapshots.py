"""The VM's "Snapshots" tab: its snapshots with what holds each back, and what the user may do with them."""
from portal.kube import Forbidden, KubeError

from ..snapshots import not_ready_notes, permissions, snapshots_of


def context(user, project, obj, state):
    name = obj["metadata"]["name"]
    snapshots, list_error = [], ""
    try:
        snapshots = snapshots_of(user, project.name, name)
    except Forbidden:
        list_error = "You may not list VM snapshots in this project (needs list on virtualmachinesnapshots)."
    except KubeError as exc:  # the rest of the VM page still shows
        list_error = f"The VM snapshots could not be read: {exc.message}"
    return {
        "snapshots": [{"obj": s, "name": s["metadata"]["name"], "notes": not_ready_notes(s),
                       "ready": (s.get("status") or {}).get("phase") == "Ready"} for s in snapshots],
        "snapshots_error": list_error,
        "snapshot_why": permissions(user, project.name),
    }
