"""The VM create form's additions: startup policy, auto-apply, sizing policy and topology, provisioning Secrets."""
import base64
import json
import re

from tests.kube import create_dvp, custom, get_dvp, get_secret
from tests.virtualization.vm_forms import create_url, vm_form


def existing_disk(project, sim, unique):
    name = unique("disk")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": name},
                                                  "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    return json.dumps({"mode": "existing", "name": name, "label": name})


def test_it_offers_only_the_core_counts_the_class_and_topology_allow(project, owner):
    page = owner.get(create_url(project)).content.decode()
    cores_select = page[page.index('name="cores"'):page.index('name="core_fraction"')]
    offered = {int(v) for v in re.findall(r'<option value="(\d+)"', cores_select)}
    assert offered == set(range(1, 17))  # generic: sizing policies up to 16 cores, one socket
    assert "Sizing policy of the class: 1–4 cores; memory 1Gi–8Gi in steps of 512Mi" in page


def test_it_explains_a_sizing_violation_on_the_field(project, owner, sim, unique):
    vm = unique("vm")
    data = vm_form(vm, [existing_disk(project, sim, unique)], cores="6", memory="4Gi", core_fraction="10%",
                   cloud_init_enabled="")
    page = owner.post(create_url(project), data).content.decode()
    assert "For 5–8 cores the memory must be between 5Gi and 16Gi." in page
    assert "With 6 cores the class generic allows a CPU share of 20%, 50%, 100%." in page
    assert 'value="4Gi"' in page
    assert get_dvp(sim, "virtualmachines", project, vm) is None


def test_it_explains_the_cpu_topology_steps(project, owner, sim, unique):
    data = vm_form(unique("vm"), [existing_disk(project, sim, unique)], cores="17", memory="17Gi", cloud_init_enabled="")
    page = owner.post(create_url(project), data).content.decode()
    assert "From 17 to 32 cores the VM has 2 sockets, so the number of cores must be a multiple of 2" in page


def test_it_sets_the_startup_policy_and_auto_apply(project, owner, sim, unique):
    vm = unique("vm")
    data = vm_form(vm, [existing_disk(project, sim, unique)], run_policy="AlwaysOff", auto_apply="on",
                   cloud_init="#cloud-config\npackage_update: true\n")
    response = owner.post(create_url(project), data)
    assert response.status_code == 302, response.content.decode()[:500]
    spec = get_dvp(sim, "virtualmachines", project, vm)["spec"]
    assert spec["runPolicy"] == "AlwaysOff"
    assert spec["disruptions"] == {"restartApprovalMode": "Automatic"}
    # Short and without passwords: inline.
    assert spec["provisioning"] == {"type": "UserData", "userData": "#cloud-config\npackage_update: true\n"}
    assert get_secret(sim, project, f"{vm}-cloud-init") is None


def test_it_puts_large_cloud_init_into_a_secret(project, owner, sim, unique):
    vm = unique("vm")
    big = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: |\n" + "      hello\n" * 300
    response = owner.post(create_url(project), vm_form(vm, [existing_disk(project, sim, unique)], cloud_init=big))
    assert response.status_code == 302
    assert get_dvp(sim, "virtualmachines", project, vm)["spec"]["provisioning"]["type"] == "UserDataRef"
    assert base64.b64decode(get_secret(sim, project, f"{vm}-cloud-init").data["userData"]).decode() == big


def test_it_provisions_windows_with_sysprep_in_a_secret(project, owner, sim, unique):
    vm = unique("vm")
    answer = '<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"/>'
    data = vm_form(vm, [existing_disk(project, sim, unique)], os_type="Windows", cloud_init_enabled="", sysprep=answer)
    assert owner.post(create_url(project), data).status_code == 302
    spec = get_dvp(sim, "virtualmachines", project, vm)["spec"]
    assert spec["osType"] == "Windows"
    assert spec["provisioning"] == {"type": "SysprepRef", "sysprepRef": {"kind": "Secret", "name": f"{vm}-sysprep"}}
    secret = get_secret(sim, project, f"{vm}-sysprep")
    assert secret.type == "provisioning.virtualization.deckhouse.io/sysprep"
    assert base64.b64decode(secret.data["unattend.xml"]).decode() == answer


def test_it_refuses_sysprep_for_a_generic_os(project, owner, sim, unique):
    data = vm_form(unique("vm"), [existing_disk(project, sim, unique)], cloud_init_enabled="", sysprep="<unattend/>")
    page = owner.post(create_url(project), data).content.decode()
    assert "Sysprep is for Windows" in page


def test_it_offers_only_the_core_steps_of_the_class(project, owner, sim, unique):
    vmclass = unique("stepped")
    custom(sim).create_cluster_custom_object("virtualization.deckhouse.io", "v1alpha2", "virtualmachineclasses", {
        "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineClass",
        "metadata": {"name": vmclass}, "spec": {"cpu": {"type": "Discovery"}, "sizingPolicies": [
            {"cores": {"min": 2, "max": 8, "step": 2}}]}})
    page = owner.post(create_url(project), vm_form(unique("vm"), [existing_disk(project, sim, unique)], vm_class=vmclass,
                                            cores="3", memory="3Gi", cloud_init_enabled="")).content.decode()
    cores_select = page[page.index('name="cores"'):page.index('name="core_fraction"')]
    assert {int(v) for v in re.findall(r'<option value="(\d+)"', cores_select)} == {2, 4, 6, 8}
    assert f"For 2–8 cores the class {vmclass} takes steps of 2 cores from 2." in page
