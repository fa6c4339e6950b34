"""The guide's web procedures for disks, followed word for word in the browser and checked with kubectl: "How to
find out the available storage options in the DVP web interface", "How to create a disk from an image", "How to
change the disk size" (Method #1 and Method #2) and "How to restore a disk from a previously created snapshot". The
module works in a project of its own."""
import json
import re

import pytest
from playwright.sync_api import expect

from portal.kube import quantity
from tests.e2e.steps import open_project, open_section
from tests.kube import blank_disk, create_dvp, sample_url, wait_for_phase
from tests.kubectl import kubectl

pytestmark = pytest.mark.browser


def get_json(sim, project, kind, name):
    return json.loads(kubectl(sim, "-n", project, "get", kind, name, "-o", "json").stdout)


@pytest.fixture
def made(sim, project):
    """What a test made, deleted (and waited for) when it ends, last made first: every procedure of the guide names
    its disk linux-vm-root."""
    objects = []
    yield lambda kind, name: objects.append((kind, name))
    for kind, name in reversed(objects):
        kubectl(sim, "-n", project, "delete", kind, name, "--ignore-not-found", timeout=120)


def ready_disk(sim, project, made, name, size, storage_class=None):
    made("virtualdisk", name)
    create_dvp(sim, "virtualdisks", project, blank_disk(name, size, storage_class))
    return wait_for_phase(sim, "virtualdisks", project, name, "Ready")


def open_vm_disks(page, project):
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "VM Disks" section.
    open_section(page, "VM Disks")


def expect_status_under_the_name(page, project, name, tab=""):
    # The disk status is displayed at the top left, under the disk name.
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(f"/projects/{project}/disks/{name}/{tab}$"))
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", "Ready",
                                                                                 timeout=60000)


def cell(page, row, header):
    """The row's cell under the column headed `header`, found by the header as a reader finds it."""
    headers = [text.strip() for text in page.locator("#table-disks thead th").all_inner_texts()]
    assert header in headers, headers
    return row.locator("td").nth(headers.index(header))


