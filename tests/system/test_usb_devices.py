"""System → USB devices (the admin guide's "USB devices", DVP EE): the operator sees the nodes' USB devices and
assigns one to a project, as the user; the project's users then see it in the project and attach it to a VM on
the VM's USB tab (spec.usbDevices, the tabs' guarded merge patch). dvpsim's USB gate is on for this module."""
import json

import pytest
from django.urls import reverse

from tests.kube import GROUP, VERSION, USB_NODE, assign_usb, custom, get_dvp, plug_usb, stopped_vm, usb_gate, wait_for

SECTION = "virtualization/usb-devices"
LIST = reverse("system:list", args=[SECTION])


@pytest.fixture(scope="module", autouse=True)
def gate(sim):
    with usb_gate(sim):
        yield


@pytest.fixture
def device(sim):
    plugged = plug_usb(sim, manufacturer="Yubico", product="YubiKey 5", vendorID="1050", productID="0407")
    return plugged["metadata"]["name"]


def node_device(sim, name):
    return custom(sim).get_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name)


def usb_devices(sim, namespace):
    return [u["metadata"]["name"] for u in
            custom(sim).list_namespaced_custom_object(GROUP, VERSION, namespace, "usbdevices")["items"]]


def tab(name, action=None):
    if action:
        return reverse(f"system:usb-devices-project-{action}", args=[name])
    return reverse("system:detail-tab", args=[SECTION, name, "project"])


def test_it_lists_the_nodes_usb_devices_to_the_operator_only(operator, owner, member, viewer, device):
    page = operator.get(LIST, {"q": device}).content.decode()
    assert f'data-name="{device}"' in page and USB_NODE in page
    assert "1050:0407 Yubico YubiKey 5" in page
    for column in ("Node", "Ready", "Assigned", "Attached", "Namespace", "Vendor/Product", "Serial"):
        assert f">{column}</th>" in page
    detail = operator.get(reverse("system:detail", args=[SECTION, device])).content.decode()
    assert "Assign to project" in detail and "not assigned" in detail and "YubiKey 5" in detail
    for client in (owner, member, viewer):
        assert client.get(LIST).status_code == 404
        assert client.get(reverse("system:detail", args=[SECTION, device])).status_code == 404
    assert f'href="{LIST}"' not in owner.get(reverse("projects:list")).content.decode()


def test_it_assigns_a_device_to_a_project_and_unassigns_it(operator, sim, project, device):
    form = operator.get(tab(device)).content.decode()
    assert f'<option value="{project}">' in form
    version = node_device(sim, device)["metadata"]["resourceVersion"]
    response = operator.post(tab(device, "assign"), {"project": project, "resource_version": version})
    assert response.status_code == 302
    assert node_device(sim, device)["spec"]["assignedNamespace"] == project
    wait_for(lambda: device in usb_devices(sim, project))
    page = operator.get(reverse("system:detail", args=[SECTION, device])).content.decode()
    assert f">{project}</a>" in page and "Unassign" in page
    version = node_device(sim, device)["metadata"]["resourceVersion"]
    assert operator.post(tab(device, "unassign"), {"resource_version": version}).status_code == 302
    assert node_device(sim, device)["spec"]["assignedNamespace"] == ""
    wait_for(lambda: device not in usb_devices(sim, project))


def test_it_refuses_a_project_that_is_not_offered_on_its_field(operator, sim, device):
    version = node_device(sim, device)["metadata"]["resourceVersion"]
    response = operator.post(tab(device, "assign"), {"project": "no-such-project", "resource_version": version})
    page = response.content.decode()
    assert response.status_code == 422 and 'id="id_project-error"' in page
    assert "Select a valid choice. no-such-project is not one of the available choices." in page
    assert node_device(sim, device)["spec"]["assignedNamespace"] == ""


def test_it_keeps_the_choice_when_someone_else_changed_the_device(operator, sim, project, other_project, device):
    stale = node_device(sim, device)["metadata"]["resourceVersion"]
    custom(sim).patch_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", device,
                                            {"spec": {"assignedNamespace": other_project}})
    response = operator.post(tab(device, "assign"), {"project": project, "resource_version": stale})
    page = response.content.decode()
    assert response.status_code == 422
    assert f"Someone else changed this device meanwhile (it is now assigned to {other_project})" in page
    assert f'<option value="{project}" selected>' in page
    fresh = node_device(sim, device)
    assert fresh["spec"]["assignedNamespace"] == other_project
    assert f'value="{fresh["metadata"]["resourceVersion"]}"' in page  # Assign again applies to the current device
    assert operator.post(tab(device, "assign"), {"project": project, "resource_version": fresh["metadata"][
        "resourceVersion"]}).status_code == 302
    assert node_device(sim, device)["spec"]["assignedNamespace"] == project


