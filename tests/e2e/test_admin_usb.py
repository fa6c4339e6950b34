"""Admin guide, "USB devices" (DVP EE; dvpsim's USB gate is on for this module): the node with the usbip label, the
operator assigning one of its USB devices to a project in System → USB devices, and the project user attaching it
to a running VM on the VM's USB tab; each step checked with kubectl."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.kube import USB_NODE, delete_dvp, make_vm, plug_usb, usb_gate, wait_for
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


@pytest.fixture(scope="module", autouse=True)
def gate(sim):
    with usb_gate(sim):
        yield


def get(sim, *what):
    return json.loads(kubectl(sim, "get", *what, "-o", "json").stdout)


def test_it_assigns_a_usb_device_to_a_project_and_attaches_it_to_a_vm(log_in, sim):
    serial = uuid.uuid4().hex[:12].upper()
    device = plug_usb(sim, manufacturer="SafeNet", product="eToken 5110", vendorID="0529", productID="0620",
                      serial=serial)["metadata"]["name"]
    vm, disk = f"usb-{uuid.uuid4().hex[:6]}", f"usb-{uuid.uuid4().hex[:6]}"
    make_vm(sim, "project-a", vm, disk)
    try:
        # 'To check which nodes are ready for USB device passthrough:
        # d8 k get nodes -l virtualization.deckhouse.io/usbip=true'
        nodes = kubectl(sim, "get", "nodes", "-l", "virtualization.deckhouse.io/usbip=true").stdout
        assert USB_NODE in nodes
        assert get(sim, "nusb", device)["status"]["nodeName"] == USB_NODE

        page = log_in("operator")
        page.get_by_role("link", name="System", exact=True).click()
        page.get_by_role("navigation", name="System navigation").get_by_role("link", name="USB devices").click()
        row = page.locator(f'tr[data-name="{device}"]')
        expect(row).to_contain_text("0529:0620 SafeNet eToken 5110")
        expect(row).to_contain_text(serial)
        expect(row).to_contain_text(USB_NODE)
        row.get_by_role("link", name=device, exact=True).click()
        page.get_by_role("button", name="Assign to project").click()
        page.get_by_label("Project").select_option("project-a")
        page.get_by_role("button", name="Assign", exact=True).click()
        expect(page.get_by_text(f"The USB device {device} is assigned to the project project-a")).to_be_visible()
        assert get(sim, "nusb", device)["spec"]["assignedNamespace"] == "project-a"
        wait_for(lambda: kubectl(sim, "-n", "project-a", "get", "usb", device, check=False).returncode == 0)
        expect(page.locator("#usb-project")).to_have_text("project-a")
        page.get_by_role("button", name="Log out").click()

        page = log_in("alice")
        page.goto("/projects/project-a/usb-devices/")
        expect(page.locator(f'tr[data-name="{device}"]')).to_contain_text("eToken 5110")
        page.goto(f"/projects/project-a/vms/{vm}/")
        page.get_by_role("navigation", name="virtual machine tabs").get_by_role("link", name="USB", exact=True).click()
        page.get_by_label("USB device", exact=True).select_option(device)
        page.get_by_role("button", name="Attach").click()
        expect(page.get_by_text(f"USB device {device} added to {vm}")).to_be_visible()
        assert get(sim, "-n", "project-a", "vm", vm)["spec"]["usbDevices"] == [{"name": device}]
        expect(page.locator(f"#usb-{device}")).to_contain_text("yes (hot-plugged)", timeout=20000)
        reported = get(sim, "-n", "project-a", "vm", vm)["status"]["usbDevices"]
        assert reported[0]["name"] == device and reported[0]["attached"] and reported[0]["hotplugged"]
        attached = next(c for c in get(sim, "-n", "project-a", "usb", device)["status"]["conditions"]
                        if c["type"] == "Attached")
        assert (attached["status"], attached["reason"]) == ("True", "AttachedToVirtualMachine")
        page.get_by_role("button", name=f"Detach {device}").click()
        expect(page.get_by_text(f"USB device {device} detached from {vm}")).to_be_visible()
        assert not get(sim, "-n", "project-a", "vm", vm)["spec"].get("usbDevices")
    finally:
        delete_dvp(sim, "virtualmachines", "project-a", vm)
        kubectl(sim, "patch", "nusb", device, "--type", "merge", "-p", '{"spec":{"assignedNamespace":""}}', check=False)