def test_it_shows_the_storage_options_under_system_as_the_guide_says(log_in, sim):
    page = log_in("alice")
    # Go to the "System" tab, then to the "Storage" section → "Storage Classes".
    page.get_by_role("link", name="System", exact=True).click()
    sidebar = page.get_by_role("navigation", name="System navigation")
    expect(sidebar.get_by_text("Storage", exact=True)).to_be_visible()
    sidebar.get_by_role("link", name="Storage Classes").click()
    expect(page.get_by_role("heading", name="Storage Classes")).to_be_visible()

    # What `d8 k get storageclass` shows: every class, the default marked, its volume binding mode.
    classes = json.loads(kubectl(sim, "get", "storageclass", "-o", "json").stdout)["items"]
    assert len(classes) >= 2
    rows = page.locator("#storage-classes tbody tr")
    expect(rows).to_have_count(len(classes))
    for sc in classes:
        row = rows.filter(has_text=re.compile(rf"^\s*{re.escape(sc['metadata']['name'])}\b"))
        expect(row).to_contain_text(sc.get("volumeBindingMode", "Immediate"))
        expect(row).to_contain_text(sc["provisioner"])
        is_default = (sc["metadata"].get("annotations") or {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true"
        expect(row.locator(".badge")).to_have_count(1 if is_default else 0)


def test_it_creates_a_disk_from_an_image_as_the_guide_says(log_in, sim, project, made):
    made("virtualimage", "ubuntu-22-04")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": "ubuntu-22-04"}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})
    image = wait_for_phase(sim, "virtualimages", project, "ubuntu-22-04", "Ready")
    page = log_in("alice")
    open_vm_disks(page, project)
    # Click "Create Disk".
    page.get_by_role("button", name="Create Disk", exact=True).click()
    made("virtualdisk", "linux-vm-root")
    # In the form that opens, enter `linux-vm-root` in the "Disk Name" field.
    page.get_by_label("Disk Name").fill("linux-vm-root")
    # In the "Source" field, make sure that the "Project" checkbox is selected.
    project_choice = page.get_by_role("group", name="Source").get_by_label("Project", exact=True)
    expect(project_choice).to_be_checked()
    # Select the image you want from the drop-down list (the list of the project's images).
    page.get_by_label("Project image").select_option("ubuntu-22-04")
    # In the "Size" field, you can change the size to a larger one or leave the default selection.
    expect(page.get_by_label("Size", exact=True)).to_have_value("")
    # In the "StorageClass Name" field, you can select a StorageClass or leave the default selection.
    expect(page.get_by_label("StorageClass Name")).to_have_value("")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect_status_under_the_name(page, project, "linux-vm-root")

    disk = get_json(sim, project, "virtualdisk", "linux-vm-root")
    assert disk["spec"] == {"dataSource": {"type": "ObjectRef",
                                           "objectRef": {"kind": "VirtualImage", "name": "ubuntu-22-04"}}}
    # No size given: the disk is as large as the unpacked image (the guide's linux-vm-root-2).
    assert quantity.to_bytes(disk["status"]["capacity"]) == quantity.to_bytes(image["status"]["size"]["unpacked"])


def test_it_changes_the_disk_size_with_the_pencil_as_the_guide_says(log_in, sim, project, made):
    """Method #1: the pencil in the list's "Size" column."""
    ready_disk(sim, project, made, "linux-vm-root", "10Gi")
    page = log_in("alice")
    open_vm_disks(page, project)
    # Select the desired disk and click on the pencil icon in the "Size" column.
    row = page.locator("#row-linux-vm-root")
    expect(cell(page, row, "Size")).to_contain_text("10Gi")
    cell(page, row, "Size").get_by_role("link", name="Change Size of linux-vm-root").click()
    # In the pop-up window, you can change the size to a larger one.
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Current size: 10Gi")
    dialog.get_by_label("Size", exact=True).fill("11Gi")
    # Click on the "Apply" button.
    dialog.get_by_role("button", name="Apply", exact=True).click()
    # The disk status is displayed in the "Status" column.
    row = page.locator("#row-linux-vm-root")
    expect(cell(page, row, "Size")).to_contain_text("11Gi", timeout=30000)
    expect(cell(page, row, "Status").locator("[data-phase]")).to_have_attribute("data-phase", "Ready")

    disk = get_json(sim, project, "virtualdisk", "linux-vm-root")
    assert disk["spec"]["persistentVolumeClaim"]["size"] == "11Gi"
    assert re.search(r"linux-vm-root\s+Ready\s+11Gi", kubectl(sim, "-n", project, "get", "vd",
                                                            "linux-vm-root").stdout)


def test_it_changes_the_disk_size_on_the_configuration_tab_as_the_guide_says(log_in, sim, project, made):
    """Method #2: the "Size" field of the disk's "Configuration" tab."""
    ready_disk(sim, project, made, "linux-vm-root", "10Gi")
    page = log_in("alice")
    open_vm_disks(page, project)
    # Select the desired disk and click on its name.
    page.locator("#row-linux-vm-root").get_by_role("link", name="linux-vm-root", exact=True).click()
    # In the form that opens, on the "Configuration" tab, in the "Size" field, you can change the size to a larger one.
    page.get_by_role("link", name="Configuration", exact=True).click()
    size = page.get_by_role("textbox", name="Size", exact=True)
    expect(size).to_have_value("10Gi")
    save = page.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_hidden()
    size.fill("11Gi")
    # Click on the "Save" button that appears.
    expect(save).to_be_visible()
    save.click()
    expect(page.get_by_text("The disk linux-vm-root is being resized to 11Gi.")).to_be_visible()
    # The disk status is displayed at the top left, under its name.
    expect_status_under_the_name(page, project, "linux-vm-root", tab="configuration/")
    for _ in range(100):
        disk = get_json(sim, project, "virtualdisk", "linux-vm-root")
        if disk["status"].get("capacity") == "11Gi":
            break
        page.wait_for_timeout(200)
    assert disk["spec"]["persistentVolumeClaim"]["size"] == "11Gi"
    assert disk["status"]["capacity"] == "11Gi" and disk["status"]["phase"] == "Ready"


def test_it_restores_a_disk_from_a_snapshot_as_the_guide_says(log_in, sim, project, made):
    ready_disk(sim, project, made, "linux-vm-root", "10Gi", "i-sds-replicated-thin-r2")
    made("virtualdisksnapshot", "linux-vm-root-1728027905")
    create_dvp(sim, "virtualdisksnapshots", project, {"metadata": {"name": "linux-vm-root-1728027905"},
                                                      "spec": {"virtualDiskName": "linux-vm-root",
                                                               "requiredConsistency": True}})
    wait_for_phase(sim, "virtualdisksnapshots", project, "linux-vm-root-1728027905", "Ready")
    page = log_in("alice")
    open_vm_disks(page, project)
    # Click "Create Disk".
    page.get_by_role("button", name="Create Disk", exact=True).click()
    made("virtualdisk", "linux-vm-root-restored")
    # In the form that opens, enter a name for the disk in the "Disk Name" field.
    page.get_by_label("Disk Name").fill("linux-vm-root-restored")
    # In the "Source" field, make sure the "Snapshots" checkbox is selected.
    page.get_by_role("group", name="Source").get_by_label("Snapshots", exact=True).check()
    # From the drop-down list, select the disk snapshot you want to restore from.
    page.get_by_label("Disk snapshot").select_option("linux-vm-root-1728027905")
    # In the "Size" field, set a size that is the same or larger than the size of the original disk.
    page.get_by_label("Size", exact=True).fill("10Gi")
    # In the "StorageClass Name" field, enter the "StorageClass" of the original disk.
    page.get_by_label("StorageClass Name").select_option("i-sds-replicated-thin-r2")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect_status_under_the_name(page, project, "linux-vm-root-restored")

    disk = get_json(sim, project, "virtualdisk", "linux-vm-root-restored")
    assert disk["spec"] == {
        "persistentVolumeClaim": {"size": "10Gi", "storageClassName": "i-sds-replicated-thin-r2"},
        "dataSource": {"type": "ObjectRef",
                       "objectRef": {"kind": "VirtualDiskSnapshot", "name": "linux-vm-root-1728027905"}}}
    assert disk["status"]["capacity"] == "10Gi"
    assert disk["status"]["storageClassName"] == "i-sds-replicated-thin-r2"
