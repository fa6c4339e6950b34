"""Admission for the DVP kinds: the CRD schema and CEL rules, DVP's mutating defaults and its webhooks.

Errors come back the way a real cluster sends them: schema and CEL violations as 422 Invalid
with field causes; rejections by DVP's validating webhooks as 403 "admission webhook … denied
the request: …" (controller-runtime's Denied).
"""

import re

from dvpsim import kinds, quantity, services
from dvpsim.errors import Forbidden, Invalid

DEFAULT_CLASS_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HTTP_URL = r"^http[s]?:\/\/(?:[a-zA-Z]|[0-9]|[$-_@.&+]|[!*\(\),]|(?:%[0-9a-fA-F][0-9a-fA-F]))+$"
CORE_FRACTION = re.compile(r"^(Auto|(100|[1-9][0-9]?)%)$")
# A container image reference: [registry[:port]/]path[:tag][@algorithm:hex-digest].
IMAGE_REFERENCE = re.compile(
    r"^((localhost|[\w-]+(\.[\w-]+)+)(:\d+)?/|[\w]+:\d+/)?"   # registry
    r"[a-z0-9_.-]+(/[a-z0-9_.-]+)*"                                # repository path
    r"(:[\w][\w.-]{0,127})?"                                       # tag
    r"(@[A-Za-z][A-Za-z0-9]*([+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")  # digest
CHECKSUM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "streebog256": 64, "streebog512": 128}

DATASOURCE_TYPES = ("HTTP", "ContainerImage", "ObjectRef", "Upload")
DATASOURCE_RULES = {
    "HTTP": ("http", "HTTP requires http and cannot have ContainerImage, ObjectRef or Upload."),
    "ContainerImage": ("containerImage",
                       "ContainerImage requires containerImage and cannot have HTTP, ObjectRef or Upload."),
    "ObjectRef": ("objectRef", "ObjectRef requires objectRef and cannot have HTTP, ContainerImage or Upload."),
    "Upload": (None, "Upload cannot have HTTP, ContainerImage or ObjectRef."),
}
IMAGE_REF_KINDS = ("ClusterVirtualImage", "VirtualImage", "VirtualDisk", "VirtualDiskSnapshot")
DISK_REF_KINDS = ("ClusterVirtualImage", "VirtualImage", "VirtualDiskSnapshot")
VM_BLOCK_DEVICE_KINDS = ("ClusterVirtualImage", "VirtualImage", "VirtualDisk")
VMOP_TYPES = ("Restart", "Start", "Stop", "Migrate", "Evict", "Restore", "Clone")
VMOP_FINISHED = ("Completed", "Failed", "Superseded")

_WEBHOOKS = {
    "VirtualMachine": "vm.virtualization-controller.validate.d8-virtualization",
    "VirtualDisk": "vd.virtualization-controller.validate.d8-virtualization",
    "VirtualImage": "vi.virtualization-controller.validate.d8-virtualization",
    "ClusterVirtualImage": "cvi.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineOperation": "vmop.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineIPAddress": "vmip.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineMACAddress": "vmmac.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineBlockDeviceAttachment": "vmbda.virtualization-controller.validate.d8-virtualization",
}


def admit(cluster, operation, kind, obj, old, username):
    """Default and validate `obj` before it is stored; returns the object to store."""
    admitter = _ADMITTERS.get(kind.kind)
    if admitter is None or operation not in ("CREATE", "UPDATE"):
        return obj
    checks = Checks(kind, obj)
    admitter(cluster, operation, obj, old, checks)
    checks.raise_if_any()
    return obj


