"""The VM's Configuration tab (a change that needs a restart, the banner, the restart) and the
Placement editor with its node preview."""
import pytest
from kubernetes import client
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"


def running_vm(sim, name):
    api = client.CustomObjectsApi(sim.api("admin"))
    api.create_namespaced_custom_object(GROUP, VERSION, "project-a", "virtualdisks", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualDisk", "metadata": {"name": f"{name}-root"},
        "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    api.create_namespaced_custom_object(GROUP, VERSION, "project-a", "virtualmachines", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"virtualMachineClassName": "generic", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
                 "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})


def test_it_saves_a_change_that_needs_a_restart_and_the_restart_clears_the_banner(log_in, sim):
    running_vm(sim, "tabs-cfg")
    page = log_in("alice")
    page.goto("/projects/project-a/vms/tabs-cfg/")
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Running",
                                                                                timeout=60000)
    page.get_by_role("link", name="Configuration").click()
    page.get_by_label("Cores").fill("2")
    page.get_by_label("Size", exact=True).fill("2Gi")
    page.get_by_label("Size", exact=True).blur()
    changes = page.locator("#config-changes")
    expect(changes).to_contain_text("cpu.cores")
    expect(changes.locator("tr", has_text="memory.size")).to_contain_text("after a restart")
    expect(changes).to_contain_text("The VM needs a restart to apply some of these changes")
    page.locator("#vm-config-form").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("The configuration of tabs-cfg is saved.")

    banner = page.locator("#restart-banner")
    expect(banner).to_contain_text("cpu.cores: 1 → 2", timeout=30000)
    expect(banner).to_contain_text("memory.size: 1Gi → 2Gi")
    banner.get_by_role("button", name="Restart").click()
    expect(page.locator("#messages")).to_contain_text("Restart requested for tabs-cfg")
    expect(page.locator("#restart-banner")).to_have_count(0, timeout=60000)
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Running",
                                                                                timeout=60000)
    expect(page.locator("#status")).to_contain_text("2Gi")


def test_it_edits_placement_with_a_preview_of_the_nodes(log_in, sim):
    running_vm(sim, "tabs-plc")
    page = log_in("operator")
    page.goto("/projects/project-a/vms/tabs-plc/placement/")
    preview = page.locator("#placement-preview")
    expect(preview).to_contain_text("3 of 3 nodes fit.")
    page.get_by_label("Key 1", exact=True).first.fill("topology.kubernetes.io/zone")
    page.get_by_label("Value 1", exact=True).first.fill("zone-b")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("1 of 3 nodes fit.")
    expect(preview).to_contain_text("Only one node satisfies the strict rules")
    expect(preview.locator("tr.fits")).to_contain_text("virtlab-pt-2")
    # "Run VM near other VMs": on one server with the VMs labelled server=database.
    near = page.locator("fieldset", has_text="Run VM near other VMs")
    near.get_by_role("button", name="Add").click()
    dialog = page.get_by_role("dialog", name="Run VM near other VMs")
    dialog.get_by_label("Key").fill("server")
    dialog.get_by_label("Value").fill("database")
    dialog.get_by_role("button", name="Enter").click()
    near = page.locator("fieldset", has_text="Run VM near other VMs")
    expect(near.get_by_label("Key 1")).to_have_value("server")
    near.get_by_label("Where 1").select_option(label="In one zone")
    page.locator("#placement-form").get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("The placement rules of tabs-plc are saved.")
    expect(page.get_by_label("Value 1", exact=True).first).to_have_value("zone-b")
    spec = client.CustomObjectsApi(sim.api("admin")).get_namespaced_custom_object(
        GROUP, VERSION, "project-a", "virtualmachines", "tabs-plc")["spec"]
    assert spec["nodeSelector"] == {"topology.kubernetes.io/zone": "zone-b"}
    assert spec["affinity"]["virtualMachineAndPodAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "topologyKey"] == "topology.kubernetes.io/zone"


def test_it_tells_a_project_user_which_permission_the_preview_needs(log_in, sim):
    running_vm(sim, "tabs-perm")
    page = log_in("alice")
    page.goto("/projects/project-a/vms/tabs-perm/placement/")
    expect(page.locator("#placement-preview")).to_contain_text("needs the list permission on nodes")


def test_it_shows_hot_plugged_disks_as_they_come_and_go(log_in, sim):
    running_vm(sim, "tabs-hot")
    api = client.CustomObjectsApi(sim.api("admin"))
    for disk in ("tabs-hot-data", "tabs-hot-more"):
        api.create_namespaced_custom_object(GROUP, VERSION, "project-a", "virtualdisks", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualDisk", "metadata": {"name": disk},
            "spec": {"persistentVolumeClaim": {"size": "2Gi"}}})
    page = log_in("alice")
    page.goto("/projects/project-a/vms/tabs-hot/")
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Running",
                                                                                timeout=60000)
    page.get_by_role("link", name="Disks and Images").click()
    expect(page.locator("#additional-disks")).to_contain_text("No hot-plugged disks.")
    # Attached from elsewhere (d8 k apply): the open tab follows the live socket, without a reload.
    api.create_namespaced_custom_object(GROUP, VERSION, "project-a", "virtualmachineblockdeviceattachments", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineBlockDeviceAttachment",
        "metadata": {"name": "attach-more"},
        "spec": {"virtualMachineName": "tabs-hot", "blockDeviceRef": {"kind": "VirtualDisk", "name": "tabs-hot-more"}}})
    row = page.locator("#additional-disks tr", has_text="tabs-hot-more")
    expect(row.locator("[data-phase]")).to_have_attribute("data-phase", "Attached", timeout=30000)
    expect(row).to_contain_text("2Gi")

    page.get_by_label("Attach a disk or image").select_option("VirtualDisk/tabs-hot-data")
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("tabs-hot-data is being attached to tabs-hot.")
    row = page.locator("#additional-disks tr", has_text="tabs-hot-data")
    expect(row.locator("[data-phase]")).to_have_attribute("data-phase", "Attached", timeout=30000)
    row.get_by_role("button", name="Detach tabs-hot-data").click()
    expect(page.locator("#messages")).to_contain_text("tabs-hot-data is being detached from tabs-hot.")
    expect(page.locator("#additional-disks tr", has_text="tabs-hot-data")).to_have_count(0, timeout=30000)
