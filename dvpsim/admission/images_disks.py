"""Admission of VirtualImage, ClusterVirtualImage and VirtualDisk: the dataSource rules they share, the freeze of a
provisioned object's source and storage."""

import re

from dvpsim import quantity
from dvpsim.admission.checks import check_name, get, phase

HTTP_URL = r"^http[s]?:\/\/(?:[a-zA-Z]|[0-9]|[$-_@.&+]|[!*\(\),]|(?:%[0-9a-fA-F][0-9a-fA-F]))+$"
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

def admit_virtual_image(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    spec.setdefault("storage", "ContainerRegistry")
    check_name(checks, obj)
    storage = spec.get("storage")
    if storage not in ("ContainerRegistry", "Kubernetes", "PersistentVolumeClaim"):
        checks.enum("spec.storage", storage, ("ContainerRegistry", "Kubernetes", "PersistentVolumeClaim"))
    _check_data_source(checks, spec.get("dataSource"), "spec.dataSource", IMAGE_REF_KINDS)
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None:
        old_spec = old.get("spec", {})
        if old.get("metadata", {}).get("deletionTimestamp") and spec != old_spec:
            checks.deny("spec changes are not allowed while the VirtualImage is terminating")
        if phase(old) == "Ready":
            if spec.get("dataSource") != old_spec.get("dataSource"):
                checks.deny("data source cannot be changed if the VirtualImage has already been provisioned")
            if get(spec, "persistentVolumeClaim", "storageClassName") != \
                    get(old_spec, "persistentVolumeClaim", "storageClassName"):
                checks.deny("storage class cannot be changed if the VirtualImage has already been provisioned")


def admit_cluster_virtual_image(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    check_name(checks, obj)
    _check_data_source(checks, spec.get("dataSource"), "spec.dataSource", IMAGE_REF_KINDS, cluster_scoped=True)
    checks.raise_if_any()
    if operation == "UPDATE" and old is not None and phase(old) == "Ready" and spec != old.get("spec", {}):
        checks.deny("ClusterVirtualImage is in a Ready state: configuration changes are not available")


# ---- disks ------------------------------------------------------------------------------------

def admit_virtual_disk(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    check_name(checks, obj)
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
    old_size = get(old_spec, "persistentVolumeClaim", "size")
    new_size = get(spec, "persistentVolumeClaim", "size")
    provisioned = phase(old) not in (None, "", "Pending", "Provisioning", "WaitForUserUpload",
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
