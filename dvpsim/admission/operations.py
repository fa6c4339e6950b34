"""Admission of VirtualMachineOperation and VirtualMachineSnapshotOperation: CEL rules, one operation at a time."""

from dvpsim import kinds
from dvpsim.admission.checks import phase

VMOP_TYPES = ("Restart", "Start", "Stop", "Migrate", "Evict", "Restore", "Clone")
VMOP_FINISHED = ("Completed", "Failed", "Superseded")


def admit_operation(cluster, operation, obj, old, checks):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        checks.required("spec")
        return
    if operation == "UPDATE" and old is not None and spec != old.get("spec"):
        checks.cel("spec", "object", ".spec is immutable")
        return
    type_ = spec.get("type")
    if type_ is None:
        checks.required("spec.type")
    elif type_ not in VMOP_TYPES:
        checks.enum("spec.type", type_, VMOP_TYPES)
    if not spec.get("virtualMachineName"):
        checks.required("spec.virtualMachineName")
    if type_ == "Start" and spec.get("force"):
        checks.cel("spec", "object", "The `Start` operation cannot be performed forcibly.")
    if type_ == "Restore" and "restore" not in spec:
        checks.cel("spec", "object", "Restore requires restore field.")
    if type_ == "Clone" and "clone" not in spec:
        checks.cel("spec", "object", "Clone requires clone field.")
    if "migrate" in spec and type_ != "Migrate":
        checks.cel("spec", "object", "spec.migrate can only be set when spec.type is 'Migrate'")
    _check_clone_names(checks, spec.get("clone"), "spec.clone")
    checks.raise_if_any()
    if operation == "CREATE" and type_ == "Migrate" and ((spec.get("migrate") or {}).get("nodeSelector")):
        # dvpsim is the Community Edition: vmop_webhook.go refuses a target node selector (dvp-api-notes §4.10).
        checks.deny("the `nodeSelector` field is not available in the Community Edition version")
    if operation == "CREATE":
        _check_one_operation_per_vm(cluster, obj, checks)


def _check_clone_names(checks, clone, field):
    """The CEL rules of `clone` (VMOP) and `createVirtualMachine` (VMSOP)."""
    if not isinstance(clone, dict):
        return
    customization = clone.get("customization") if isinstance(clone.get("customization"), dict) else {}
    for key in ("namePrefix", "nameSuffix"):
        if key in customization and not 1 <= len(customization[key] or "") <= 59:
            checks.cel(f"{field}.customization", "object", f"{key} length must be between 1 and 59 characters if set")
    replacements = clone.get("nameReplacement") or []
    if any(not 1 <= len(r.get("to") or "") <= 59 for r in replacements if isinstance(r, dict)):
        checks.cel(f"{field}.nameReplacement", "array", "Each nameReplacement.to must be between 1 and 59 characters")
    if not (customization.get("namePrefix") or customization.get("nameSuffix") or replacements):
        checks.cel(field, "object", "At least one of customization.namePrefix, customization.nameSuffix, "
                                    "or nameReplacement must be set")


def admit_snapshot_operation(cluster, operation, obj, old, checks):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if operation == "UPDATE" and old is not None and spec != old.get("spec"):
        checks.cel("spec", "object", ".spec is immutable")
        return
    _check_clone_names(checks, spec.get("createVirtualMachine"), "spec.createVirtualMachine")


def _check_one_operation_per_vm(cluster, obj, checks):
    namespace = obj["metadata"].get("namespace")
    spec = obj["spec"]
    for other in cluster.store.list(kinds.get("VirtualMachineOperation"), namespace):
        if other["spec"].get("virtualMachineName") != spec["virtualMachineName"]:
            continue
        if phase(other) in VMOP_FINISHED or other["metadata"].get("deletionTimestamp"):
            continue
        if not may_supersede(spec, other["spec"]):
            checks.deny(f'VMOP cannot be executed now. Previously created operation "{other["metadata"]["name"]}" '
                        "should finish first")


def may_supersede(new: dict, running: dict) -> bool:
    """DVP's supersede rules: which new operation may replace an unfinished one."""
    new_type, old_type = new.get("type"), running.get("type")
    if old_type == "Start" and new_type == "Stop":
        return True
    if old_type in ("Stop", "Restart") and not running.get("force") and \
            new_type in ("Stop", "Restart") and new.get("force"):
        return True
    if old_type in ("Migrate", "Evict") and new_type in ("Stop", "Restart"):
        return True
    return False
