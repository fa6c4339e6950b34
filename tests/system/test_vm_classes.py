"""System → Virtualization → VM Classes: the list (default, VMs per class), the admin guide's creation form
(CPU Settings of every type, placement, sizing policies), the edit form with .spec.cpu locked, delete of a
class in use; refusals in the API's words with the input kept."""
import pytest
from django.urls import reverse

from tests.kube import GROUP, VERSION, create_dvp, custom, get_cluster_object, vm_body, wait_for

LIST = reverse("system:list", args=["virtualization/vm-classes"])
CREATE = reverse("system:vm-class-create")
CLUSTER_KIND = (GROUP, VERSION, "virtualmachineclasses")  # what `cleanup` deletes


def vmclass(sim, name):
    return get_cluster_object(sim, "virtualmachineclasses", name)


def guide_policy(**extra):
    """The admin guide's web-interface sizing policy: 1-4 cores, 5-100% fractions, 1-8 per core, step 1."""
    form = {"policy-count": "1", "policy-0-cores_min": "1", "policy-0-cores_max": "4",
            "policy-0-fractions": ["5", "10", "20", "50", "100"], "policy-0-memory_mode": "perCore",
            "policy-0-memory_min": "1", "policy-0-memory_max": "8", "policy-0-memory_step": "1"}
    form.update(extra)
    return form


def test_it_lists_the_default_class_and_how_many_vms_use_each(operator, sim, project, unique):
    create_dvp(sim, "virtualmachines", project, vm_body(unique("vm"), runPolicy="Manual"))
    page = operator.get(LIST).content.decode()
    row = page[page.index('id="row-generic"'):]
    row = row[:row.index("</tr>")]
    assert '<td data-column="Default">default</td>' in row
    count = int(row.split('<td data-column="VMs">')[1].split("<")[0])
    assert count >= 1


def test_it_offers_the_models_and_instruction_sets_the_nodes_report(operator):
    page = operator.post(CREATE, {"add": "policy", "policy-count": "0"}).content.decode()
    assert '<option value="IvyBridge"' in page and '<option value="Icelake-Server-noTSX"' in page
    assert 'name="cpu_features" value="avx512f"' in page and 'name="cpu_features" value="vmx"' in page
    for label in ("CPU Settings", "Required set of supported instructions", "Conditions for creating a universal "
                  "processor", "VM scheduling conditions on nodes", "Resource allocation rules for virtual machines",
                  "Allow setting core fractions", "Amount per core", "Sampling step"):
        assert label in page


def test_it_creates_a_discovery_class_with_placement_and_the_guides_sizing_policy(operator, sim, unique, cleanup):
    name = unique("class")
    cleanup.append(name)
    response = operator.post(CREATE, {
        "name": name, "cpu_type": "Discovery",
        "discovery-count": "1", "discovery-0-key": "node-role.kubernetes.io/control-plane",
        "discovery-0-operator": "DoesNotExist",
        "selector-count": "1", "selector-0-key": "node.deckhouse.io/group", "selector-0-operator": "In",
        "selector-0-values": "worker",
        "toleration-count": "1", "toleration-0-key": "dedicated", "toleration-0-operator": "Equal",
        "toleration-0-value": "virt", "toleration-0-effect": "NoSchedule",
        **guide_policy(**{"policy-0-default_fraction": "50"})})
    assert response.status_code == 302, response.content.decode()[-3000:]
    spec = vmclass(sim, name)["spec"]
    assert spec["cpu"] == {"type": "Discovery", "discovery": {"nodeSelector": {"matchExpressions": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}}}
    assert spec["nodeSelector"] == {"matchExpressions": [
        {"key": "node.deckhouse.io/group", "operator": "In", "values": ["worker"]}]}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "virt", "effect": "NoSchedule"}]
    assert spec["sizingPolicies"] == [{"cores": {"min": 1, "max": 4}, "coreFractions": [5, 10, 20, 50, 100],
                                       "defaultCoreFraction": 50,
                                       "memory": {"perCore": {"min": "1Gi", "max": "8Gi"}, "step": "1Gi"}}]
    written = custom(sim).get_cluster_custom_object(GROUP, "v1alpha3", "virtualmachineclasses", name)["spec"]
    assert written["sizingPolicies"][0]["coreFractions"] == ["5%", "10%", "20%", "50%", "100%"]
    assert written["sizingPolicies"][0]["defaultCoreFraction"] == "50%"
    wait_for(lambda: (vmclass(sim, name).get("status") or {}).get("phase") == "Ready")
    assert "avx512f" not in vmclass(sim, name)["status"]["cpuFeatures"]["enabled"]  # not every node has it


@pytest.mark.parametrize("cpu, expected", [
    ({"cpu_type": "Host"}, {"type": "Host"}),
    ({"cpu_type": "HostPassthrough"}, {"type": "HostPassthrough"}),
    ({"cpu_type": "Model", "cpu_model": "IvyBridge"}, {"type": "Model", "model": "IvyBridge"}),
    ({"cpu_type": "Features", "cpu_features": ["vmx"]}, {"type": "Features", "features": ["vmx"]}),
])
def test_it_creates_each_cpu_type(cpu, expected, operator, sim, unique, cleanup):
    name = unique("class")
    cleanup.append(name)
    assert operator.post(CREATE, {"name": name, **cpu, "policy-count": "0"}).status_code == 302
    assert vmclass(sim, name)["spec"]["cpu"] == expected


