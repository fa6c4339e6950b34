"""The guide's web procedures on a VM's "Configuration" tab, followed word for word in the browser and checked with
kubectl: the "Placement" section ("How to perform the operation in the web interface in the Placement section" for
nodeSelector, "How to set preferences and mandatories...", "How to configure VM AntiAffinity on nodes...") and the
"Disks and Images" section ("How to work with static block devices..." in "Boot Disks", "How to work with dynamic
block devices..." in "Additional Disks"); and deleting a VM with the disks it leaves behind. The module works in a
project of its own."""
import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_project, open_section
from tests.kube import blank_disk, create_dvp, make_vm, wait_for, wait_for_phase
from tests.kubectl import kubectl

pytestmark = pytest.mark.browser
HOSTNAME = "kubernetes.io/hostname"


def get_json(sim, project, kind, name):
    return json.loads(kubectl(sim, "-n", project, "get", kind, name, "-o", "json").stdout)


def vm_and_ready_disk(sim, project, vm, disk):
    """A Running VM and a Ready empty disk beside it, for the disk procedures."""
    make_vm(sim, project, vm, f"{vm}-root")
    create_dvp(sim, "virtualdisks", project, blank_disk(disk))
    wait_for_phase(sim, "virtualdisks", project, disk, "Ready")


def open_configuration(page, project, vm):
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Virtual Machines" section.
    open_section(page, "Virtual Machines")
    # Select the required VM from the list and click on its name.
    page.get_by_role("link", name=vm, exact=True).click()
    # On the "Configuration" tab, scroll down to the section.
    page.locator("nav.tabs").get_by_role("link", name="Configuration").click()


def enter_label(page, block, add_in, key, value):
    """Click "Add" in the block; in the pop-up set the "Key" and "Value"; click "Enter"."""
    block.get_by_role("button", name="Add").click()
    dialog = page.get_by_role("dialog", name=add_in)
    dialog.get_by_label("Key").fill(key)
    dialog.get_by_label("Value").fill(value)
    dialog.get_by_role("button", name="Enter").click()


def test_it_binds_a_vm_to_nodes_by_labels_in_the_placement_section(log_in, sim, project):
    vm = "placement-selector-vm"
    make_vm(sim, project, vm, f"{vm}-root")
    page = log_in("alice")
    open_configuration(page, project, vm)
    placement = page.locator("#placement")
    expect(placement.get_by_role("heading", name="Placement", exact=True)).to_be_visible()
    # Click "Add" in the "Run on nodes" -> "Select nodes by labels" block; "Key" and "Value"; "Enter".
    block = placement.get_by_role("group", name="Run on nodes")
    expect(block.get_by_role("heading", name="Select nodes by labels")).to_be_visible()
    enter_label(page, block, "Select nodes by labels", "disktype", "ssd")
    expect(page.locator("#placement .changes")).to_contain_text("nodeSelector")
    # Click the "Save" button that appears.
    page.locator("#placement").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text(f"The placement rules of {vm} are saved.")
    expect(page).to_have_url(re.compile(r"/configuration/#placement$"))
    assert get_json(sim, project, "vm", vm)["spec"]["nodeSelector"] == {"disktype": "ssd"}


