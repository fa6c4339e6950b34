"""The user guide's "Quick start on creating a VM", done through the web interface."""
import pytest
from playwright.sync_api import expect

from tests.guide import CLOUD_INIT

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


def open_section(page, section):
    page.get_by_role("navigation", name="Project navigation").get_by_role("link", name=section).click()


def test_it_walks_the_quick_start(log_in, sim):
    page = log_in("alice")
    page.get_by_role("link", name="project-a").click()

    # 1. The image, from a link.
    open_section(page, "Disk Images")
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Load data from link (HTTP)").click()
    page.get_by_label("Image Name").fill("ubuntu")
    page.get_by_label("ContainerRegistry").check()
    page.get_by_label("URL").fill(f"{sim.url}/dvpsim/samples/noble-server-cloudimg-amd64.img")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="ubuntu")).to_be_visible()
    # The status under the name changes without a reload (pushed over the live WebSocket).
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)

    # 2. The disk, from the project image.
    open_section(page, "VM Disks")
    page.get_by_role("button", name="Create Disk").click()
    page.get_by_label("Disk Name").fill("linux-disk")
    page.get_by_label("Project", exact=True).check()
    page.get_by_label("Project image").select_option("ubuntu")
    page.get_by_label("Size").fill("5Gi")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="linux-disk")).to_be_visible()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)

    # 3. The VM with the guide's cloud-init.
    open_section(page, "Virtual Machines")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Name", exact=True).fill("linux-vm")
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.locator("#boot-disk-dialog")
    dialog.get_by_label("Choose from existing").check()
    dialog.get_by_label("Disk", exact=True).select_option("linux-disk")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#boot-disks")).to_contain_text("linux-disk")
    page.get_by_label("Cloud-init", exact=True).check()
    page.locator("#id_cloud_init").fill(CLOUD_INIT)
    page.locator("#vm-form").get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="linux-vm")).to_be_visible()
    expect(page.locator("#status [data-phase]").first).to_have_attribute("data-phase", "Running", timeout=60000)
    expect(page.locator("#status")).to_contain_text("10.66.10.")

    # 4. The TTY tab: log in as cloud / cloud.
    page.get_by_role("link", name="TTY").click()
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

    # 5. Delete the VM, the disk and the image, each after a confirmation.
    for section, name in (("Virtual Machines", "linux-vm"), ("VM Disks", "linux-disk"), ("Disk Images", "ubuntu")):
        open_section(page, section)
        if section == "Virtual Machines":  # a VM's actions are in its row menu
            page.get_by_role("button", name=f"Actions for {name}").click()
        page.get_by_role("link", name=f"Delete {name}").click()
        expect(page.get_by_role("heading", name="Delete")).to_contain_text(name)
        page.get_by_role("button", name="Delete").click()
        expect(page.locator(f"#row-{name}")).to_have_count(0, timeout=30000)
