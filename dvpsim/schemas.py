"""dvpsim's own structural schemas of the DVP kinds' `spec`, and the API server's checks with them.

Written for dvpsim (tests/contract/test_schemas.py checks that they agree with the upstream
CRDs). `prune_and_default` drops fields the schema does not know (as kube-apiserver does for
structural schemas) and applies defaults; `validate` returns 422 causes worded like
kube-apiserver's: `Required value`, `Unsupported value: …`, `Invalid value: …`.
"""

import re
from dataclasses import dataclass, field


@dataclass
class Schema:
    type: str                    # object, array, string, integer, boolean, int-or-string
    properties: dict = field(default_factory=dict)
    required: tuple = ()
    items: "Schema | None" = None
    values: "Schema | None" = None   # a map's value schema (additionalProperties)
    enum: tuple = ()
    pattern: str = ""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    default: object = None


def obj(properties=None, required=(), default=None):
    return Schema("object", properties=properties or {}, required=tuple(required), default=default)


def string(enum=(), pattern="", min_length=None, max_length=None, default=None):
    return Schema("string", enum=tuple(enum), pattern=pattern, min_length=min_length, max_length=max_length,
                  default=default)


def integer(minimum=None, maximum=None, default=None):
    return Schema("integer", minimum=minimum, maximum=maximum, default=default)


def boolean(default=None):
    return Schema("boolean", default=default)


def array(items, min_items=None, max_items=None):
    return Schema("array", items=items, min_items=min_items, max_items=max_items)


def string_map():
    return Schema("object", values=string())


def quantity():
    return Schema("int-or-string", pattern=QUANTITY)


