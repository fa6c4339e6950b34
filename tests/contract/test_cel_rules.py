"""Every CEL rule of the upstream CRDs (x-kubernetes-validations) is enforced by dvpsim with its message.

For each rule an object that breaks it is sent to dvpsim, which must answer 422 with the CRD's
message. The list of rules is read from ../shared/dvp-crds at test time, so a rule without an
example here fails the coverage test.
"""
import copy
import json

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.contract.conftest import CRDS
from tests.kube import fresh_namespace

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason=f"the upstream CRDs are not at {CRDS}")

G = "virtualization.deckhouse.io"
NOT_SERVED = {"virtualmachinepools"}
# A rule that can never fire: it tests a type the enum does not allow (dvp-api-notes §4.12).
DEAD = {("virtualmachinesnapshotoperations", "CreateVirtualMachineName requires clone field.")}


def cel_rules():
    rules = set()

    def walk(schema, plural):
        if not isinstance(schema, dict):
            return
        for rule in schema.get("x-kubernetes-validations") or []:
            rules.add((plural, rule["message"]))
        for child in (schema.get("properties") or {}).values():
            walk(child, plural)
        walk(schema.get("items"), plural)

    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        plural = crd["spec"]["names"]["plural"]
        if plural in NOT_SERVED:
            continue
        for version in crd["spec"]["versions"]:
            walk(version["schema"]["openAPIV3Schema"], plural)
    return rules


def image(source):
    return {"storage": "ContainerRegistry", "dataSource": source}


def disk(source):
    return {"dataSource": source}


def cluster_image(source):
    return {"dataSource": source}


def vm(**spec):
    base = {"virtualMachineClassName": "generic", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "d"}]}
    base.update(spec)
    return base


def vmclass(cpu=None, policies=None):
    spec = {"cpu": cpu or {"type": "Host"}}
    if policies is not None:
        spec["sizingPolicies"] = policies
    return spec


def vmop(**spec):
    return {"virtualMachineName": "some-vm", **spec}


def clone(**fields):
    return vmop(type="Clone", clone={"mode": "DryRun", **fields})


def vmsop(**create):
    return {"type": "CreateVirtualMachine", "virtualMachineSnapshotName": "snap",
            "createVirtualMachine": {"mode": "DryRun", **create}}


HTTP_NO_URL = {"type": "HTTP"}
SOURCES = {
    "HTTP requires http and cannot have ContainerImage, ObjectRef or Upload.": HTTP_NO_URL,
    "ContainerImage requires containerImage and cannot have HTTP, ObjectRef or Upload.": {"type": "ContainerImage"},
    "ObjectRef requires objectRef and cannot have HTTP, ContainerImage or Upload.": {"type": "ObjectRef"},
    "Upload cannot have HTTP, ContainerImage or ObjectRef.": {"type": "Upload", "http": {"url": "http://a.b/c"}},
}
LONG = "n" * 60

