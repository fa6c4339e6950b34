"""The user guide's "Quick start on creating a VM", its "in the web interface" procedures followed word for word
(the guide's image link is external: dvpsim serves the same file), each result checked with kubectl. The module works in
a project of its own, where the guide's names (ubuntu, linux-disk, linux-vm) are free."""
import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_project, open_section
from tests.guide import CLOUD_INIT
from tests.kubectl import kubectl

pytestmark = pytest.mark.browser


def terminal_text(page):
    return page.evaluate("""() => {
        const buffer = window.dvpTerminal.buffer.active;
        const lines = [];
        for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
        return lines.join("\\n");
    }""")


def wait_for_terminal(page, text, timeout=20000):
    page.wait_for_function("""(text) => {
        const buffer = window.dvpTerminal && window.dvpTerminal.buffer.active;
        if (!buffer) return false;
        for (let i = 0; i < buffer.length; i++) if (buffer.getLine(i).translateToString(true).includes(text)) return true;
        return false;
    }""", arg=text, timeout=timeout)


def form_section(page, heading):
    """A part of the VM form the guide names by its heading ("Disks and Images", "Additional parameters")."""
    return page.locator("#vm-form section").filter(has=page.get_by_role("heading", name=heading))


def test_it_walks_the_quick_start(log_in, sim, project):
    page = log_in("alice")

    # 1. How to create a virtual machine image from an external source in the web interface.
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Disk Images" section. Click "Create Image".
    open_section(page, "Disk Images")
    page.get_by_text("Create Image").click()
    # Select "Load data from link (HTTP)" from the list.
    page.get_by_role("link", name="Load data from link (HTTP)", exact=True).click()
    # In the form that opens, enter `ubuntu` in the "Image Name" field.
    page.get_by_label("Image Name").fill("ubuntu")
    # Select `ContainerRegistry` in the "Storage" field.
    page.get_by_role("group", name="Storage").get_by_label("ContainerRegistry").check()
    # In the "URL" field, paste the link (cloud-images.ubuntu.com's noble image, as dvpsim serves it).
    page.get_by_label("URL", exact=True).fill(f"{sim.url}/dvpsim/samples/noble-server-cloudimg-amd64.img")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    # The image status is displayed at the top left, under the image name (pushed over the live WebSocket).
    expect(page.get_by_role("heading", name="ubuntu", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", "Ready",
                                                                                 timeout=30000)
    image = json.loads(kubectl(sim, "-n", project, "get", "vi", "ubuntu", "-o", "json").stdout)
    assert image["spec"] == {"storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {
        "url": f"{sim.url}/dvpsim/samples/noble-server-cloudimg-amd64.img"}}}

    # 2. How to create a virtual machine disk from the image created in the previous step in the web interface.
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" section → "VM Disks". Click "Create Disk".
    open_section(page, "VM Disks")
    page.get_by_role("button", name="Create Disk", exact=True).click()
    # In the form that opens, enter `linux-disk` in the "Disk Name" field.
    page.get_by_label("Disk Name").fill("linux-disk")
    # In the "Source" field, make sure that the "Project" checkbox is selected.
    expect(page.get_by_role("group", name="Source").get_by_label("Project", exact=True)).to_be_checked()
    # Select `ubuntu` from the drop-down list (the project's images).
    page.get_by_label("Project image").select_option("ubuntu")
    # In the "Size" field, you can change the size to a larger one, for example, `5Gi`.
    page.get_by_label("Size", exact=True).fill("5Gi")
    # In the "StorageClass Name" field, you can select StorageClass or leave the default selection.
    expect(page.get_by_label("StorageClass Name")).to_have_value("")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    # The disk status is displayed at the top left, under the disk name.
    expect(page.get_by_role("heading", name="linux-disk", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", "Ready",
                                                                                 timeout=30000)
    disk = json.loads(kubectl(sim, "-n", project, "get", "vd", "linux-disk", "-o", "json").stdout)
    assert disk["spec"] == {"persistentVolumeClaim": {"size": "5Gi"}, "dataSource": {
        "type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "ubuntu"}}}

    # 3. How to create a virtual machine in the web interface.
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Virtual Machines" section. Click "Create".
    open_section(page, "Virtual Machines")
    page.get_by_role("button", name="Create", exact=True).click()
    # In the form that opens, enter `linux-vm` in the "Name" field.
    page.get_by_label("Name", exact=True).fill("linux-vm")
    # In the "Machine Parameters" section, you can leave the settings at their default values.
    expect(page.get_by_role("heading", name="Machine Parameters")).to_be_visible()
    # In the "Disks and Images" section, in the "Boot Disks" subsection, click "Add".
    disks = form_section(page, "Disks and Images")
    expect(disks.get_by_role("heading", name="Boot Disks")).to_be_visible()
    disks.get_by_role("button", name="Add", exact=True).click()
    # If you have already created a disk: in the form that opens, click "Choose from existing".
    dialog = page.locator("#boot-disk-dialog")
    dialog.get_by_label("Choose from existing").check()
    # Select the `linux-disk` disk from the list.
    dialog.get_by_label("Disk", exact=True).select_option("linux-disk")
    expect(page.locator("#boot-disks")).to_contain_text("linux-disk")
    expect(dialog).to_be_hidden()
    # Scroll down to the "Additional parameters" section. Enable the "Cloud-init" switch.
    additional = form_section(page, "Additional parameters")
    additional.scroll_into_view_if_needed()
    additional.get_by_role("switch", name="Cloud-init").check()
    # Enter your data in the field that appears.
    cloud_init = additional.get_by_label("Cloud-init data")
    expect(cloud_init).to_be_visible()
    cloud_init.fill(CLOUD_INIT)
    # Click the "Create" button.
    page.locator("#vm-form").get_by_role("button", name="Create", exact=True).click()
    # The VM status is displayed at the top left, under its name.
    expect(page.get_by_role("heading", name="linux-vm", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]").first).to_have_attribute("data-phase", "Running",
                                                                                       timeout=60000)
    expect(page.locator("#status")).to_contain_text("10.66.10.")
    # `d8 k get vi,vd,vm`: the image and the disk Ready, the VM Running.
    listing = kubectl(sim, "-n", project, "get", "vi,vd,vm").stdout
    assert re.search(r"virtualimage\S*/ubuntu\s+Ready", listing)
    assert re.search(r"virtualdisk\S*/linux-disk\s+Ready\s+5Gi", listing)
    assert re.search(r"virtualmachine\S*/linux-vm\s+Running", listing)
    vm = json.loads(kubectl(sim, "-n", project, "get", "vm", "linux-vm", "-o", "json").stdout)
    assert vm["spec"]["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "linux-disk"}]

    # 5. How to connect to a virtual machine using the console in the web interface.
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Virtual Machines" section.
    open_section(page, "Virtual Machines")
    # Select the required VM from the list and click on its name.
    page.locator("#row-linux-vm").get_by_role("link", name="linux-vm", exact=True).click()
    # In the form that opens, go to the "TTY" tab.
    page.get_by_role("link", name="TTY", exact=True).click()
    # Go to the console window that opens. Here you can connect to the VM (as cloud / cloud).
    expect(page.locator("#tty-state")).to_have_text("Connected")
    wait_for_terminal(page, "linux-vm login:")
    page.locator("#tty").click()
    page.keyboard.type("cloud\r")
    wait_for_terminal(page, "Password:")
    page.keyboard.type("cloud\r")
    wait_for_terminal(page, "cloud@linux-vm:~$")
    page.keyboard.type("hostname\r")
    page.wait_for_function("() => true")
    assert "cloud@linux-vm:~$" in terminal_text(page)

    # 6. The guide deletes with d8 k delete; here the console's Delete, each after a confirmation.
    for section, name in (("Virtual Machines", "linux-vm"), ("VM Disks", "linux-disk"), ("Disk Images", "ubuntu")):
        open_section(page, section)
        if section == "Virtual Machines":  # a VM's actions are in its row menu
            page.get_by_role("button", name=f"Actions for {name}").click()
        page.get_by_role("link", name=f"Delete {name}").click()
        expect(page.get_by_role("heading", name="Delete")).to_contain_text(name)
        page.get_by_role("button", name="Delete").click()
        expect(page.locator(f"#row-{name}")).to_have_count(0, timeout=30000)
    assert kubectl(sim, "-n", project, "get", "vm/linux-vm", "vd/linux-disk", "vi/ubuntu", "--ignore-not-found",
                   "-o", "name").stdout == ""


def test_it_creates_the_quick_start_vm_with_a_new_disk(log_in, sim, project):
    """Step 3's other branch, "If you have not created a disk": the disk is made in the VM form's dialog."""
    kubectl(sim, "-n", project, "apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualImage", "metadata": {"name": "ubuntu"},
        "spec": {"storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {
            "url": f"{sim.url}/dvpsim/samples/noble-server-cloudimg-amd64.img"}}}}))
    kubectl(sim, "-n", project, "wait", "vi/ubuntu", "--for=jsonpath={.status.phase}=Ready", "--timeout=60s")
    page = log_in("alice")
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Virtual Machines" section. Click "Create".
    open_section(page, "Virtual Machines")
    page.get_by_role("button", name="Create", exact=True).click()
    # In the form that opens, enter `linux-vm` in the "Name" field.
    page.get_by_label("Name", exact=True).fill("linux-vm")
    # In the "Disks and Images" section, in the "Boot Disks" subsection, click "Add".
    form_section(page, "Disks and Images").get_by_role("button", name="Add", exact=True).click()
    dialog = page.locator("#boot-disk-dialog")
    # In the form that opens, click "Create new disk".
    dialog.get_by_label("Create new disk").check()
    # In the "Name" field, enter `linux-disk` (the dialog's only name: "Disk Name", as on "Create Disk").
    dialog.get_by_label("Name").fill("linux-disk")
    # In the "Source" field, make sure that the "Project" checkbox is selected.
    expect(dialog.get_by_role("group", name="Source").get_by_label("Project", exact=True)).to_be_checked()
    # Select `ubuntu` from the drop-down list.
    dialog.get_by_label("Project image").select_option("ubuntu")
    # In the "Size" field, you can change the size to a larger one, for example, `5Gi`.
    dialog.get_by_label("Size", exact=True).fill("5Gi")
    # In the "Storage Class" field, you can select StorageClass or leave the default selection.
    expect(dialog.get_by_label("Storage Class", exact=True)).to_have_value("")
    # Click the "Create and add" button.
    dialog.get_by_role("button", name="Create and add", exact=True).click()
    expect(page.locator("#boot-disks")).to_contain_text("linux-disk")
    # Scroll down to the "Additional parameters" section. Enable the "Cloud-init" switch; enter the data.
    additional = form_section(page, "Additional parameters")
    additional.get_by_role("switch", name="Cloud-init").check()
    additional.get_by_label("Cloud-init data").fill(CLOUD_INIT)
    # Click the "Create" button. The VM status is displayed at the top left, under its name.
    page.locator("#vm-form").get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="linux-vm", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]").first).to_have_attribute(
        "data-phase", "Running", timeout=60000)

    disk = json.loads(kubectl(sim, "-n", project, "get", "vd", "linux-disk", "-o", "json").stdout)
    assert disk["spec"] == {"persistentVolumeClaim": {"size": "5Gi"}, "dataSource": {
        "type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "ubuntu"}}}
    vm = json.loads(kubectl(sim, "-n", project, "get", "vm", "linux-vm", "-o", "json").stdout)
    assert vm["spec"]["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "linux-disk"}]
    assert vm["status"]["phase"] == "Running"
