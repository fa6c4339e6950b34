"""USB passthrough as DVP EE does it (dvpsim.controllers.usb): NodeUSBDevices of the devices on usbip nodes, a
USBDevice in the assigned namespace, attachment through a VM's spec.usbDevices; refused while the gate is off."""
import time
import urllib.error

import pytest
from kubernetes.client.exceptions import ApiException

from tests.kube import (GROUP, VERSION, USB_NODE, assign_usb, blank_disk, condition, create_dvp, custom,
                        fresh_namespace, plug_usb, stopped_vm, usb_gate, wait_for, wait_for_phase)


@pytest.fixture(scope="module", autouse=True)
def gate(sim):
    with usb_gate(sim):
        yield


@pytest.fixture(scope="module")
def namespace(sim):
    return fresh_namespace(sim, "usb")


def _node_device(sim, name):
    return custom(sim).get_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name)


def _usb_devices(sim, namespace):
    return [u["metadata"]["name"] for u in
            custom(sim).list_namespaced_custom_object(GROUP, VERSION, namespace, "usbdevices")["items"]]


def _vm(sim, namespace, name):
    return custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", name)


def test_it_discovers_a_plugged_device_unassigned_and_ready(sim):
    device = plug_usb(sim, vendorID="1050", productID="0407", product="YubiKey")
    name = device["metadata"]["name"]
    assert name.startswith("usb-") and len(name) == 44
    obj = wait_for(lambda: (lambda o: o if condition(o, "Assigned") else None)(_node_device(sim, name)))
    assert obj["status"]["nodeName"] == USB_NODE and obj["status"]["attributes"]["vendorID"] == "1050"
    assert obj["spec"]["assignedNamespace"] == ""
    assert (condition(obj, "Ready")["status"], condition(obj, "Ready")["reason"]) == ("True", "Ready")
    assert condition(obj, "Assigned")["reason"] == "Available"
    assert condition(obj, "Assigned")["message"] == "No namespace is assigned for the device."


def test_it_refuses_a_device_on_a_node_without_the_usbip_label(sim):
    with pytest.raises(urllib.error.HTTPError) as refused:
        plug_usb(sim, node="virtlab-pt-3")
    assert refused.value.code == 400
    assert "no virtualization.deckhouse.io/usbip=true label" in refused.value.read().decode()


def test_it_makes_a_usb_device_in_the_assigned_namespace_and_removes_it_when_unassigned(sim, namespace):
    name = plug_usb(sim)["metadata"]["name"]
    usb = assign_usb(sim, name, namespace)
    assert usb["metadata"]["ownerReferences"][0]["kind"] == "NodeUSBDevice"
    usb = wait_for(lambda: (lambda u: u if condition(u, "Ready") else None)(
        custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, "usbdevices", name)))
    assert usb["status"]["attributes"]["product"] == "DataTraveler 3.0" and usb["status"]["nodeName"] == USB_NODE
    assert condition(usb, "Attached")["reason"] == "Available"
    assigned = wait_for(lambda: (lambda c: c if c and c["status"] == "True" else None)(
        condition(_node_device(sim, name), "Assigned")))
    assert assigned["message"] == (f'The device is assigned to namespace "{namespace}", and the corresponding '
                                   "USBDevice has been created.")
    custom(sim).patch_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name, {"spec": {"assignedNamespace": ""}})
    wait_for(lambda: name not in _usb_devices(sim, namespace))
    assert condition(_node_device(sim, name), "Assigned")["status"] == "False"


def test_it_says_when_the_assigned_namespace_does_not_exist(sim):
    name = plug_usb(sim)["metadata"]["name"]
    custom(sim).patch_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name,
                                            {"spec": {"assignedNamespace": "no-such-namespace"}})
    wait_for(lambda: (condition(_node_device(sim, name), "Assigned") or {}).get("message")
             == "Namespace no-such-namespace does not exist.")


