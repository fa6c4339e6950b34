"""VirtualMachineClass: its CEL rules, and whether a VM's size matches the sizing policy of its class."""

from dvpsim import kinds, quantity
from dvpsim.admission.checks import get


def check_sizing_policy(cluster, checks, spec):
    problem = sizing_policy_problem(cluster, spec)
    if problem:
        checks.deny(problem)


def sizing_policy_problem(cluster, spec):
    """Why the VM spec does not match the sizing policy of its class (None when it does, or there is none)."""
    class_name = spec.get("virtualMachineClassName")
    vmclass = cluster.store.get(kinds.get("VirtualMachineClass"), None, class_name)
    policies = get(vmclass or {}, "spec", "sizingPolicies", default=None)
    if not policies:
        return None
    cores = spec["cpu"]["cores"]
    policy = next((p for p in policies
                   if get(p, "cores", "min", default=1) <= cores <= get(p, "cores", "max", default=1024)), None)
    if policy is None:
        ranges = ", ".join(f'{get(p, "cores", "min", default=1)}-{get(p, "cores", "max", default="")}'
                           for p in policies)
        return (f'the number of cores {cores} does not match any sizing policy of the VirtualMachineClass '
                    f'"{class_name}": the allowed ranges are {ranges}')
    prefix = f'the sizing policy of the VirtualMachineClass "{class_name}" for {cores} cores'
    core_step, core_min = get(policy, "cores", "step", default=None), get(policy, "cores", "min", default=1)
    if core_step and (cores - core_min) % core_step:
        return (f"the number of cores {cores} does not match {prefix}: "
                f"it must change in steps of {core_step} from {core_min}")
    fraction = spec["cpu"].get("coreFraction")
    allowed = [int(str(f).rstrip("%")) for f in policy.get("coreFractions") or []]
    if allowed and fraction not in (None, "Auto") and int(str(fraction).rstrip("%")) not in allowed:
        return (f"coreFraction {fraction} does not match {prefix}: allowed values are "
                    + ", ".join(f"{f}%" for f in allowed))
    memory = policy.get("memory") or {}
    size = quantity.parse_bytes(spec["memory"]["size"])
    low, high = memory.get("min"), memory.get("max")
    if low and size < quantity.parse_bytes(low) or high and size > quantity.parse_bytes(high):
        return (f"memory size {spec['memory']['size']} does not match {prefix}: "
                    f"it must be between {low or '0'} and {high or 'unlimited'}")
    per_core = memory.get("perCore") or {}
    low, high = per_core.get("min"), per_core.get("max")
    if low and size < quantity.parse_bytes(low) * cores or high and size > quantity.parse_bytes(high) * cores:
        return (f"memory size {spec['memory']['size']} does not match {prefix}: each core needs between "
                    f"{low or '0'} and {high or 'unlimited'} of memory")
    step = memory.get("step")
    if step and (size - quantity.parse_bytes(memory.get("min") or "0")) % quantity.parse_bytes(step):
        return (f"memory size {spec['memory']['size']} does not match {prefix}: "
                    f"it must change in steps of {step} from {memory.get('min') or '0'}")
    return None


def admit_vm_class(cluster, operation, obj, old, checks):
    """The CEL rules of VirtualMachineClass (the object is in the stored version, v1alpha2)."""
    spec = obj.get("spec") or {}
    cpu = spec.get("cpu") or {}
    if operation == "UPDATE" and old is not None and (old.get("spec") or {}).get("cpu") != cpu:
        checks.cel("spec.cpu", "object", ".spec.cpu is immutable")
    has = {field: field in cpu for field in ("model", "features", "discovery")}
    cpu_type = cpu.get("type")
    if cpu_type in ("Host", "HostPassthrough") and any(has.values()):
        checks.cel("spec.cpu", "object", "HostPassthrough and Host cannot have model, features or discovery")
    if cpu_type == "Discovery" and (has["model"] or has["features"]):
        checks.cel("spec.cpu", "object", "Discovery cannot have model or features")
    if cpu_type == "Model" and (not has["model"] or has["features"] or has["discovery"]):
        checks.cel("spec.cpu", "object", "Model requires model and cannot have features or discovery")
    if cpu_type == "Features" and (not has["features"] or has["model"] or has["discovery"]):
        checks.cel("spec.cpu", "object", "Features requires features and cannot have model or discovery")
    for index, policy in enumerate(spec.get("sizingPolicies") or []):
        cores = policy.get("cores") or {}
        field = f"spec.sizingPolicies[{index}]"
        if isinstance(cores.get("max"), int) and isinstance(cores.get("min"), int) and cores["max"] <= cores["min"]:
            checks.cel(f"{field}.cores", "object", "The maximum must be greater than the minimum")
        if isinstance(cores.get("max"), int) and isinstance(cores.get("step"), int) and cores["max"] <= cores["step"]:
            checks.cel(f"{field}.cores", "object", "The maximum must be greater than the step")
        fraction = policy.get("defaultCoreFraction")
        if fraction is not None and not (fraction == "Auto" or (isinstance(fraction, int) and 1 <= fraction <= 100)):
            checks.cel(f"{field}.defaultCoreFraction", "integer" if isinstance(fraction, int) else "string",
                       "The default core fraction must be a number from 1 to 100, or 'Auto'.")
    checks.raise_if_any()  # the webhook sees only what the schema and its CEL rules let through
    check_sizing_policies(operation, obj, checks)


def check_sizing_policies(operation, obj, checks):
    """DVP's SizingPoliciesValidator (vmclass/internal/validators/sizing_policies_validator.go), word for word:
    on create every policy needs cores; on create and update no two core ranges may cross."""
    name, policies = obj["metadata"].get("name", ""), (obj.get("spec") or {}).get("sizingPolicies") or []
    if operation == "CREATE" and any(policy.get("cores") is None for policy in policies):
        checks.deny(f"vmclass {name} has sizing policies but none of them specify cores")
    if cpu_size_policies_cross(policies):
        checks.deny(f"vmclass {name} has size policy cpu crosses")


def cpu_size_policies_cross(policies):
    """HasCPUSizePoliciesCrosses as DVP has it: an end of one range inside another. A pair is looked at once,
    from its first policy, so a range that contains another whole is let through, as there."""
    seen = set()
    for i, first in enumerate(policies):
        for j, second in enumerate(policies):
            if i == j or (i, j) in seen or first.get("cores") is None or second.get("cores") is None:
                continue
            low1, high1 = first["cores"].get("min", 0), first["cores"].get("max", 0)
            low2, high2 = second["cores"].get("min", 0), second["cores"].get("max", 0)
            if low2 <= low1 <= high2 or low2 <= high1 <= high2:
                return True
            seen |= {(i, j), (j, i)}
    return False