def test_it_shows_project_users_nothing_and_refuses_their_assignment(member, owner, sim, project, device):
    for client in (member, owner):
        response = client.post(tab(device, "assign"), {"project": project})
        assert response.status_code == 404
    assert node_device(sim, device)["spec"]["assignedNamespace"] == ""


# ---- the project's side --------------------------------------------------------------------------------------------

def vm_tab(project, vm, action=None):
    if action:
        return reverse(f"virtualization:vms-usb-{action}", args=[project, vm])
    return reverse("virtualization:detail-tab", args=[project, "vms", vm, "usb"])


def edit_form(sim, project, vm, **extra):
    obj = get_dvp(sim, "virtualmachines", project, vm)
    base = {"usbDevices": obj["spec"]["usbDevices"]} if obj["spec"].get("usbDevices") else {}
    return {"resource_version": obj["metadata"]["resourceVersion"], "base": json.dumps(base), **extra}


def test_it_lists_the_projects_usb_devices_and_attaches_one_to_a_vm(owner, viewer, sim, project, device):
    assign_usb(sim, device, project)
    listing = owner.get(reverse("virtualization:list", args=[project, "usb-devices"])).content.decode()
    assert f'data-name="{device}"' in listing and "YubiKey 5" in listing
    stopped_vm(sim, project, "usb-vm")
    page = owner.get(vm_tab(project, "usb-vm")).content.decode()
    assert f'<option value="{device}"' in page
    response = owner.post(vm_tab(project, "usb-vm", "attach"), edit_form(sim, project, "usb-vm", usb_device=device))
    assert response.status_code == 302
    assert get_dvp(sim, "virtualmachines", project, "usb-vm")["spec"]["usbDevices"] == [{"name": device}]
    wait_for(lambda: (get_dvp(sim, "virtualmachines", project, "usb-vm").get("status") or {}).get("usbDevices"))
    page = owner.get(vm_tab(project, "usb-vm")).content.decode()
    assert f'id="usb-{device}"' in page and f'aria-label="Detach {device}"' in page
    detail = owner.get(reverse("virtualization:detail", args=[project, "usb-devices", device])).content.decode()
    assert vm_tab(project, "usb-vm") in detail
    # The viewer sees it, without an enabled Detach.
    assert f'aria-label="Detach {device}" disabled' in viewer.get(vm_tab(project, "usb-vm")).content.decode()
    response = owner.post(vm_tab(project, "usb-vm", "detach"), edit_form(sim, project, "usb-vm", usb_device=device))
    assert response.status_code == 302
    assert not get_dvp(sim, "virtualmachines", project, "usb-vm")["spec"].get("usbDevices")


def test_it_refuses_a_device_the_project_does_not_have_on_its_field(owner, sim, project):
    stopped_vm(sim, project, "usb-bad")
    response = owner.post(vm_tab(project, "usb-bad", "attach"), edit_form(sim, project, "usb-bad",
                                                                         usb_device="usb-nowhere"))
    page = response.content.decode()
    assert response.status_code == 422 and 'id="id_usb_device-error"' in page
    assert "The project has no USB device named usb-nowhere" in page
    assert not get_dvp(sim, "virtualmachines", project, "usb-bad")["spec"].get("usbDevices")


def test_it_shows_the_apis_refusal_of_a_device_another_vm_uses(owner, sim, project, device):
    assign_usb(sim, device, project)
    stopped_vm(sim, project, "usb-first")
    stopped_vm(sim, project, "usb-second")
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", "usb-first",
                                               {"spec": {"usbDevices": [{"name": device}]}})
    assert f'<option value="{device}"' not in owner.get(vm_tab(project, "usb-second")).content.decode()
    response = owner.post(vm_tab(project, "usb-second", "attach"), edit_form(sim, project, "usb-second",
                                                                            usb_device=device))
    assert response.status_code == 422
    assert f"USB device {device} is already used by VirtualMachine {project}/usb-first" in response.content.decode()
    assert not get_dvp(sim, "virtualmachines", project, "usb-second")["spec"].get("usbDevices")


def test_it_keeps_a_concurrent_change_of_the_usb_devices(owner, sim, project):
    first, second = (plug_usb(sim)["metadata"]["name"] for _ in range(2))
    for name in (first, second):
        assign_usb(sim, name, project)
    stopped_vm(sim, project, "usb-race")
    stale = edit_form(sim, project, "usb-race", usb_device=second)
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", "usb-race",
                                               {"spec": {"usbDevices": [{"name": first}]}})
    response = owner.post(vm_tab(project, "usb-race", "attach"), stale)
    page = response.content.decode()
    assert response.status_code == 422 and "Someone else changed this VM&#x27;s USB devices meanwhile" in page
    assert get_dvp(sim, "virtualmachines", project, "usb-race")["spec"]["usbDevices"] == [{"name": first}]