class Checks:
    """Collects schema/CEL failures (422) and raises the first webhook denial (403)."""

    def __init__(self, kind, obj):
        self.kind = kind
        self.name = obj.get("metadata", {}).get("name", "")
        self.causes = []

    def required(self, field):
        self.causes.append({"field": field, "message": "Required value", "reason": "FieldValueRequired"})

    def invalid(self, field, value, message):
        self.causes.append({"field": field, "message": f"Invalid value: {_show(value)}: {message}",
                            "reason": "FieldValueInvalid"})

    def cel(self, field, value_type, message):
        self.causes.append({"field": field, "message": f'Invalid value: "{value_type}": {message}',
                            "reason": "FieldValueInvalid"})

    def enum(self, field, value, allowed):
        supported = ", ".join(f'"{a}"' for a in allowed)
        self.causes.append({"field": field, "message": f"Unsupported value: {_show(value)}: supported values: {supported}",
                            "reason": "FieldValueNotSupported"})

    def pattern(self, field, value, regex):
        self.invalid(field, value, f"{field} in body should match '{regex}'")

    def deny(self, message):
        webhook = _WEBHOOKS.get(self.kind.kind, "virtualization-controller.validate.d8-virtualization")
        raise Forbidden(f'admission webhook "{webhook}" denied the request: {message}')

    def raise_if_any(self):
        if self.causes:
            raise Invalid(causes=self.causes, kind=self.kind, name=self.name)


