"""dvpsim's own spec schemas (dvpsim/schemas.py) agree with the upstream CRDs of ../shared/dvp-crds.

For every served kind and version: the same fields, types, required lists, enums, defaults,
lengths, bounds and item counts; patterns are compared by what they accept and refuse over a
corpus of probe values. Then the 422 answers: the schema refusals dvpsim gives over HTTP.
"""
import re

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from dvpsim import schemas
from tests.contract.conftest import CRDS, crds
from tests.kube import fresh_namespace

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason=f"the upstream CRDs are not at {CRDS}")

NOT_SERVED = {"virtualmachinepools"}  # EE-only, not in dvpsim's scope
KIND_OF_PLURAL = {
    "clustervirtualimages": "ClusterVirtualImage", "virtualimages": "VirtualImage", "virtualdisks": "VirtualDisk",
    "virtualdisksnapshots": "VirtualDiskSnapshot", "virtualmachines": "VirtualMachine",
    "virtualmachineclasses": "VirtualMachineClass", "virtualmachineoperations": "VirtualMachineOperation",
    "virtualmachineblockdeviceattachments": "VirtualMachineBlockDeviceAttachment",
    "virtualmachineipaddresses": "VirtualMachineIPAddress",
    "virtualmachineipaddressleases": "VirtualMachineIPAddressLease",
    "virtualmachinemacaddresses": "VirtualMachineMACAddress",
    "virtualmachinemacaddressleases": "VirtualMachineMACAddressLease",
    "virtualmachinesnapshots": "VirtualMachineSnapshot",
    "virtualmachinesnapshotoperations": "VirtualMachineSnapshotOperation",
    "nodeusbdevices": "NodeUSBDevice", "usbdevices": "USBDevice",
}

PROBES = [
    # quantities
    "1", "0", "1Gi", "10Mi", "512Ki", "1.5G", "+1", "-1", "1e3", "1E+3", ".5", "5.", "Gi", "1Gb", "", "1 Gi",
    "100m", "1ki", "3.5Gi", "1..5",
    # core fractions and percentages
    "0%", "1%", "5%", "10%", "99%", "100%", "101%", "Auto", "auto", "5", "05%",
    # URLs
    "http://a.b/c", "https://cloud-images.ubuntu.com/noble/current/x.img", "https://x.y/z?q=1&r=2", "ftp://a",
    "http://", "https://a b", "http://x/%zz", "http://x/%20", "http://x/<script>", "HTTP://X",
    # digests
    "a" * 31, "a" * 32, "A" * 32, "a" * 33, "0" * 40, "f" * 64, "g" * 64, "e" * 128,
    # MAC addresses
    "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:fg", "aabbccddeeff",
    # names and image references
    "generic", "a.b-c", "-a", "A", "a..b", "ubuntu", "docker.io/user/img:tag", "localhost:5000/a/b",
    "registry.example.com:5000/a/b@sha256:" + "a" * 64, "Upper/Case", "docker.io/<username>/x:latest",
    "a:b:c", "img:" + "t" * 128, "img:" + "t" * 129, "host:80/img",
]


