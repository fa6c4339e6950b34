"""Editing a VirtualMachine from its tabs: which changes need a restart, and a merge patch guarded
by the resourceVersion the form was made from, so that a concurrent change is shown, not lost."""
import json

from portal.kube import Conflict, kinds
from projects.access import kube_for


# The user guide's table "Change virtual machine configuration": how a change reaches a running VM.
IMMEDIATE = ("liveMigrationPolicy", "runPolicy", "disruptions.restartApprovalMode", "metadata.annotations")
PLACEMENT = ("affinity", "nodeSelector")


def applies(path, phase, edition=None):
    """How a change of `path` (a spec path without "spec.") reaches a VM in `phase` (placement: in this
    cluster's `edition.Edition` when known)."""
    if phase in ("Stopped", "Pending", ""):
        return "when the VM starts"
    if any(path == p or path.startswith(p + ".") for p in IMMEDIATE):
        return "immediately"
    if any(path == p or path.startswith(p + ".") for p in PLACEMENT):
        return edition.placement_applies if edition else "immediately (EE, SE+); after a restart in CE"
    return "after a restart"


def leaf_changes(old, new, prefix=""):
    """[(path, old value, new value)] between two spec fragments; lists are compared whole."""
    changes = []
    old, new = old or {}, new or {}
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(leaf_changes(a, b, f"{prefix}{key}."))
        else:
            changes.append((f"{prefix}{key}", a, b))
    return changes


def show(value):
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def describe_changes(old, new, phase, edition=None):
    """Rows for the "changes" list: path, before, after and when the change applies."""
    return [{"path": path, "old": show(a), "new": show(b), "applies": applies(path, phase, edition),
             "restart": applies(path, phase) == "after a restart"}
            for path, a, b in leaf_changes(old, new)]


def spec_subset(spec, keys):
    return {k: spec[k] for k in keys if spec.get(k) is not None}


def merge_patch(old, new):
    """A JSON merge patch turning `old` into `new` (both dicts; missing keys become null)."""
    patch = {}
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            patch[key] = merge_patch(a, b)
        else:
            patch[key] = b
    return patch


def patch_command(name, patch):
    """The same change as a command to copy (the guide's own `d8 k patch vm ... --type merge -p ...`)."""
    body = json.dumps({"spec": patch}, separators=(",", ":")).replace("'", "'\\''")
    return f"d8 k patch vm {name} --type merge -p '{body}'"


class Edit:
    """One tab's edit of some spec fields: what the form started from and what it wants."""

    def __init__(self, user, obj, keys, posted=None):
        self.user, self.obj, self.keys = user, obj, keys
        posted = posted or {}
        self.resource_version = posted.get("resource_version") or obj["metadata"]["resourceVersion"]
        try:
            self.base = json.loads(posted["base"]) if "base" in posted else None
        except ValueError:
            self.base = None
        if isinstance(self.base, dict):
            self.base = {k: v for k, v in self.base.items() if k in keys}  # a tab patches only its own fields
        else:
            self.base = spec_subset(obj.get("spec") or {}, keys)
        self.conflicts = []

    @property
    def base_json(self):
        return json.dumps(self.base, sort_keys=True)

    def save(self, project, wanted):
        """Merge-patch the spec from `base` to `wanted` as the user. Returns the VM, or None after a
        conflict (then `conflicts` lists what someone else changed and base/resource_version move on)."""
        kube = kube_for(self.user)
        patch = merge_patch(self.base, wanted)
        if not patch:
            return self.obj
        for _attempt in range(2):
            try:
                return kube.patch(kinds.VM, self.obj["metadata"]["name"],
                                  {"metadata": {"resourceVersion": self.resource_version}, "spec": patch}, project)
            except Conflict:
                fresh = kube.get(kinds.VM, self.obj["metadata"]["name"], project)
                current = spec_subset(fresh.get("spec") or {}, self.keys)
                self.resource_version = fresh["metadata"]["resourceVersion"]
                if current != self.base:
                    self.conflicts = [{"path": p, "was": show(a), "now": show(b)}
                                      for p, a, b in leaf_changes(self.base, current)]
                    self.base = current
                    self.obj = fresh
                    return None
                # Only the status moved on (the controller writes it often): the same edit again.
        raise Conflict("The virtual machine kept changing while it was being saved; nothing was saved. Try again.")