# (plural, message) -> (version, spec of an object breaking the rule, spec to update it to or None)
EXAMPLES = {
    **{("virtualimages", m): ("v1alpha2", image(s), None) for m, s in SOURCES.items()},
    **{("virtualdisks", m): ("v1alpha2", disk(s), None) for m, s in SOURCES.items()},
    **{("clustervirtualimages", m): ("v1alpha2", cluster_image(s), None) for m, s in SOURCES.items()},
    ("clustervirtualimages", "The namespace is required for VirtualDisk, VirtualImage and VirtualDiskSnapshot"): (
        "v1alpha2", cluster_image({"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "x"}}), None),
    ("clustervirtualimages", "The namespace must be no longer than 63 characters."): (
        "v1alpha2", cluster_image({"type": "ObjectRef", "objectRef": {"kind": "VirtualDisk", "name": "x",
                                                                     "namespace": "n" * 64}}), None),
    ("virtualmachineclasses", ".spec.cpu is immutable"): (
        "v1alpha3", vmclass(), vmclass({"type": "HostPassthrough"})),
    ("virtualmachineclasses", "HostPassthrough and Host cannot have model, features or discovery"): (
        "v1alpha3", vmclass({"type": "Host", "model": "Haswell"}), None),
    ("virtualmachineclasses", "Discovery cannot have model or features"): (
        "v1alpha3", vmclass({"type": "Discovery", "model": "Haswell"}), None),
    ("virtualmachineclasses", "Model requires model and cannot have features or discovery"): (
        "v1alpha3", vmclass({"type": "Model"}), None),
    ("virtualmachineclasses", "Features requires features and cannot have model or discovery"): (
        "v1alpha3", vmclass({"type": "Features"}), None),
    ("virtualmachineclasses", "The maximum must be greater than the minimum"): (
        "v1alpha3", vmclass(policies=[{"cores": {"min": 4, "max": 4}}]), None),
    ("virtualmachineclasses", "The maximum must be greater than the step"): (
        "v1alpha3", vmclass(policies=[{"cores": {"min": 1, "max": 4, "step": 4}}]), None),
    ("virtualmachineclasses", "The default core fraction must be a number from 1 to 100, or 'Auto'."): (
        "v1alpha2", vmclass(policies=[{"cores": {"min": 1, "max": 4}, "defaultCoreFraction": 0}]), None),
    ("virtualmachineoperations", ".spec is immutable"): (
        "v1alpha2", vmop(type="Stop"), vmop(type="Stop", force=True)),
    ("virtualmachineoperations", "The `Start` operation cannot be performed forcibly."): (
        "v1alpha2", vmop(type="Start", force=True), None),
    ("virtualmachineoperations", "Restore requires restore field."): ("v1alpha2", vmop(type="Restore"), None),
    ("virtualmachineoperations", "Clone requires clone field."): ("v1alpha2", vmop(type="Clone"), None),
    ("virtualmachineoperations", "spec.migrate can only be set when spec.type is 'Migrate'"): (
        "v1alpha2", vmop(type="Stop", migrate={"nodeSelector": {"a": "b"}}), None),
    ("virtualmachineoperations", "At least one of customization.namePrefix, customization.nameSuffix, or "
                                 "nameReplacement must be set"): ("v1alpha2", clone(), None),
    ("virtualmachineoperations", "namePrefix length must be between 1 and 59 characters if set"): (
        "v1alpha2", clone(customization={"namePrefix": LONG}), None),
    ("virtualmachineoperations", "nameSuffix length must be between 1 and 59 characters if set"): (
        "v1alpha2", clone(customization={"nameSuffix": LONG}), None),
    ("virtualmachineoperations", "Each nameReplacement.to must be between 1 and 59 characters"): (
        "v1alpha2", clone(nameReplacement=[{"from": {"name": "a"}, "to": LONG}]), None),
    ("virtualmachines", "Core fraction must be 'Auto' or a percentage between 1% and 100%."): (
        "v1alpha2", vm(cpu={"cores": 1, "coreFraction": "0%"}), None),
    ("virtualmachines", "The Legacy osType requires the BIOS bootloader."): (
        "v1alpha2", vm(osType="Legacy", bootloader="EFI"), None),
    ("virtualmachines", "The Legacy osType does not support provisioning: such operating systems have no "
                        "cloud-init or Sysprep support."): (
        "v1alpha2", vm(osType="Legacy", provisioning={"type": "UserData", "userData": "#cloud-config"}), None),
    ("virtualmachines", "The Legacy osType with enableParavirtualization=false supports at most 4 block devices."): (
        "v1alpha2", vm(osType="Legacy", enableParavirtualization=False,
                       blockDeviceRefs=[{"kind": "VirtualDisk", "name": f"d{i}"} for i in range(5)]), None),
    ("virtualmachines", "`userData` exceeds 2048 byte limit; should use `userDataRef` for larger data."): (
        "v1alpha2", vm(provisioning={"type": "UserData", "userData": "#" * 2049}), None),
    ("virtualmachinesnapshotoperations", ".spec is immutable"): (
        "v1alpha2", vmsop(customization={"namePrefix": "a-"}), vmsop(customization={"namePrefix": "b-"})),
    ("virtualmachinesnapshotoperations", "At least one of customization.namePrefix, customization.nameSuffix, or "
                                         "nameReplacement must be set"): ("v1alpha2", vmsop(), None),
    ("virtualmachinesnapshotoperations", "namePrefix length must be between 1 and 59 characters if set"): (
        "v1alpha2", vmsop(customization={"namePrefix": LONG}), None),
    ("virtualmachinesnapshotoperations", "nameSuffix length must be between 1 and 59 characters if set"): (
        "v1alpha2", vmsop(customization={"nameSuffix": LONG}), None),
    ("virtualmachinesnapshotoperations", "Each nameReplacement.to must be between 1 and 59 characters"): (
        "v1alpha2", vmsop(nameReplacement=[{"from": {"name": "a"}, "to": LONG}]), None),
}
CLUSTER_SCOPED = {"clustervirtualimages", "virtualmachineclasses"}
KINDS = {"virtualimages": "VirtualImage", "virtualdisks": "VirtualDisk", "clustervirtualimages": "ClusterVirtualImage",
         "virtualmachineclasses": "VirtualMachineClass", "virtualmachineoperations": "VirtualMachineOperation",
         "virtualmachines": "VirtualMachine", "virtualmachinesnapshotoperations": "VirtualMachineSnapshotOperation"}


def test_it_has_an_example_for_every_cel_rule_of_the_crds():
    missing = sorted(cel_rules() - set(EXAMPLES) - DEAD)
    assert missing == []


@pytest.fixture(scope="module")
def namespace(sim):
    return fresh_namespace(sim, "cel")


def send(sim, namespace, plural, version, spec, name):
    api = client.CustomObjectsApi(sim.api())
    body = {"apiVersion": f"{G}/{version}", "kind": KINDS[plural], "metadata": {"name": name}, "spec": spec}
    if plural in CLUSTER_SCOPED:
        return api.create_cluster_custom_object(G, version, plural, body)
    return api.create_namespaced_custom_object(G, version, namespace, plural, body)


def update(sim, namespace, plural, version, spec, name):
    api = client.CustomObjectsApi(sim.api())
    patch = {"spec": spec}
    if plural in CLUSTER_SCOPED:
        return api.patch_cluster_custom_object(G, version, plural, name, patch)
    return api.patch_namespaced_custom_object(G, version, namespace, plural, name, patch)


@pytest.mark.parametrize("key", sorted(EXAMPLES), ids=lambda key: f"{key[0]}: {key[1][:50]}")
def test_it_refuses_what_breaks_the_rule_with_its_message(sim, namespace, key):
    plural, message = key
    version, spec, changed = EXAMPLES[key]
    name = f"cel-{abs(hash(key)) % 10**8}"
    with pytest.raises(ApiException) as caught:
        if changed is None:
            send(sim, namespace, plural, version, copy.deepcopy(spec), name)
        else:
            send(sim, namespace, plural, version, copy.deepcopy(spec), name)
            update(sim, namespace, plural, version, copy.deepcopy(changed), name)
    assert caught.value.status == 422, caught.value.body
    causes = [c.get("message", "") for c in json.loads(caught.value.body)["details"].get("causes", [])]
    assert any(message in cause for cause in causes), causes


def test_it_never_fires_the_dead_rule(sim, namespace):
    created = send(sim, namespace, "virtualmachinesnapshotoperations", "v1alpha2",
                   {"type": "CreateVirtualMachine", "virtualMachineSnapshotName": "snap"}, "dead-rule")
    assert created["metadata"]["name"] == "dead-rule"
