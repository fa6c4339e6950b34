"""VM snapshots in a browser: Snapshots → Create on a stopped VM, the tab's live list (a snapshot taken with kubectl
shows up by itself), the snapshot's page, and Clone from the Operations menu. The guide's "How to create a VM
snapshot in the web interface", word for word, is tests/e2e/test_guide_vms.py's."""
import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

GROUP, VERSION, PROJECT = "virtualization.deckhouse.io", "v1alpha2", "project-a"


def create(api, plural, kind, body):
    api.create_namespaced_custom_object(GROUP, VERSION, PROJECT, plural,
                                        {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, **body})


def delete(api, plural, name):
    try:
        api.delete_namespaced_custom_object(GROUP, VERSION, PROJECT, plural, name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def stopped_vm(sim):
    """A VM created Stopped (run policy Manual, 10% CPU share), removed with its disk and snapshots afterwards."""
    api = client.CustomObjectsApi(sim.api("admin"))
    name = f"snap-{uuid.uuid4().hex[:6]}"
    create(api, "virtualdisks", "VirtualDisk", {"metadata": {"name": f"{name}-root"},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    create(api, "virtualmachines", "VirtualMachine", {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})
    yield name
    for snapshot in api.list_namespaced_custom_object(GROUP, VERSION, PROJECT, "virtualmachinesnapshots")["items"]:
        if snapshot["spec"].get("virtualMachineName") == name:
            delete(api, "virtualmachinesnapshots", snapshot["metadata"]["name"])
    delete(api, "virtualmachines", name)
    delete(api, "virtualdisks", f"{name}-root")


def test_it_creates_a_vm_snapshot_the_way_the_guide_walks_it(log_in, sim, stopped_vm):
    page = log_in("alice")
    page.goto("/projects/project-a/vms/")
    page.get_by_role("link", name=stopped_vm, exact=True).click()
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Stopped",
                                                                                timeout=60000)
    page.locator("nav.tabs").get_by_role("link", name="Snapshots").click()
    expect(page.locator("#vm-snapshots")).to_contain_text(f"No snapshots of {stopped_vm} yet.")
    page.get_by_role("button", name="Create", exact=True).click()  # a link styled as a button

    snapshot = f"{stopped_vm}-linux-vm-snapshot"
    page.get_by_label("Snapshot name").fill(snapshot)
    page.get_by_label("IP address conversion policy").select_option("Never")
    switch = page.get_by_role("switch", name="Consistency Guarantee")
    switch.check()
    expect(switch).to_be_checked()
    expect(page.locator("form.resource-form")).to_contain_text("There is no \"Snapshot Storage Class\" to choose")
    page.get_by_role("button", name="Show YAML").click()
    expect(page.locator("#yaml-preview-text")).to_contain_text("keepIPAddress: Never")
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page.locator("#messages")).to_contain_text(f"The snapshot {snapshot} of {stopped_vm} is being taken.")
    row = page.locator(f'tr[data-snapshot="{snapshot}"]')
    expect(row.locator("[data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)
    expect(row).to_contain_text("Never")
    expect(row).to_contain_text(f"VirtualDisk {stopped_vm}-root")

    # A snapshot taken elsewhere (kubectl) shows up on the open tab by itself, through the page's live updates.
    api = client.CustomObjectsApi(sim.api("admin"))
    create(api, "virtualmachinesnapshots", "VirtualMachineSnapshot",
           {"metadata": {"name": f"{stopped_vm}-kubectl"}, "spec": {"virtualMachineName": stopped_vm}})
    live = page.locator(f'tr[data-snapshot="{stopped_vm}-kubectl"]')
    expect(live.locator("[data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)
    expect(live).to_contain_text("Always")

    # The snapshot's own page: its status at the top left, under its name (the guide's last step).
    row.get_by_role("link", name=snapshot).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(snapshot)
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Ready")


def test_it_clones_a_vm_from_the_operations_menu(log_in, sim, stopped_vm):
    api = client.CustomObjectsApi(sim.api("admin"))
    page = log_in("alice")
    page.goto(f"/projects/project-a/vms/{stopped_vm}/")
    expect(page.locator("#status .status-line [data-phase]")).to_have_attribute("data-phase", "Stopped",
                                                                                timeout=60000)
    try:
        page.get_by_role("button", name="Operations").click()
        page.locator('#operations [data-operation="Clone"]').click()
        dialog = page.locator("#vm-dialog")
        expect(dialog).to_contain_text(f"Clone the virtual machine {stopped_vm}?")
        dialog.get_by_label("Name suffix").fill("-copy")
        dialog.get_by_role("button", name="Clone").click()
        expect(page.locator("#messages")).to_contain_text(
            f"Clone of {stopped_vm} requested: the new virtual machine is {stopped_vm}-copy")
        # The operation's row names the new VM and links to it once the clone is done (live updates).
        expect(page.locator("#status").get_by_role("link", name=f"{stopped_vm}-copy")).to_be_visible(timeout=60000)
    finally:
        delete(api, "virtualmachines", f"{stopped_vm}-copy")
        delete(api, "virtualdisks", f"{stopped_vm}-root-copy")