# --- shared patterns (ours; the contract test proves they accept and refuse what the CRDs do) ----
NUMBER = r"([0-9]+(\.[0-9]*)?|\.[0-9]+)"
QUANTITY = rf"^[+-]?{NUMBER}([KMGTPE]i|[numkMGTPE]|[eE][+-]?{NUMBER})?$"
CORE_FRACTION = r"^(Auto|(100|[1-9][0-9]?)%)$"
PERCENT = r"^(100|[1-9][0-9]?)%$"
HTTP_URL = r"^https?://([a-zA-Z0-9$-_@.&+!*(),]|%[0-9a-fA-F]{2})+$"
MAC = r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
IMAGE_REFERENCE = (r"^((localhost|[\w-]+(\.[\w-]+)+)(:\d+)?/|\w+:\d+/)?[a-z0-9_.-]+(/[a-z0-9_.-]+)*"
                   r"(:\w[\w.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def hex_digest(length):
    return string(pattern=f"^[0-9a-fA-F]{{{length}}}$", min_length=length, max_length=length)


def checksums():
    return obj({"md5": hex_digest(32), "sha1": hex_digest(40), "sha256": hex_digest(64),
                "sha512": hex_digest(128), "streebog256": hex_digest(64), "streebog512": hex_digest(128)})


def data_source(ref_kinds, cluster_scoped=False, type_required=False):
    """dataSource of VirtualImage / ClusterVirtualImage / VirtualDisk."""
    pull_secret = {"name": string()}
    ref = {"kind": string(enum=ref_kinds), "name": string(min_length=1)}
    if cluster_scoped:
        pull_secret["namespace"] = string()
        ref["namespace"] = string()
    return obj({
        "type": string(enum=("HTTP", "ContainerImage", "ObjectRef", "Upload")),
        "http": obj({"url": string(pattern=HTTP_URL), "caBundle": string(), "checksum": checksums()},
                    required=["url"]),
        "containerImage": obj({"image": string(pattern=IMAGE_REFERENCE), "caBundle": string(),
                               "imagePullSecret": obj(pull_secret)}, required=["image"]),
        "objectRef": obj(ref, required=["kind", "name"]),
        "upload": obj({"checksum": checksums()}),
    }, required=["type"] if type_required else ())


def label_selector():
    return obj({"matchLabels": string_map(), "matchExpressions": array(selector_requirement())})


def selector_requirement():
    return obj({"key": string(), "operator": string(), "values": array(string())}, required=["key", "operator"])


def node_selector_term():
    return obj({"matchExpressions": array(selector_requirement()), "matchFields": array(selector_requirement())})


def affinity_term():
    return obj({"labelSelector": label_selector(), "namespaceSelector": label_selector(),
                "namespaces": array(string()), "topologyKey": string(),
                "matchLabelKeys": array(string()), "mismatchLabelKeys": array(string())},
               required=["topologyKey"])


def vm_affinity():
    return obj({
        "requiredDuringSchedulingIgnoredDuringExecution": array(affinity_term()),
        "preferredDuringSchedulingIgnoredDuringExecution": array(obj(
            {"weight": integer(1, 100), "virtualMachineAndPodAffinityTerm": affinity_term()},
            required=["virtualMachineAndPodAffinityTerm", "weight"])),
    })


def tolerations():
    return array(obj({"key": string(), "operator": string(), "value": string(), "effect": string(),
                      "tolerationSeconds": integer()}))


def name_replacement():
    return array(obj({"from": obj({"kind": string(min_length=1), "name": string(min_length=1)}, required=["name"]),
                      "to": string(min_length=1)}, required=["from", "to"]))


def customization():
    return obj({"namePrefix": string(), "nameSuffix": string()})


MODES = ("DryRun", "Strict", "BestEffort")
IMAGE_REF_KINDS = ("ClusterVirtualImage", "VirtualImage", "VirtualDisk", "VirtualDiskSnapshot")


def vm_class_spec(version):
    v3 = version == "v1alpha3"
    return obj({
        "cpu": obj({
            "type": string(enum=("Host", "HostPassthrough", "Discovery", "Model", "Features")),
            "model": string(min_length=1),
            "features": array(string(), min_items=1),
            "discovery": obj({"nodeSelector": label_selector()}),
        }, required=["type"]),
        "nodeSelector": label_selector(),
        "tolerations": tolerations(),
        "sizingPolicies": array(obj({
            "cores": obj({"min": integer(minimum=1), "max": integer(maximum=1024), "step": integer(minimum=1)},
                         required=["max", "min"]),
            "memory": obj({"min": quantity(), "max": quantity(), "step": quantity(),
                           "perCore": obj({"min": quantity(), "max": quantity()})}),
            "dedicatedCores": array(boolean()),
            "coreFractions": array(string(pattern=PERCENT) if v3 else integer(1, 100)),
            "defaultCoreFraction": string(pattern=CORE_FRACTION) if v3 else Schema("int-or-string", max_length=4),
        }, required=["cores"]), max_items=16),
    }, required=["cpu"])


VM_SPEC = obj({
    "virtualMachineClassName": string(min_length=1),
    "cpu": obj({"cores": integer(minimum=1), "coreFraction": string(pattern=CORE_FRACTION)}, required=["cores"]),
    "memory": obj({"size": string(pattern=QUANTITY)}, required=["size"]),
    "blockDeviceRefs": array(obj({"kind": string(enum=("ClusterVirtualImage", "VirtualImage", "VirtualDisk")),
                                  "name": string(min_length=1), "bootOrder": integer(minimum=1)}),
                             min_items=1, max_items=16),
    "runPolicy": string(enum=("AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually"),
                        default="AlwaysOnUnlessStoppedManually"),
    "osType": string(enum=("Windows", "Generic", "Legacy"), default="Generic"),
    "bootloader": string(enum=("BIOS", "EFI", "EFIWithSecureBoot"), default="BIOS"),
    "enableParavirtualization": boolean(default=True),
    "liveMigrationPolicy": string(enum=("AlwaysSafe", "PreferSafe", "AlwaysForced", "PreferForced"),
                                  default="PreferSafe"),
    "disruptions": obj({"restartApprovalMode": string(enum=("Manual", "Automatic"))},
                       default={"restartApprovalMode": "Manual"}),
    "terminationGracePeriodSeconds": integer(default=60),
    "provisioning": obj({
        "type": string(enum=("UserData", "UserDataRef", "SysprepRef")),
        "userData": string(),
        "userDataRef": obj({"kind": string(enum=("Secret",), default="Secret"), "name": string(min_length=1)},
                           required=["name", "kind"]),
        "sysprepRef": obj({"kind": string(enum=("Secret",), default="Secret"), "name": string(min_length=1)},
                          required=["kind", "name"]),
    }, required=["type"]),
    "virtualMachineIPAddressName": string(min_length=1),
    "networks": array(obj({"type": string(enum=("Main", "Network", "ClusterNetwork")), "name": string(min_length=1),
                           "id": integer(), "virtualMachineMACAddressName": string(min_length=1),
                           "ipAddressName": string(min_length=1)}, required=["type"])),
    "nodeSelector": string_map(),
    "priorityClassName": string(min_length=1),
    "tolerations": tolerations(),
    "affinity": obj({
        "nodeAffinity": obj({
            "requiredDuringSchedulingIgnoredDuringExecution": obj(
                {"nodeSelectorTerms": array(node_selector_term())}, required=["nodeSelectorTerms"]),
            "preferredDuringSchedulingIgnoredDuringExecution": array(obj(
                {"weight": integer(1, 100), "preference": node_selector_term()}, required=["preference", "weight"])),
        }),
        "virtualMachineAndPodAffinity": vm_affinity(),
        "virtualMachineAndPodAntiAffinity": vm_affinity(),
    }),
    "topologySpreadConstraints": array(obj({"maxSkew": integer(), "topologyKey": string(),
                                            "whenUnsatisfiable": string(), "labelSelector": label_selector()},
                                           required=["maxSkew", "topologyKey", "whenUnsatisfiable"])),
    "usbDevices": array(obj({"name": string(min_length=1)}, required=["name"]), max_items=8),
    "gpus": array(obj({"gpuClassName": string(pattern=DNS_SUBDOMAIN, min_length=1, max_length=253)},
                      required=["gpuClassName"]), max_items=16),
}, required=["virtualMachineClassName", "cpu", "memory", "blockDeviceRefs"])

SPECS = {
    ("VirtualImage", "v1alpha2"): obj({
        "storage": string(enum=("ContainerRegistry", "Kubernetes", "PersistentVolumeClaim"),
                          default="ContainerRegistry"),
        "persistentVolumeClaim": obj({"storageClassName": string()}),
        "dataSource": data_source(IMAGE_REF_KINDS),
    }, required=["dataSource", "storage"]),
    ("ClusterVirtualImage", "v1alpha2"): obj({
        "dataSource": data_source(IMAGE_REF_KINDS, cluster_scoped=True, type_required=True),
    }, required=["dataSource"]),
    ("VirtualDisk", "v1alpha2"): obj({
        "dataSource": data_source(("ClusterVirtualImage", "VirtualImage", "VirtualDiskSnapshot")),
        "persistentVolumeClaim": obj({"size": quantity(), "storageClassName": string()}),
    }),
    ("VirtualDiskSnapshot", "v1alpha2"): obj({
        "virtualDiskName": string(min_length=1), "requiredConsistency": boolean(default=True),
    }, required=["virtualDiskName"]),
    ("VirtualMachine", "v1alpha2"): VM_SPEC,
    ("VirtualMachineClass", "v1alpha2"): vm_class_spec("v1alpha2"),
    ("VirtualMachineClass", "v1alpha3"): vm_class_spec("v1alpha3"),
    ("VirtualMachineOperation", "v1alpha2"): obj({
        "type": string(enum=("Restart", "Start", "Stop", "Migrate", "Evict", "Restore", "Clone")),
        "virtualMachineName": string(min_length=1),
        "force": boolean(),
        "migrate": obj({"nodeSelector": string_map()}),
        "restore": obj({"mode": string(enum=MODES), "virtualMachineSnapshotName": string(min_length=1)},
                       required=["mode", "virtualMachineSnapshotName"]),
        "clone": obj({"mode": string(enum=MODES), "nameReplacement": name_replacement(),
                      "customization": customization()}, required=["mode"]),
    }, required=["type", "virtualMachineName"]),
    ("VirtualMachineBlockDeviceAttachment", "v1alpha2"): obj({
        "virtualMachineName": string(min_length=1),
        "blockDeviceRef": obj({"kind": string(enum=("VirtualDisk", "VirtualImage", "ClusterVirtualImage")),
                               "name": string(min_length=1)}),
    }, required=["blockDeviceRef", "virtualMachineName"]),
    ("VirtualMachineIPAddress", "v1alpha2"): obj({
        "type": string(enum=("Auto", "Static")), "staticIP": string(),
    }, required=["type"]),
    ("VirtualMachineIPAddressLease", "v1alpha2"): obj({
        "virtualMachineIPAddressRef": obj({"name": string(), "namespace": string()}, required=["name", "namespace"]),
    }),
    ("VirtualMachineMACAddress", "v1alpha2"): obj({"address": string(pattern=MAC)}),
    ("VirtualMachineMACAddressLease", "v1alpha2"): obj({
        "virtualMachineMACAddressRef": obj({"name": string(), "namespace": string()}, required=["name", "namespace"]),
    }),
    ("VirtualMachineSnapshot", "v1alpha2"): obj({
        "virtualMachineName": string(min_length=1),
        "requiredConsistency": boolean(default=True),
        "keepIPAddress": string(enum=("Always", "Never"), default="Always"),
    }, required=["keepIPAddress", "requiredConsistency", "virtualMachineName"]),
    ("VirtualMachineSnapshotOperation", "v1alpha2"): obj({
        "type": string(enum=("CreateVirtualMachine",)),
        "virtualMachineSnapshotName": string(min_length=1),
        "createVirtualMachine": obj({"mode": string(enum=MODES), "nameReplacement": name_replacement(),
                                     "customization": customization()}, required=["mode"]),
    }, required=["type", "virtualMachineSnapshotName"]),
    ("NodeUSBDevice", "v1alpha2"): obj({"assignedNamespace": string(default="")}),
}


# --- the checks ------------------------------------------------------------------------------

TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec", "status"}
OBJECT_META = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields"}


def prune_and_default(kind_name, version, obj_):
    """Drop fields the schema does not know and fill in defaults (at decoding, in kube-apiserver): unknown
    metadata fields of every kind; top-level and spec fields of the kinds with a schema here."""
    if not isinstance(obj_, dict):
        return obj_
    if isinstance(obj_.get("metadata"), dict):
        for key in [k for k in obj_["metadata"] if k not in OBJECT_META]:
            del obj_["metadata"][key]
    schema = SPECS.get((kind_name, version))
    if schema is not None:
        for key in [k for k in obj_ if k not in TOP_LEVEL]:
            del obj_[key]
        if isinstance(obj_.get("spec"), dict):
            obj_["spec"] = _prune_and_default(schema, obj_["spec"])
    return obj_


def unknown_fields(kind_name, version, obj_):
    """The fields of an object as sent that the schema of its version does not know, as kube-apiserver's strict
    decoding names them ("spec.cpu.coreFractions", "spec.blockDeviceRefs[0].nam"); [] for kinds without one."""
    schema = SPECS.get((kind_name, version))
    if schema is None or not isinstance(obj_, dict):
        return []
    found = sorted(k for k in obj_ if k not in TOP_LEVEL)
    meta = obj_.get("metadata")
    if isinstance(meta, dict):
        found += [f"metadata.{k}" for k in sorted(meta) if k not in OBJECT_META]
    if isinstance(obj_.get("spec"), dict):
        _unknown(schema, obj_["spec"], "spec", found)
    return found


def _unknown(schema, value, path, found):
    if schema.type == "object" and isinstance(value, dict):
        for key, item in value.items():
            if schema.values is not None:
                _unknown(schema.values, item, f"{path}.{key}", found)
            elif key in schema.properties:
                _unknown(schema.properties[key], item, f"{path}.{key}", found)
            else:
                found.append(f"{path}.{key}")
    elif schema.type == "array" and isinstance(value, list) and schema.items is not None:
        for index, item in enumerate(value):
            _unknown(schema.items, item, f"{path}[{index}]", found)


def validate(kind_name, version, obj_):
    """The 422 causes of the schema (after mutating admission, in kube-apiserver); [] when valid."""
    schema = SPECS.get((kind_name, version))
    if schema is None or not isinstance(obj_, dict):
        return []
    if "spec" not in obj_:
        return [_required("spec")] if kind_name in REQUIRES_SPEC else []
    causes = []
    _validate(schema, obj_["spec"], "spec", causes)
    return causes


# Kinds whose top-level schema requires .spec.
REQUIRES_SPEC = {"VirtualImage", "ClusterVirtualImage", "VirtualDiskSnapshot", "VirtualMachine",
                 "VirtualMachineClass", "VirtualMachineOperation", "VirtualMachineBlockDeviceAttachment",
                 "VirtualMachineIPAddress", "VirtualMachineSnapshot", "VirtualMachineSnapshotOperation",
                 "VirtualDisk"}


def _prune_and_default(schema, value):
    if schema.type == "object" and isinstance(value, dict):
        if schema.values is not None:
            return {k: _prune_and_default(schema.values, v) for k, v in value.items()}
        pruned = {k: _prune_and_default(schema.properties[k], v) for k, v in value.items() if k in schema.properties}
        for name, prop in schema.properties.items():
            if name not in pruned and prop.default is not None:
                pruned[name] = _prune_and_default(prop, _copy(prop.default))
        return pruned
    if schema.type == "array" and isinstance(value, list) and schema.items is not None:
        return [_prune_and_default(schema.items, item) for item in value]
    return value


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _show(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _required(path):
    return {"reason": "FieldValueRequired", "message": "Required value", "field": path}


def _invalid(path, value, detail):
    return {"reason": "FieldValueInvalid", "field": path,
            "message": f"Invalid value: {_show(value)}: {detail}"}


TYPE_NAMES = {"object": "object", "array": "array", "string": "string", "integer": "integer", "boolean": "boolean",
              "int-or-string": "integer or string"}


def _type_ok(kind, value):
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "int-or-string":
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    return True


def _validate(schema, value, path, causes):
    if value is None:
        return
    if not _type_ok(schema.type, value):
        causes.append({"reason": "FieldValueTypeInvalid", "field": path,
                       "message": f'Invalid value: "{type(value).__name__}": {path} in body must be of type '
                                  f'{TYPE_NAMES[schema.type]}: "{type(value).__name__}"'})
        return
    if schema.enum and value not in schema.enum:
        supported = ", ".join(f'"{e}"' for e in schema.enum)
        causes.append({"reason": "FieldValueNotSupported", "field": path,
                       "message": f"Unsupported value: {_show(value)}: supported values: {supported}"})
    if isinstance(value, str):
        if schema.pattern and not re.search(schema.pattern, value):
            causes.append(_invalid(path, value, f"{path} in body should match '{schema.pattern}'"))
        if schema.min_length is not None and len(value) < schema.min_length:
            causes.append(_invalid(path, value, f"{path} in body should be at least {schema.min_length} chars long"))
        if schema.max_length is not None and len(value) > schema.max_length:
            causes.append({"reason": "FieldValueTooLong", "field": path,
                           "message": f"Too long: may not be more than {schema.max_length} bytes"})
    if isinstance(value, int) and not isinstance(value, bool):
        if schema.minimum is not None and value < schema.minimum:
            causes.append(_invalid(path, value, f"{path} in body should be greater than or equal to {schema.minimum}"))
        if schema.maximum is not None and value > schema.maximum:
            causes.append(_invalid(path, value, f"{path} in body should be less than or equal to {schema.maximum}"))
    if isinstance(value, list):
        if schema.min_items is not None and len(value) < schema.min_items:
            causes.append(_invalid(path, len(value), f"{path} in body should have at least {schema.min_items} items"))
        if schema.max_items is not None and len(value) > schema.max_items:
            causes.append({"reason": "FieldValueTooMany", "field": path,
                           "message": f"Too many: {len(value)}: must have at most {schema.max_items} items"})
        for i, item in enumerate(value):
            _validate(schema.items, item, f"{path}[{i}]", causes)
    if isinstance(value, dict):
        for name in schema.required:
            if name not in value:
                causes.append(_required(f"{path}.{name}"))
        for name, item in value.items():
            child = schema.values if schema.values is not None else schema.properties.get(name)
            if child is not None:
                _validate(child, item, f"{path}.{name}", causes)
