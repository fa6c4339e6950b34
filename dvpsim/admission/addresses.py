"""Admission of VirtualMachineIPAddress and VirtualMachineMACAddress: a bound address does not change."""

from dvpsim.admission.checks import get, phase


def admit_ip_address(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "Auto")
    if spec["type"] not in ("Auto", "Static"):
        checks.enum("spec.type", spec["type"], ("Auto", "Static"))
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None and phase(old) in ("Bound", "Attached"):
        old_spec = old.get("spec", {})
        # Keeping the bound address as Static (what a VM snapshot with keepIPAddress: Always does) is no change.
        keeps_address = old_spec.get("type") == "Auto" and spec.get("type") == "Static" and \
            spec.get("staticIP") == get(old, "status", "address")
        if (spec.get("type"), spec.get("staticIP")) != (old_spec.get("type"), old_spec.get("staticIP")) and \
                not keeps_address:
            checks.deny("the VirtualMachineIPAddress type and staticIP cannot be changed once it is Bound")


def admit_mac_address(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    if operation == "UPDATE" and old is not None and phase(old) in ("Bound", "Attached") and \
            spec.get("address") != old.get("spec", {}).get("address"):
        checks.deny("the VirtualMachineMACAddress address cannot be changed once it is Bound")