def test_it_attaches_a_device_to_a_running_vm_and_reports_it(sim, namespace):
    name = plug_usb(sim)["metadata"]["name"]
    assign_usb(sim, name, namespace)
    create_dvp(sim, "virtualdisks", namespace, blank_disk("usb-vm-root"))
    stopped_vm(sim, namespace, "usb-vm")
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-vm", {
        "spec": {"usbDevices": [{"name": name}]}})
    wait_for(lambda: (_vm(sim, namespace, "usb-vm")["status"].get("usbDevices") or [None])[0]
             == {"name": name, "attached": False, "ready": False})
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-vm",
                                               {"spec": {"runPolicy": "AlwaysOn"}})
    wait_for_phase(sim, "virtualmachines", namespace, "usb-vm", "Running", timeout=60)
    reported = wait_for(lambda: [s for s in _vm(sim, namespace, "usb-vm")["status"].get("usbDevices") or []
                                 if s.get("attached")])
    assert reported == [{"name": name, "attached": True, "ready": True, "hotplugged": True,
                         "address": {"bus": 0, "port": 1}}]
    usb_attached = wait_for(lambda: (lambda c: c if c and c["status"] == "True" else None)(condition(
        custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, "usbdevices", name), "Attached")))
    assert (usb_attached["reason"], usb_attached["message"]) == (
        "AttachedToVirtualMachine", f"Device is attached to VirtualMachine {namespace}/usb-vm.")
    wait_for(lambda: (condition(_node_device(sim, name), "Attached") or {}).get("reason") == "AttachedToVirtualMachine")
    # A second VM may not name a device the first one uses; the same device twice is refused too.
    with pytest.raises(ApiException) as refused:
        custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-vm", {
            "spec": {"usbDevices": [{"name": name}, {"name": name}]}})
    assert f"duplicate USB device {name} in spec.usbDevices" in refused.value.body
    stopped_vm(sim, namespace, "usb-other")
    with pytest.raises(ApiException) as refused:
        custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-other", {
            "spec": {"usbDevices": [{"name": name}]}})
    assert f"USB device {name} is already used by VirtualMachine {namespace}/usb-vm" in refused.value.body
    # Detach: the spec no longer names it.
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-vm",
                                               {"spec": {"usbDevices": None}})
    wait_for(lambda: not _vm(sim, namespace, "usb-vm")["status"].get("usbDevices"))
    wait_for(lambda: condition(custom(sim).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "usbdevices", name), "Attached")["reason"] == "Available")


def test_it_removes_the_usb_device_of_an_unplugged_device_and_forgets_an_unassigned_one(sim, namespace):
    assigned = plug_usb(sim)["metadata"]["name"]
    assign_usb(sim, assigned, namespace)
    unassigned = plug_usb(sim)["metadata"]["name"]
    for name in (assigned, unassigned):
        sim.control(f"usb/{name}", method="DELETE")
    wait_for(lambda: assigned not in _usb_devices(sim, namespace))
    assert condition(_node_device(sim, assigned), "Ready")["reason"] == "NotFound"
    assert condition(_node_device(sim, assigned), "Assigned")["reason"] == "InProgress"

    def gone():
        try:
            _node_device(sim, unassigned)
        except ApiException as exc:
            return exc.status == 404
    wait_for(gone)


def test_it_refuses_usb_devices_while_the_gate_is_off_as_the_community_edition(sim, namespace):
    stopped_vm(sim, namespace, "usb-ce")
    sim.control("feature-gates", {"USB": False})
    try:
        with pytest.raises(ApiException) as refused:
            custom(sim).patch_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachines", "usb-ce", {
                "spec": {"usbDevices": [{"name": "any"}]}})
        assert "USB device attachment requires Kubernetes version 1.34 or newer and enabled DRA feature gates" in \
            refused.value.body
        with pytest.raises(urllib.error.HTTPError) as off:
            sim.control("usb", {"node": USB_NODE, "vendorID": "0951", "productID": "1666"})
        assert off.value.code == 400 and "USB passthrough is off" in off.value.read().decode()
    finally:
        sim.control("feature-gates", {"USB": True})


def test_it_seeds_the_demo_usb_devices_only_with_the_gate():
    from tests.conftest import start_sim, stop_sim

    enterprise = start_sim("--feature-gate", "USB")
    try:
        devices = custom(enterprise).list_cluster_custom_object(GROUP, VERSION, "nodeusbdevices")["items"]
        assert sorted(d["status"]["attributes"]["product"] for d in devices) == [
            "DataTraveler 3.0", "Uno R3", "YubiKey OTP+FIDO+CCID"]
        assert {d["status"]["nodeName"] for d in devices} == {USB_NODE}
        assert enterprise.control("feature-gates") == {"USB": True}
    finally:
        stop_sim(enterprise)


def test_it_reconciles_what_changed_while_the_gate_was_off_once_it_is_on_again(sim, namespace):
    name = plug_usb(sim)["metadata"]["name"]
    wait_for(lambda: condition(_node_device(sim, name), "Assigned"))
    sim.control("feature-gates", {"USB": False})
    try:
        custom(sim).patch_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name,
                                                {"spec": {"assignedNamespace": namespace}})
        time.sleep(0.5)  # with the gate on, the USBDevice would be there by now
        assert name not in _usb_devices(sim, namespace)  # no controller runs in the Community Edition
    finally:
        sim.control("feature-gates", {"USB": True})
    wait_for(lambda: name in _usb_devices(sim, namespace))