def test_it_places_a_vm_near_other_vms_in_the_placement_section(log_in, sim, project):
    vm = "placement-near-vm"
    make_vm(sim, project, vm, f"{vm}-root")
    page = log_in("alice")
    open_configuration(page, project, vm)
    # Click "Add" in the "Run VM near other VMs" block; "Key" and "Value"; "Enter".
    block = page.locator("#placement").get_by_role("group", name="Run VM near other VMs")
    enter_label(page, block, "Run VM near other VMs", "server", "database")
    # Select one of the options "On one server" or "In one zone".
    block = page.locator("#placement").get_by_role("group", name="Run VM near other VMs")
    block.get_by_label("Where 1").select_option(label="In one zone")
    # Click the "Save" button that appears.
    page.locator("#placement").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text(f"The placement rules of {vm} are saved.")
    affinity = get_json(sim, project, "vm", vm)["spec"]["affinity"]["virtualMachineAndPodAffinity"]
    assert affinity == {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": "topology.kubernetes.io/zone"}]}


def test_it_keeps_a_vm_away_from_similar_vms_in_the_placement_section(log_in, sim, project):
    vm = "placement-apart-vm"
    make_vm(sim, project, vm, f"{vm}-root")
    page = log_in("alice")
    open_configuration(page, project, vm)
    # Click "Add" in the "Identify similar VMs by labels" -> "Select labels" block; "Key" and "Value"; "Enter".
    block = page.locator("#placement").get_by_role("group", name="Identify similar VMs by labels")
    expect(block.get_by_role("columnheader", name="Select labels")).to_be_visible()
    enter_label(page, block, "Select labels", "server", "database")
    block = page.locator("#placement").get_by_role("group", name="Identify similar VMs by labels")
    # Check the boxes next to the labels you want to use in the placement settings.
    block.get_by_role("checkbox", name="Use the label server=database").check()
    # Select one of the options in the "Select options" section.
    expect(block.get_by_role("columnheader", name="Select options")).to_be_visible()
    block.get_by_label("Rule 1").select_option(label="Strict")
    block.get_by_label("Where 1").select_option(label="On one server")
    # Click the "Save" button that appears.
    page.locator("#placement").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text(f"The placement rules of {vm} are saved.")
    anti = get_json(sim, project, "vm", vm)["spec"]["affinity"]["virtualMachineAndPodAntiAffinity"]
    assert anti == {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": HOSTNAME}]}


def test_it_works_with_static_block_devices_in_boot_disks(log_in, sim, project):
    vm = "boot-disks-vm"
    vm_and_ready_disk(sim, project, vm, f"{vm}-second")
    page = log_in("alice")
    open_configuration(page, project, vm)
    section = page.locator("#disks")
    expect(section.get_by_role("heading", name="Disks and Images", exact=True)).to_be_visible()
    # You can add, extract, delete, resize, and reorder static block devices in the "Boot Disks" section.
    expect(section.get_by_role("heading", name="Boot Disks")).to_be_visible()
    section.get_by_label("Add a boot disk").select_option(f"VirtualDisk/{vm}-second")
    section.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"{vm}-second added to the boot disks.")
    expect(page).to_have_url(re.compile(r"/configuration/#disks$"))
    refs = lambda: [r["name"] for r in get_json(sim, project, "vm", vm)["spec"]["blockDeviceRefs"]]  # noqa: E731
    assert refs() == [f"{vm}-root", f"{vm}-second"]
    # Reorder.
    page.locator("#disks").get_by_role("button", name=f"Move {vm}-second up").click()
    expect(page.locator("#messages")).to_contain_text(f"{vm}-second moved up.")
    assert refs() == [f"{vm}-second", f"{vm}-root"]
    # Resize.
    page.locator("#disks").get_by_label(f"New size of {vm}-second").fill("2Gi")
    page.locator("#disks").get_by_label(f"New size of {vm}-second").press("Enter")
    expect(page.locator("#messages")).to_contain_text(f"{vm}-second is being resized to 2Gi.")
    assert get_json(sim, project, "vd", f"{vm}-second")["spec"]["persistentVolumeClaim"]["size"] == "2Gi"
    # Extract (remove from the boot disks).
    page.locator("#disks").get_by_role("button", name=f"Remove {vm}-second").click()
    expect(page.locator("#messages")).to_contain_text(f"{vm}-second removed from the boot disks.")
    assert refs() == [f"{vm}-root"]


def test_it_works_with_dynamic_block_devices_in_additional_disks(log_in, sim, project):
    vm = "additional-disks-vm"
    vm_and_ready_disk(sim, project, vm, f"{vm}-data")
    page = log_in("alice")
    open_configuration(page, project, vm)
    # You can add, extract, delete, and resize dynamic block devices in the "Additional Disks" section.
    section = page.locator("#disks")
    expect(section.get_by_role("heading", name="Additional Disks")).to_be_visible()
    section.get_by_label("Attach a disk or image").select_option(f"VirtualDisk/{vm}-data")
    section.get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"{vm}-data is being attached to {vm}.")
    attachments = lambda: [a for a in json.loads(kubectl(  # noqa: E731
        sim, "-n", project, "get", "vmbda", "-o", "json").stdout)["items"] if a["spec"]["virtualMachineName"] == vm]
    assert [a["spec"]["blockDeviceRef"] for a in attachments()] == [{"kind": "VirtualDisk", "name": f"{vm}-data"}]
    expect(page.locator("#additional-disks")).to_contain_text("Attached", timeout=30000)
    page.locator("#additional-disks").get_by_label(f"New size of {vm}-data").fill("3Gi")
    page.locator("#additional-disks").get_by_label(f"New size of {vm}-data").press("Enter")
    expect(page.locator("#messages")).to_contain_text(f"{vm}-data is being resized to 3Gi.")
    assert get_json(sim, project, "vd", f"{vm}-data")["spec"]["persistentVolumeClaim"]["size"] == "3Gi"
    page.locator("#additional-disks").get_by_role("button", name=f"Detach {vm}-data").click()
    expect(page.locator("#messages")).to_contain_text(f"{vm}-data is being detached from {vm}.")
    wait_for(lambda: not attachments(), timeout=30)


def test_it_deletes_a_vm_and_the_disks_the_user_checks(log_in, sim, project):
    vm = "deleted-with-disks-vm"
    make_vm(sim, project, vm, f"{vm}-root")
    page = log_in("alice")
    page.goto(f"/projects/{project}/vms/{vm}/")
    page.locator(".detail-actions").get_by_role("button", name="Delete", exact=True).click()
    disks = page.get_by_role("group", name="Disks it leaves behind")
    box = disks.get_by_role("checkbox", name=f"Delete the disk {vm}-root")
    expect(box).not_to_be_checked()
    box.check()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"The disk {vm}-root is being deleted.")
    wait_for(lambda: kubectl(sim, "-n", project, "get", "vd", f"{vm}-root", check=False).returncode != 0,
             timeout=60)
    assert kubectl(sim, "-n", project, "get", "vm", vm, check=False).returncode != 0 or \
        get_json(sim, project, "vm", vm)["metadata"].get("deletionTimestamp")