def walk(crd_schema, ours, path, problems):
    crd_type = "int-or-string" if crd_schema.get("x-kubernetes-int-or-string") else crd_schema.get("type")
    if crd_type != ours.type:
        problems.append(f"{path}: type {ours.type}, the CRD says {crd_type}")
        return
    for attr, key in (("min_length", "minLength"), ("max_length", "maxLength"), ("minimum", "minimum"),
                      ("maximum", "maximum"), ("min_items", "minItems"), ("max_items", "maxItems"),
                      ("default", "default")):
        if getattr(ours, attr) != crd_schema.get(key):
            problems.append(f"{path}: {key} {getattr(ours, attr)!r}, the CRD says {crd_schema.get(key)!r}")
    if set(ours.enum) != set(crd_schema.get("enum", [])):
        problems.append(f"{path}: enum {sorted(ours.enum)}, the CRD says {sorted(crd_schema.get('enum', []))}")
    if set(ours.required) != set(crd_schema.get("required", [])):
        problems.append(f"{path}: required {sorted(ours.required)}, the CRD says {crd_schema.get('required', [])}")
    if bool(ours.pattern) != bool(crd_schema.get("pattern")):
        problems.append(f"{path}: pattern {ours.pattern!r}, the CRD says {crd_schema.get('pattern')!r}")
    elif ours.pattern:
        differ = [p for p in PROBES if bool(re.search(ours.pattern, p)) != bool(re.search(crd_schema["pattern"], p))]
        if differ:
            problems.append(f"{path}: the pattern judges {differ[:5]} differently from the CRD's")
    if crd_type == "object":
        crd_map = crd_schema.get("additionalProperties")
        if isinstance(crd_map, dict) != (ours.values is not None):
            problems.append(f"{path}: map-ness differs")
        elif ours.values is not None:
            walk(crd_map, ours.values, f"{path}{{}}", problems)
        crd_props = crd_schema.get("properties") or {}
        for name in sorted(set(crd_props) | set(ours.properties)):
            if name not in ours.properties:
                problems.append(f"{path}.{name}: in the CRD, missing in dvpsim's schema")
            elif name not in crd_props:
                problems.append(f"{path}.{name}: in dvpsim's schema, not in the CRD")
            else:
                walk(crd_props[name], ours.properties[name], f"{path}.{name}", problems)
    if crd_type == "array":
        walk(crd_schema.get("items") or {}, ours.items, f"{path}[]", problems)


@pytest.mark.parametrize("key", sorted(crds()), ids=lambda key: f"{key[2]}.{key[1]}")
def test_it_has_a_spec_schema_that_agrees_with_the_crd(key):
    group, version, plural = key
    if plural in NOT_SERVED:
        pytest.skip("VirtualMachinePool is EE-only and not served by dvpsim")
    crd_spec = crds()[key][1].get("properties", {}).get("spec")
    ours = schemas.SPECS.get((KIND_OF_PLURAL[plural], version))
    if crd_spec is None:
        assert ours is None, "the CRD has no spec"
        return
    assert ours is not None, f"dvpsim has no schema for {plural}/{version}"
    problems = []
    walk(crd_spec, ours, "spec", problems)
    assert problems == []


def test_it_refuses_a_spec_the_schema_refuses_with_kube_apiservers_words(sim):
    ns = fresh_namespace(sim, "schema")
    api = client.CustomObjectsApi(sim.api())
    body = {"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachine",
            "metadata": {"name": "bad"},
            "spec": {"virtualMachineClassName": "generic", "cpu": {"cores": 0}, "memory": {"size": "lots"},
                     "runPolicy": "Sometimes", "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "d"}]}}
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", ns, "virtualmachines", body)
    assert caught.value.status == 422
    text = caught.value.body
    assert "spec.cpu.cores in body should be greater than or equal to 1" in text
    assert 'Unsupported value: \\"Sometimes\\"' in text or 'Unsupported value: "Sometimes"' in text
    assert "spec.memory.size in body should match" in text


def test_it_prunes_fields_the_schema_does_not_know(sim):
    ns = fresh_namespace(sim, "schema")
    api = client.CustomObjectsApi(sim.api())
    body = {"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualDisk",
            "metadata": {"name": "pruned"},
            "spec": {"persistentVolumeClaim": {"size": "1Gi", "sizeInGigabytes": 1}, "colour": "blue"}}
    created = api.create_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", ns, "virtualdisks", body)
    assert created["spec"] == {"persistentVolumeClaim": {"size": "1Gi"}}


def test_it_fills_in_the_schema_defaults(sim):
    ns = fresh_namespace(sim, "schema")
    api = client.CustomObjectsApi(sim.api())
    body = {"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualDiskSnapshot",
            "metadata": {"name": "defaults"}, "spec": {"virtualDiskName": "whatever"}}
    created = api.create_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", ns,
                                                  "virtualdisksnapshots", body)
    assert created["spec"]["requiredConsistency"] is True
