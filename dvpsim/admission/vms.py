"""Admission of VirtualMachine (schema, CEL rules, DVP's vm webhook) and VirtualMachineBlockDeviceAttachment."""

import re

from dvpsim import kinds, quantity
from dvpsim.admission.checks import check_name, get
from dvpsim.admission.networks import check_networks
from dvpsim.admission.vm_classes import check_sizing_policy
from dvpsim.admission.vm_defaults import default_vm

CORE_FRACTION = re.compile(r"^(Auto|(100|[1-9][0-9]?)%)$")
VM_BLOCK_DEVICE_KINDS = ("ClusterVirtualImage", "VirtualImage", "VirtualDisk")
VM_ENUMS = {
    "runPolicy": ("AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually"),
    "osType": ("Windows", "Generic", "Legacy"),
    "bootloader": ("BIOS", "EFI", "EFIWithSecureBoot"),
    "liveMigrationPolicy": ("AlwaysSafe", "PreferSafe", "AlwaysForced", "PreferForced"),
}


def admit_virtual_machine(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    default_vm(cluster, spec, old)
    check_name(checks, obj, max_length=253)
    _check_vm_schema(checks, spec)
    checks.raise_if_any()
    name = obj.get("metadata", {}).get("name", "")
    if len(name) > 63:
        checks.deny(f"the VirtualMachine name {name!r} is too long: it must be no more than 63 characters")
    seen = set()
    for ref in spec.get("blockDeviceRefs") or []:
        key = (ref.get("kind"), ref.get("name"))
        if key in seen:
            checks.deny(f"duplicate reference to the {key[0]} {key[1]} in spec.blockDeviceRefs")
        seen.add(key)
    boot_orders = [r["bootOrder"] for r in spec.get("blockDeviceRefs") or [] if "bootOrder" in r]
    if len(boot_orders) != len(set(boot_orders)):
        checks.deny("duplicate bootOrder values in spec.blockDeviceRefs")
    networks = spec.get("networks") or []
    ip_name_changed = spec.get("virtualMachineIPAddressName") != get(old or {}, "spec", "virtualMachineIPAddressName")
    if spec.get("virtualMachineIPAddressName") and (operation == "CREATE" or ip_name_changed or
                                                    networks != (get(old or {}, "spec", "networks") or [])):
        settings = get(cluster.store.get(kinds.get("ModuleConfig"), None, "virtualization") or {},
                        "spec", "settings", default={}) or {}
        if not settings.get("virtualMachineCIDRs"):
            checks.deny("spec.virtualMachineIPAddressName cannot be set when ModuleConfig/virtualization "
                        "spec.settings.virtualMachineCIDRs is not configured")
        if networks and not any(isinstance(n, dict) and n.get("type") == "Main" for n in networks):
            checks.deny("spec.virtualMachineIPAddressName cannot be set without Main network type in spec.networks")
    if operation == "CREATE" and not spec.get("virtualMachineIPAddressName"):
        # DVP's IPAM validator: the Auto address would be named like the VM, but such a vmip is already there (e.g.
        # one kept after its VM was deleted, as the guide shows): the new VM must name it to get its address.
        vmip = cluster.store.get(kinds.get("VirtualMachineIPAddress"), obj["metadata"].get("namespace"), name)
        if vmip is not None:
            checks.deny(f"VirtualMachineIPAddress with the name of the virtual machine already exists: set "
                        f"spec.virtualMachineIPAddress field to {name} to use IP "
                        f"{get(vmip, 'status', 'address', default='')}")
    check_networks(cluster, operation, checks, obj, old)
    _check_usb_devices(cluster, operation, checks, obj, old)
    _check_cpu_topology(checks, spec["cpu"]["cores"])
    # A VM that no longer matches a changed class keeps running, but its spec cannot change until it does.
    if operation == "CREATE" or spec != (old or {}).get("spec"):
        check_sizing_policy(cluster, checks, spec)


def _check_usb_devices(cluster, operation, checks, obj, old):
    """DVP's USBDevicesValidator (vm/internal/validators/usb_devices_validator.go): the EE feature gate, no device
    twice, none another VM of the namespace names; on an update, a device newly added to a VM placed on a node
    must exist (its USB/IP port check reads it). Free USB/IP ports are not simulated."""
    from dvpsim.controllers import usb

    refs = (obj.get("spec") or {}).get("usbDevices") or []
    if not refs:
        return
    if not usb.enabled(cluster):
        checks.deny("USB device attachment requires Kubernetes version 1.34 or newer and enabled DRA feature gates")
    old_refs = (get(old or {}, "spec", "usbDevices") or []) if operation == "UPDATE" else []
    if operation == "UPDATE" and refs == old_refs:
        return
    before = {r.get("name") for r in old_refs}
    namespace, name = obj["metadata"].get("namespace"), obj["metadata"].get("name")
    seen = set()
    for ref in refs:
        device = ref.get("name")
        if device in seen:
            checks.deny(f"duplicate USB device {device} in spec.usbDevices")
        seen.add(device)
        if device in before:
            continue
        for other in cluster.store.iter(kinds.get("VirtualMachine"), namespace):
            if other["metadata"]["name"] != name and any(
                    r.get("name") == device for r in (other.get("spec") or {}).get("usbDevices") or []):
                checks.deny(f"USB device {device} is already used by VirtualMachine {namespace}/"
                            f"{other['metadata']['name']}")
    if operation == "UPDATE" and get(old, "status", "nodeName"):
        for ref in refs:
            device = ref.get("name")
            if device not in before and cluster.store.peek(kinds.get("USBDevice"), namespace, device) is None:
                checks.deny(f'failed to get USB device {device}: usbdevices.virtualization.deckhouse.io "{device}" '
                            "not found")


# (highest core count of the range, sockets): DVP spreads cores evenly over the sockets.
CPU_TOPOLOGY_STEPS = ((16, 1), (32, 2), (64, 4), (248, 8))


def _check_cpu_topology(checks, cores):
    for upper, sockets in CPU_TOPOLOGY_STEPS:
        if cores <= upper:
            if cores % sockets:
                lower = upper // 2 + 1
                checks.deny(f"the number of cores {cores} is not valid: from {lower} to {upper} cores the VM has "
                            f"{sockets} sockets and the number of cores must be a multiple of {sockets}")
            return
    checks.deny(f"the number of cores {cores} is not valid: a VM can have at most 248 cores")


def _check_vm_schema(checks, spec):
    if not spec.get("virtualMachineClassName"):
        checks.required("spec.virtualMachineClassName")
    cpu = spec.get("cpu")
    if not isinstance(cpu, dict) or "cores" not in cpu:
        checks.required("spec.cpu.cores" if isinstance(cpu, dict) else "spec.cpu")
    else:
        cores = cpu["cores"]
        if not isinstance(cores, int) or isinstance(cores, bool):
            checks.invalid("spec.cpu.cores", cores, 'spec.cpu.cores in body must be of type integer: "string"')
        elif cores < 1:
            checks.invalid("spec.cpu.cores", cores, "spec.cpu.cores in body should be greater than or equal to 1")
        fraction = cpu.get("coreFraction")
        if fraction is not None and not CORE_FRACTION.match(str(fraction)):
            checks.cel("spec", "object", "Core fraction must be 'Auto' or a percentage between 1% and 100%.")
    memory = spec.get("memory")
    if not isinstance(memory, dict) or "size" not in memory:
        checks.required("spec.memory.size" if isinstance(memory, dict) else "spec.memory")
    elif not isinstance(memory["size"], str) or not quantity.is_quantity(memory["size"]):
        checks.pattern("spec.memory.size", memory["size"], quantity.QUANTITY_RE.pattern)
    _check_block_device_refs(checks, spec.get("blockDeviceRefs"))
    for field, allowed in VM_ENUMS.items():
        if field in spec and spec[field] not in allowed:
            checks.enum(f"spec.{field}", spec[field], allowed)
    approval = get(spec, "disruptions", "restartApprovalMode")
    if approval not in (None, "Manual", "Automatic"):
        checks.enum("spec.disruptions.restartApprovalMode", approval, ("Manual", "Automatic"))
    _check_provisioning(checks, spec.get("provisioning"))
    if spec.get("osType") == "Legacy":
        if spec.get("bootloader", "BIOS") != "BIOS":
            checks.cel("spec", "object", "The Legacy osType requires the BIOS bootloader.")
        if "provisioning" in spec:
            checks.cel("spec", "object", "The Legacy osType does not support provisioning: such operating systems "
                                         "have no cloud-init or Sysprep support.")
        if spec.get("enableParavirtualization") is False and len(spec.get("blockDeviceRefs") or []) > 4:
            checks.cel("spec", "object",
                       "The Legacy osType with enableParavirtualization=false supports at most 4 block devices.")


def _check_block_device_refs(checks, refs):
    if refs is None:
        checks.required("spec.blockDeviceRefs")
        return
    if not isinstance(refs, list):
        checks.invalid("spec.blockDeviceRefs", "object", 'spec.blockDeviceRefs in body must be of type array: "object"')
        return
    if len(refs) < 1:
        checks.invalid("spec.blockDeviceRefs", 0, "spec.blockDeviceRefs in body should have at least 1 items")
    if len(refs) > 16:
        checks.causes.append({"field": "spec.blockDeviceRefs", "reason": "FieldValueTooMany",
                              "message": f"Too many: {len(refs)}: must have at most 16 items"})
    for i, ref in enumerate(refs):
        field = f"spec.blockDeviceRefs[{i}]"
        if not isinstance(ref, dict):
            checks.invalid(field, ref, f'{field} in body must be of type object: "string"')
            continue
        if "kind" not in ref:
            checks.required(f"{field}.kind")
        elif ref["kind"] not in VM_BLOCK_DEVICE_KINDS:
            checks.enum(f"{field}.kind", ref["kind"], VM_BLOCK_DEVICE_KINDS)
        if not ref.get("name"):
            checks.required(f"{field}.name")
        if "bootOrder" in ref and (not isinstance(ref["bootOrder"], int) or ref["bootOrder"] < 1):
            checks.invalid(f"{field}.bootOrder", ref["bootOrder"],
                           f"{field}.bootOrder in body should be greater than or equal to 1")


def _check_provisioning(checks, provisioning):
    if provisioning is None:
        return
    type_ = provisioning.get("type")
    allowed = ("UserData", "UserDataRef", "SysprepRef")
    if type_ is None:
        checks.required("spec.provisioning.type")
    elif type_ not in allowed:
        checks.enum("spec.provisioning.type", type_, allowed)
    user_data = provisioning.get("userData")
    if isinstance(user_data, str) and len(user_data.encode()) > 2048:
        checks.cel("spec.provisioning.userData", "string",
                   "`userData` exceeds 2048 byte limit; should use `userDataRef` for larger data.")
    for ref_field in ("userDataRef", "sysprepRef"):
        ref = provisioning.get(ref_field)
        if isinstance(ref, dict):
            ref.setdefault("kind", "Secret")
            if not ref.get("name"):
                checks.required(f"spec.provisioning.{ref_field}.name")
    needed = {"UserData": "userData", "UserDataRef": "userDataRef", "SysprepRef": "sysprepRef"}.get(type_)
    if needed and needed not in provisioning:
        checks.required(f"spec.provisioning.{needed}")


def admit_block_device_attachment(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    if not spec.get("virtualMachineName"):
        checks.required("spec.virtualMachineName")
    ref = spec.get("blockDeviceRef")
    if not isinstance(ref, dict):
        checks.required("spec.blockDeviceRef")
    else:
        if ref.get("kind") not in VM_BLOCK_DEVICE_KINDS:
            checks.enum("spec.blockDeviceRef.kind", ref.get("kind"), VM_BLOCK_DEVICE_KINDS)
        if not ref.get("name"):
            checks.required("spec.blockDeviceRef.name")
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None and old.get("spec") != spec:
        checks.deny("VirtualMachineBlockDeviceAttachment is an idempotent resource: "
                    "specification changes are not available")
