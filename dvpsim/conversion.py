"""Version conversion between served and stored versions (VirtualMachineClass v1alpha2 <-> v1alpha3)."""

import copy


def _pct(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}%"
    return value


def _int(value):
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return value


def _convert_class(obj, fn):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    for policy in spec.get("sizingPolicies") or []:
        if isinstance(policy, dict) and isinstance(policy.get("coreFractions"), list):
            policy["coreFractions"] = [fn(v) for v in policy["coreFractions"]]
    if "defaultCoreFraction" in spec:
        spec["defaultCoreFraction"] = fn(spec["defaultCoreFraction"])
    return obj


def to_version(kind, obj, version):
    """A copy of a stored object as served in `version`."""
    if version == kind.storage_version or obj is None:
        return obj
    obj = copy.deepcopy(obj)
    obj["apiVersion"] = kind.api_version_of(version)
    if kind.kind == "VirtualMachineClass" and version == "v1alpha3":
        _convert_class(obj, _pct)
    return obj


def from_version(kind, obj, version):
    """A copy of an object received in `version`, converted to the storage version."""
    if version == kind.storage_version or not isinstance(obj, dict):
        return obj
    obj = copy.deepcopy(obj)
    obj["apiVersion"] = kind.api_version
    if kind.kind == "VirtualMachineClass" and version == "v1alpha3":
        _convert_class(obj, _int)
    return obj