def _show(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _get(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def _phase(obj):
    return _get(obj or {}, "status", "phase")


def _check_name(checks, obj, max_length=253):
    name = obj.get("metadata", {}).get("name", "")
    if not name:
        return  # generateName: the API machinery names it
    if len(name) > max_length:
        checks.invalid("metadata.name", name, f"must be no more than {max_length} characters")
    elif not DNS1123_SUBDOMAIN.match(name):
        checks.invalid("metadata.name", name,
                       "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                       "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


# ---- dataSource (VI, CVI, VD) ---------------------------------------------------------------

def _check_data_source(checks, source, field, ref_kinds, cluster_scoped=False):
    if not isinstance(source, dict):
        checks.required(field)
        return
    type_ = source.get("type")
    if type_ is None:
        checks.required(f"{field}.type")
        return
    if type_ not in DATASOURCE_TYPES:
        checks.enum(f"{field}.type", type_, DATASOURCE_TYPES)
        return
    own, message = DATASOURCE_RULES[type_]
    forbidden = [k for k in ("http", "containerImage", "objectRef") if k != own]
    if type_ != "Upload":
        forbidden.append("upload")  # the upload block is optional for Upload and banned elsewhere
    if (own and own not in source) or any(k in source for k in forbidden):
        checks.cel(field, "object", message)
    http = source.get("http")
    if isinstance(http, dict):
        url = http.get("url")
        if not url:
            checks.required(f"{field}.http.url")
        elif not re.match(HTTP_URL, url):
            checks.pattern(f"{field}.http.url", url, HTTP_URL)
        _check_checksums(checks, http.get("checksum"), f"{field}.http.checksum")
    if isinstance(source.get("upload"), dict):
        _check_checksums(checks, source["upload"].get("checksum"), f"{field}.upload.checksum")
    image = source.get("containerImage")
    if isinstance(image, dict) and not image.get("image"):
        checks.required(f"{field}.containerImage.image")
    elif isinstance(image, dict) and not IMAGE_REFERENCE.match(image["image"]):
        checks.pattern(f"{field}.containerImage.image", image["image"], IMAGE_REFERENCE.pattern)
    ref = source.get("objectRef")
    if isinstance(ref, dict):
        if ref.get("kind") not in ref_kinds:
            if ref.get("kind") is None:
                checks.required(f"{field}.objectRef.kind")
            else:
                checks.enum(f"{field}.objectRef.kind", ref.get("kind"), ref_kinds)
        if not ref.get("name"):
            checks.required(f"{field}.objectRef.name")
        if cluster_scoped and ref.get("kind") in ("VirtualDisk", "VirtualImage", "VirtualDiskSnapshot"):
            if not ref.get("namespace"):
                checks.cel(f"{field}.objectRef", "object",
                           "The namespace is required for VirtualDisk, VirtualImage and VirtualDiskSnapshot")
            elif len(ref["namespace"]) > 63:
                checks.cel(f"{field}.objectRef", "object", "The namespace must be no longer than 63 characters.")


def _check_checksums(checks, checksum, field):
    if not isinstance(checksum, dict):
        return
    for algo, value in checksum.items():
        length = CHECKSUM_LENGTHS.get(algo)
        if length is None:
            continue
        regex = f"^[0-9a-fA-F]{{{length}}}$"
        if not isinstance(value, str) or not re.match(regex, value):
            checks.pattern(f"{field}.{algo}", value, regex)


# ---- images -----------------------------------------------------------------------------------

def _admit_virtual_image(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    spec.setdefault("storage", "ContainerRegistry")
    _check_name(checks, obj)
    storage = spec.get("storage")
    if storage not in ("ContainerRegistry", "Kubernetes", "PersistentVolumeClaim"):
        checks.enum("spec.storage", storage, ("ContainerRegistry", "Kubernetes", "PersistentVolumeClaim"))
    _check_data_source(checks, spec.get("dataSource"), "spec.dataSource", IMAGE_REF_KINDS)
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None:
        old_spec = old.get("spec", {})
        if old.get("metadata", {}).get("deletionTimestamp") and spec != old_spec:
            checks.deny("spec changes are not allowed while the VirtualImage is terminating")
        if _phase(old) == "Ready":
            if spec.get("dataSource") != old_spec.get("dataSource"):
                checks.deny("data source cannot be changed if the VirtualImage has already been provisioned")
            if _get(spec, "persistentVolumeClaim", "storageClassName") != \
                    _get(old_spec, "persistentVolumeClaim", "storageClassName"):
                checks.deny("storage class cannot be changed if the VirtualImage has already been provisioned")


def _admit_cluster_virtual_image(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    _check_name(checks, obj)
    _check_data_source(checks, spec.get("dataSource"), "spec.dataSource", IMAGE_REF_KINDS, cluster_scoped=True)
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None and _phase(old) == "Ready" and spec != old.get("spec", {}):
        checks.deny("ClusterVirtualImage is in a Ready state: configuration changes are not available")


# ---- disks ------------------------------------------------------------------------------------

def _admit_virtual_disk(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    _check_name(checks, obj)
    pvc = spec.get("persistentVolumeClaim") or {}
    size = pvc.get("size")
    if size is not None and not quantity.is_quantity(size):
        checks.pattern("spec.persistentVolumeClaim.size", size, quantity.QUANTITY_RE.pattern)
    if "dataSource" in spec:
        _check_data_source(checks, spec.get("dataSource"), "spec.dataSource", DISK_REF_KINDS)
    checks.raise_if_any()
    if operation == "CREATE" and "dataSource" not in spec and size is None:
        checks.deny("the size of a blank disk must be specified in spec.persistentVolumeClaim.size")
    if operation == "UPDATE" and old is not None:
        _check_disk_update(checks, spec, old)


def _check_disk_update(checks, spec, old):
    old_spec = old.get("spec", {})
    old_size = _get(old_spec, "persistentVolumeClaim", "size")
    new_size = _get(spec, "persistentVolumeClaim", "size")
    provisioned = _phase(old) not in (None, "", "Pending", "Provisioning", "WaitForUserUpload",
                                      "WaitForFirstConsumer", "Failed")
    if old_size is not None and new_size is None:
        checks.deny("spec.persistentVolumeClaim.size cannot be omitted once set")
    if provisioned:
        current = old.get("status", {}).get("capacity") or old_size
        if new_size is not None and current and quantity.parse_bytes(new_size) < quantity.parse_bytes(current):
            checks.deny(f"spec.persistentVolumeClaim.size value ({new_size}) should be greater than or equal "
                        f"to the current value ({current})")
        if spec.get("dataSource") != old_spec.get("dataSource"):
            checks.deny("data source cannot be changed if the VirtualDisk has already been provisioned")


# ---- virtual machines -------------------------------------------------------------------------

VM_ENUMS = {
    "runPolicy": ("AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually"),
    "osType": ("Windows", "Generic", "Legacy"),
    "bootloader": ("BIOS", "EFI", "EFIWithSecureBoot"),
    "liveMigrationPolicy": ("AlwaysSafe", "PreferSafe", "AlwaysForced", "PreferForced"),
}


def _admit_virtual_machine(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    _default_vm(cluster, spec, old)
    _check_name(checks, obj, max_length=253)
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
    if any(n.get("type") != "Main" for n in networks if isinstance(n, dict)) and not _sdn_enabled(cluster):
        checks.deny("additional networks require the sdn module to be enabled")
    _check_cluster_networks(cluster, checks, networks, _get(old or {}, "spec", "networks", default=None) or [])
    ip_name_changed = spec.get("virtualMachineIPAddressName") != _get(old or {}, "spec", "virtualMachineIPAddressName")
    if spec.get("virtualMachineIPAddressName") and (operation == "CREATE" or ip_name_changed or
                                                    networks != (_get(old or {}, "spec", "networks") or [])):
        settings = _get(cluster.store.get(kinds.get("ModuleConfig"), None, "virtualization") or {},
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
                        f"{_get(vmip, 'status', 'address', default='')}")
    _check_cpu_topology(checks, spec["cpu"]["cores"])
    # A VM that no longer matches a changed class keeps running, but its spec cannot change until it does.
    if operation == "CREATE" or spec != (old or {}).get("spec"):
        _check_sizing_policy(cluster, checks, spec)


def _check_cluster_networks(cluster, checks, networks, old_networks):
    """dvp-api-notes §4.5: a referenced ClusterNetwork must exist (checked for entries the request adds). The notes
    say nothing of that kind for project Networks: a VM may name a Network that is created later."""
    kind = kinds.get("ClusterNetwork")
    for index, network in enumerate(networks):
        if not isinstance(network, dict) or network.get("type") != "ClusterNetwork" or network in old_networks:
            continue
        name = network.get("name") or ""
        if cluster.store.get(kind, None, name) is None:
            checks.deny(f'the ClusterNetwork "{name}" referenced in spec.networks[{index}] does not exist')


def _sdn_enabled(cluster):
    config = cluster.store.get(kinds.get("ModuleConfig"), None, "sdn") or {}
    return bool((config.get("spec") or {}).get("enabled"))


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


def _check_sizing_policy(cluster, checks, spec):
    problem = sizing_policy_problem(cluster, spec)
    if problem:
        checks.deny(problem)


def sizing_policy_problem(cluster, spec):
    """Why the VM spec does not match the sizing policy of its class (None when it does, or there is none)."""
    class_name = spec.get("virtualMachineClassName")
    vmclass = cluster.store.get(kinds.get("VirtualMachineClass"), None, class_name)
    policies = _get(vmclass or {}, "spec", "sizingPolicies", default=None)
    if not policies:
        return None
    cores = spec["cpu"]["cores"]
    policy = next((p for p in policies
                   if _get(p, "cores", "min", default=1) <= cores <= _get(p, "cores", "max", default=1024)), None)
    if policy is None:
        ranges = ", ".join(f'{_get(p, "cores", "min", default=1)}-{_get(p, "cores", "max", default="")}'
                           for p in policies)
        return (f'the number of cores {cores} does not match any sizing policy of the VirtualMachineClass '
                    f'"{class_name}": the allowed ranges are {ranges}')
    prefix = f'the sizing policy of the VirtualMachineClass "{class_name}" for {cores} cores'
    core_step, core_min = _get(policy, "cores", "step", default=None), _get(policy, "cores", "min", default=1)
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


def _default_vm(cluster, spec, old=None):
    if not spec.get("virtualMachineClassName"):
        default = _default_class(cluster)
        if default is not None:
            spec["virtualMachineClassName"] = default["metadata"]["name"]
    cpu = spec.get("cpu")
    if isinstance(cpu, dict) and "coreFraction" not in cpu and isinstance(cpu.get("cores"), int):
        cpu["coreFraction"] = _default_core_fraction(cluster, spec.get("virtualMachineClassName"), cpu["cores"])
    spec.setdefault("runPolicy", "AlwaysOnUnlessStoppedManually")
    spec.setdefault("osType", "Generic")
    spec.setdefault("bootloader", "BIOS")
    spec.setdefault("disruptions", {}).setdefault("restartApprovalMode", "Manual")
    spec.setdefault("liveMigrationPolicy", "PreferSafe")
    spec.setdefault("enableParavirtualization", True)
    spec.setdefault("terminationGracePeriodSeconds", 60)
    # Network ids: Main = 1, the others from 2 (dvp-api-notes §4.5). A network the VM already had keeps its id (a
    # re-applied list comes without ids); a new one gets the lowest id that neither the spec nor the running
    # interfaces (status.networks) hold, so it does not take the id of one removed but still attached.
    networks = [n for n in spec.get("networks") or [] if isinstance(n, dict)]
    old_networks = [n for n in _get(old or {}, "spec", "networks", default=None) or [] if isinstance(n, dict)]
    held = {n.get("id") for n in networks} | {n.get("id") for n in old_networks} | {
        n.get("id") for n in _get(old or {}, "status", "networks", default=None) or [] if isinstance(n, dict)}
    claimed = {n.get("id") for n in networks if "id" in n}
    next_id = 2
    for network in networks:
        if "id" in network:
            continue
        if network.get("type") == "Main":
            network["id"] = 1
            continue
        same = next((o.get("id") for o in old_networks if (o.get("type"), o.get("name")) ==
                     (network.get("type"), network.get("name")) and o.get("id") not in claimed), None)
        if same is None:
            while next_id in held:
                next_id += 1
            same = next_id
        network["id"] = same
        held.add(same)
        claimed.add(same)


def _default_class(cluster):
    for vmclass in cluster.store.list(kinds.get("VirtualMachineClass")):
        annotations = vmclass.get("metadata", {}).get("annotations") or {}
        if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
            return vmclass
    return None


def _default_core_fraction(cluster, class_name, cores):
    vmclass = cluster.store.get(kinds.get("VirtualMachineClass"), None, class_name) if class_name else None
    for policy in _get(vmclass or {}, "spec", "sizingPolicies", default=[]) or []:
        bounds = policy.get("cores") or {}
        if bounds.get("min", 1) <= cores <= bounds.get("max", 1024):
            default = policy.get("defaultCoreFraction")
            if default in (None, "", "Auto"):
                return "100%"
            return default if isinstance(default, str) and default.endswith("%") else f"{int(default)}%"
    return "100%"


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
    approval = _get(spec, "disruptions", "restartApprovalMode")
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


# ---- operations -------------------------------------------------------------------------------

def _admit_operation(cluster, operation, obj, old, checks):
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


def _admit_snapshot_operation(cluster, operation, obj, old, checks):
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
        if _phase(other) in VMOP_FINISHED or other["metadata"].get("deletionTimestamp"):
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


# ---- IP addresses -----------------------------------------------------------------------------

def _admit_ip_address(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "Auto")
    if spec["type"] not in ("Auto", "Static"):
        checks.enum("spec.type", spec["type"], ("Auto", "Static"))
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None and _phase(old) in ("Bound", "Attached"):
        old_spec = old.get("spec", {})
        # Keeping the bound address as Static (what a VM snapshot with keepIPAddress: Always does) is no change.
        keeps_address = old_spec.get("type") == "Auto" and spec.get("type") == "Static" and \
            spec.get("staticIP") == _get(old, "status", "address")
        if (spec.get("type"), spec.get("staticIP")) != (old_spec.get("type"), old_spec.get("staticIP")) and \
                not keeps_address:
            checks.deny("the VirtualMachineIPAddress type and staticIP cannot be changed once it is Bound")


def _admit_mac_address(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    if operation == "UPDATE" and old is not None and _phase(old) in ("Bound", "Attached") and \
            spec.get("address") != old.get("spec", {}).get("address"):
        checks.deny("the VirtualMachineMACAddress address cannot be changed once it is Bound")


def _admit_block_device_attachment(cluster, operation, obj, old, checks):
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


def _admit_vm_class(cluster, operation, obj, old, checks):
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


def _admit_secret(cluster, operation, obj, old, checks):
    """kube-apiserver's Secret strategy: `stringData` is merged into `data` (base64, over the same keys) and never
    stored or returned."""
    import base64
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


_ADMITTERS = {
    "Service": services.admit,
    "Secret": _admit_secret,
    "VirtualMachineClass": _admit_vm_class,
    "VirtualImage": _admit_virtual_image,
    "ClusterVirtualImage": _admit_cluster_virtual_image,
    "VirtualDisk": _admit_virtual_disk,
    "VirtualMachine": _admit_virtual_machine,
    "VirtualMachineOperation": _admit_operation,
    "VirtualMachineSnapshotOperation": _admit_snapshot_operation,
    "VirtualMachineIPAddress": _admit_ip_address,
    "VirtualMachineMACAddress": _admit_mac_address,
    "VirtualMachineBlockDeviceAttachment": _admit_block_device_attachment,
}