def test_it_places_a_features_class_only_on_nodes_with_those_instructions(operator, sim, unique, cleanup):
    name = unique("class")
    cleanup.append(name)
    operator.post(CREATE, {"name": name, "cpu_type": "Features", "cpu_features": ["avx512f"], "policy-count": "0"})
    wait_for(lambda: (vmclass(sim, name).get("status") or {}).get("phase") == "Ready")
    assert vmclass(sim, name)["status"]["availableNodes"] == ["virtlab-pt-1"]


def test_it_refuses_overlapping_core_ranges_in_the_admissions_words(operator, sim, unique):
    name = unique("class")
    response = operator.post(CREATE, {"name": name, "cpu_type": "Host", **guide_policy(**{
        "policy-count": "2", "policy-1-cores_min": "4", "policy-1-cores_max": "8", "policy-1-fractions": ["100"]})})
    page = response.content.decode()
    assert response.status_code == 422
    assert f"vmclass {name} has size policy cpu crosses" in page
    assert 'name="policy-1-cores_max" value="8"' in page and f'value="{name}"' in page
    assert vmclass(sim, name) is None


def test_it_says_on_the_rule_what_the_schema_refuses(operator, sim, unique):
    name = unique("class")
    response = operator.post(CREATE, {"name": name, "cpu_type": "Host", **guide_policy(**{"policy-0-cores_max": "1"})})
    assert response.status_code == 422
    assert "The maximum must be greater than the minimum" in response.content.decode()
    assert vmclass(sim, name) is None


def test_it_adds_a_rule_without_creating_anything(operator, sim, unique):
    name = unique("class")
    response = operator.post(CREATE, {"name": name, "cpu_type": "Host", "add": "policy", **guide_policy()})
    page = response.content.decode()
    assert response.status_code == 200 and "Rule 2" in page and 'name="policy-0-cores_max" value="4"' in page
    assert vmclass(sim, name) is None


def test_it_shows_the_cpu_locked_on_the_edit_form_and_keeps_it(operator, sim, unique, cleanup):
    name = unique("class")
    cleanup.append(name)
    operator.post(CREATE, {"name": name, "cpu_type": "Model", "cpu_model": "IvyBridge", **guide_policy()})
    edit = reverse("system:vm-class-edit", args=[name])
    page = operator.get(edit).content.decode()
    assert '<fieldset class="cpu-settings" disabled>' in page
    assert ".spec.cpu cannot be changed after the class is created" in page
    form = {"default": "on", "cpu_type": "Host", "resource_version": vmclass(sim, name)["metadata"]["resourceVersion"],
            "selector-count": "1", "selector-0-key": "kubernetes.io/hostname", "selector-0-operator": "In",
            "selector-0-values": "virtlab-pt-2", **guide_policy()}
    custom(sim).patch_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", "generic", {
        "metadata": {"annotations": {"virtualmachineclass.virtualization.deckhouse.io/is-default-class": None}}})
    try:
        assert operator.post(edit, form).status_code == 302
        saved = vmclass(sim, name)
        assert saved["spec"]["cpu"] == {"type": "Model", "model": "IvyBridge"}
        assert saved["spec"]["nodeSelector"]["matchExpressions"][0]["values"] == ["virtlab-pt-2"]
        assert saved["metadata"]["annotations"]["virtualmachineclass.virtualization.deckhouse.io/is-default-class"] \
            == "true"
    finally:
        custom(sim).patch_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", name, {"metadata": {
            "annotations": {"virtualmachineclass.virtualization.deckhouse.io/is-default-class": None}}})
        custom(sim).patch_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", "generic", {"metadata": {
            "annotations": {"virtualmachineclass.virtualization.deckhouse.io/is-default-class": "true"}}})


def test_it_keeps_an_edit_made_on_an_old_version(operator, sim, unique, cleanup):
    name = unique("class")
    cleanup.append(name)
    operator.post(CREATE, {"name": name, "cpu_type": "Host", **guide_policy()})
    old = vmclass(sim, name)["metadata"]["resourceVersion"]
    custom(sim).patch_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", name,
                                            {"metadata": {"labels": {"touched": "yes"}}})
    response = operator.post(reverse("system:vm-class-edit", args=[name]),
                             {"resource_version": old, **guide_policy(**{"policy-0-cores_max": "6"})})
    assert response.status_code == 409
    page = response.content.decode()
    assert "changed by someone else" in page and 'name="policy-0-cores_max" value="6"' in page
    assert vmclass(sim, name)["spec"]["sizingPolicies"][0]["cores"]["max"] == 4


def test_it_says_which_vms_use_a_class_it_deletes(operator, sim, project, unique, cleanup):
    name, vm = unique("class"), unique("vm")
    cleanup.append(name)
    operator.post(CREATE, {"name": name, "cpu_type": "Host", "policy-count": "0"})
    create_dvp(sim, "virtualmachines", project, vm_body(vm, runPolicy="Manual", virtualMachineClassName=name))
    delete = reverse("system:delete", args=["virtualization/vm-classes", name])
    assert f"{project}/{vm}" in operator.get(delete).content.decode()
    response = operator.post(delete)
    assert response["Location"] == reverse("system:detail", args=["virtualization/vm-classes", name])
    wait_for(lambda: any(c["type"] == "InUse" for c in (vmclass(sim, name).get("status") or {}).get("conditions", [])))
    page = operator.get(response["Location"]).content.decode()
    assert f"VirtualMachineClass cannot be deleted, there is VM that use it: {project}/{vm}." in page
