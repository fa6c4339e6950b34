"""The user guide's web procedures for virtual machines, each followed word for word in the browser (the guide's
section names, buttons, fields and values) and its outcome checked with kubectl: create a VM (guide line 979),
connect to it (1346), its startup policy (1364), the operations of the list's ellipsis menu (1416), change its
configuration (1447), auto-apply changes (1555), labels and annotations on the "Meta" tab (1959), active operations
on the "Events" tab (2250), live migration from the ellipsis menu (2315) and a VM snapshot (2777).

The module works in a project of its own, where the guide's names (linux-vm, linux-vm-root, linux-vm-snapshot)
are free."""
import base64
import json

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_project
from tests.kube import blank_disk, create_dvp, delete_dvp, guest_vm, make_vm, wait_for, wait_for_phase
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]

# The cloud-init of "How to create a virtual machine in the web interface", as the guide prints it.
GUIDE_CLOUD_INIT = """#cloud-config
package_update: true
packages:
  - nginx
  - qemu-guest-agent
run_cmd:
  - systemctl daemon-reload
  - systemctl enable --now nginx.service
  - systemctl enable --now qemu-guest-agent.service
ssh_pwauth: True
users:
  - name: cloud
    passwd: "$6$rounds=4096$saltsalt$fPmUsbjAuA7mnQNTajQM6ClhesyG0.yyQhvahas02ejfMAq1ykBo1RquzS0R6GgdIDlvS.kbUwDablGZKZcTP/"
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    lock_passwd: False
final_message: "The system is finally up, after $UPTIME seconds"
"""


@pytest.fixture
def linux_vm(sim, project):
    """The guide's linux-vm, Running: the one the first test created in the browser, or made here."""
    guest_vm(sim, project, "linux-vm")
    return "linux-vm"


@pytest.fixture
def own_vm(sim, project):
    """A Running VM of one test, deleted with its disk afterwards so the simulated nodes keep room."""
    made = []

    def make(name):
        made.append(name)
        make_vm(sim, project, name, f"{name}-root")
        return name
    yield make
    for name in made:
        delete_dvp(sim, "virtualmachines", project, name)
        delete_dvp(sim, "virtualdisks", project, f"{name}-root")


def get_json(sim, project, *what):
    return json.loads(kubectl(sim, "-n", project, "get", *what, "-o", "json").stdout)


def open_vms(page, project):
    open_project(page, project)
    # Go to the "Virtualization" → "Virtual Machines" section.
    sidebar = page.get_by_role("navigation", name="Project navigation")
    expect(sidebar.locator(".section-label", has_text="Virtualization")).to_be_visible()
    sidebar.get_by_role("link", name="Virtual Machines", exact=True).click()


def open_vm(page, project, vm):
    open_vms(page, project)
    # Select the required VM from the list and click on its name.
    page.get_by_role("link", name=vm, exact=True).click()


def phase(page):
    return page.locator("#status .status-line [data-phase]")


def test_it_creates_a_vm_in_the_web_interface(log_in, sim, project):
    # The disk made in the guide's previous step ("linux-vm-root").
    create_dvp(sim, "virtualdisks", project, blank_disk("linux-vm-root"))
    wait_for_phase(sim, "virtualdisks", project, "linux-vm-root", "Ready")
    page = log_in("alice")
    open_vms(page, project)
    # Click "Create".
    page.get_by_role("button", name="Create", exact=True).click()
    form = page.locator("#vm-form")
    # In the form that opens, enter linux-vm in the "Name" field.
    form.get_by_label("Name", exact=True).fill("linux-vm")
    # In the "Machine Parameters" section, set 1 in "Cores", 10% in "CPU Share", 1Gi in "Size".
    machine = form.locator("section", has=page.get_by_role("heading", name="Machine Parameters", exact=True))
    machine.get_by_label("Cores", exact=True).select_option("1")
    machine.get_by_label("CPU Share", exact=True).select_option("10%")
    machine.get_by_label("Size", exact=True).fill("1Gi")
    # In the "Disks and Images" section, in the "Boot Disks" subsection, click "Add".
    disks = form.locator("section", has=page.get_by_role("heading", name="Disks and Images", exact=True))
    expect(disks.get_by_role("heading", name="Boot Disks", exact=True)).to_be_visible()
    disks.get_by_role("button", name="Add", exact=True).click()
    # In the form that opens, click "Choose from existing". Select the linux-vm-root disk from the list.
    dialog = page.get_by_role("dialog", name="Add boot disk")
    dialog.get_by_label("Choose from existing").check()
    dialog.get_by_label("Disk", exact=True).select_option("linux-vm-root")
    expect(page.locator("#boot-disks")).to_contain_text("linux-vm-root")
    expect(dialog).to_be_hidden()
    # Scroll down to the "Additional Parameters" section. Enable the "Cloud-init" switch.
    additional = form.locator("section", has=page.get_by_role("heading", name="Additional Parameters", exact=True))
    additional.scroll_into_view_if_needed()
    data = additional.get_by_label("Cloud-init data")
    expect(data).to_be_hidden()
    additional.get_by_role("switch", name="Cloud-init", exact=True).check()
    # Enter your data in the field that appears.
    expect(data).to_be_visible()
    data.fill(GUIDE_CLOUD_INIT)
    # Click the "Create" button.
    form.get_by_role("button", name="Create", exact=True).click()
    # The VM status is displayed at the top left, under its name.
    expect(page.get_by_role("heading", name="linux-vm", level=1)).to_be_visible()
    expect(phase(page)).to_have_attribute("data-phase", "Running", timeout=60000)

    vm = get_json(sim, project, "vm", "linux-vm")
    spec = vm["spec"]
    assert spec["cpu"] == {"cores": 1, "coreFraction": "10%"} and spec["memory"] == {"size": "1Gi"}
    assert spec["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "linux-vm-root"}]
    # The data holds a password, so it went into a Secret of the VM (UserDataRef) instead of the spec.
    assert spec["provisioning"]["type"] == "UserDataRef"
    secret = get_json(sim, project, "secret", spec["provisioning"]["userDataRef"]["name"])
    assert base64.b64decode(secret["data"]["userData"]).decode() == GUIDE_CLOUD_INIT
    assert vm["status"]["phase"] == "Running"
    assert "Running" in kubectl(sim, "-n", project, "get", "vm", "linux-vm").stdout


def test_it_connects_to_the_vm_in_the_web_interface(log_in, sim, project, linux_vm):
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    tabs = page.locator("nav.tabs")
    # In the form that opens, go to the "TTY" tab to work with the serial console.
    tabs.get_by_role("link", name="TTY", exact=True).click()
    expect(page.locator("#tty-state")).to_have_text("Connected")
    page.wait_for_function("""(text) => {
        const buffer = window.dvpTerminal && window.dvpTerminal.buffer.active;
        if (!buffer) return false;
        for (let i = 0; i < buffer.length; i++) if (buffer.getLine(i).translateToString(true).includes(text)) return true;
        return false;
    }""", arg=f"{linux_vm} login:", timeout=30000)
    # In the form that opens, go to the "VNC" tab to connect via VNC.
    tabs.get_by_role("link", name="VNC", exact=True).click()
    expect(page.locator("#vnc-state")).to_have_text("Connected")
    expect(page.locator("#vnc-screen canvas")).to_be_visible()
    assert get_json(sim, project, "vm", linux_vm)["status"]["phase"] == "Running"


def test_it_selects_a_startup_policy_in_the_web_interface(log_in, sim, project, linux_vm):
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    # On the "Configuration" tab, scroll down to the "Additional Settings" section.
    configuration_tab = page.locator("nav.tabs").get_by_role("link", name="Configuration")
    expect(configuration_tab).to_have_attribute("aria-current", "page")
    form = page.locator("#vm-config-form")
    settings = form.locator("section", has=page.get_by_role("heading", name="Additional Settings", exact=True))
    settings.scroll_into_view_if_needed()
    save = form.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_hidden()
    # Select the desired policy from the Startup Policy combo box.
    combo = settings.get_by_role("combobox", name="Startup Policy")
    expect(combo).to_have_value("AlwaysOnUnlessStoppedManually")
    combo.select_option("Manual")
    expect(page.locator("#config-changes")).to_contain_text("runPolicy")
    # (The guide stops at the choice; the change is kept with the "Save" button that appears, as in "Auto-apply".)
    save.click()
    expect(page.locator("#messages")).to_contain_text(f"The configuration of {linux_vm} is saved.")
    assert get_json(sim, project, "vm", linux_vm)["spec"]["runPolicy"] == "Manual"


def test_it_performs_operations_from_the_ellipsis_menu(log_in, sim, project, own_vm):
    vm = own_vm("ops-vm")
    page = log_in("alice")
    open_vms(page, project)
    # Select the desired virtual machine from the list and click the ellipsis button.
    ellipsis = page.get_by_role("button", name=f"Actions for {vm}")
    expect(ellipsis).to_have_text("⋯")
    ellipsis.click()
    # In the pop-up menu, you can select possible operations for the VM (the guide's table: Stop, Start, Restart,
    # and Migrate for d8 v evict).
    menu = page.locator(f"#menu-{vm} ul")
    expect(menu).to_be_visible()
    expect(menu.locator("[data-operation]")).to_have_text(["Start", "Stop", "Restart", "Migrate", "Clone", "Delete"])
    expect(menu.locator('[data-operation="Start"]')).to_have_attribute("aria-disabled", "true")  # it runs already
    menu.get_by_role("link", name=f"Stop {vm}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Stop the virtual machine {vm}?")
    dialog.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"Stop requested for {vm}")
    wait_for_phase(sim, "virtualmachines", project, vm, "Stopped", timeout=60)
    expect(page.locator(f"#row-{vm} [data-phase]")).to_have_attribute("data-phase", "Stopped", timeout=30000)

    page.get_by_role("button", name=f"Actions for {vm}").click()
    page.get_by_role("link", name=f"Start {vm}").click()
    page.get_by_role("dialog").get_by_role("button", name="Start", exact=True).click()
    wait_for_phase(sim, "virtualmachines", project, vm, "Running", timeout=60)
    operations = [op["spec"] for op in get_json(sim, project, "vmop")["items"]
                  if op["spec"]["virtualMachineName"] == vm]
    assert sorted(op["type"] for op in operations) == ["Start", "Stop"]


def test_it_changes_the_vm_configuration_in_the_web_interface(log_in, sim, project, own_vm):
    vm = own_vm("config-vm")
    page = log_in("alice")
    open_vm(page, project, vm)
    # You are now on the "Configuration" tab, where you can make changes.
    expect(page.locator("nav.tabs").get_by_role("link", name="Configuration")).to_have_attribute("aria-current", "page")
    form = page.locator("#vm-config-form")
    # The guide's example: the number of cores of the running VM, from 1 to 2.
    cores = form.get_by_label("Cores", exact=True)
    expect(cores).to_have_value("1")
    cores.fill("2")
    cores.blur()
    # The list of changed parameters and a warning if the VM needs to be restarted are displayed at the top of the page.
    changes = page.locator("#config-changes")
    expect(changes.locator("tr", has_text="cpu.cores")).to_contain_text("after a restart")
    expect(changes).to_contain_text("The VM needs a restart to apply some of these changes")
    assert changes.bounding_box()["y"] < form.get_by_role("heading", name="Machine Parameters").bounding_box()["y"]
    form.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"The configuration of {vm} is saved.")

    assert get_json(sim, project, "vm", vm)["spec"]["cpu"]["cores"] == 2
    awaiting = wait_for(lambda: json.loads(kubectl(sim, "-n", project, "get", "vm", vm, "-o",
                                                   "jsonpath={.status.restartAwaitingChanges}").stdout or "null"))
    assert {"currentValue": 1, "desiredValue": 2, "operation": "replace", "path": "cpu.cores"} in awaiting
    expect(page.locator("#restart-banner")).to_contain_text("cpu.cores: 1 → 2", timeout=30000)


def test_it_auto_applies_changes_in_the_web_interface(log_in, sim, project, linux_vm):
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    # On the "Configuration" tab, scroll down to the "Additional Settings" section.
    form = page.locator("#vm-config-form")
    settings = form.locator("section", has=page.get_by_role("heading", name="Additional Settings", exact=True))
    settings.scroll_into_view_if_needed()
    save = form.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_hidden()
    # Enable the "Auto-apply changes" switch.
    switch = settings.get_by_role("switch", name="Auto-apply changes")
    expect(switch).not_to_be_checked()
    switch.check()
    # Click on the "Save" button that appears.
    expect(save).to_be_visible()
    save.click()
    expect(page.locator("#messages")).to_contain_text(f"The configuration of {linux_vm} is saved.")
    expect(page.get_by_role("switch", name="Auto-apply changes")).to_be_checked()
    assert kubectl(sim, "-n", project, "get", "vm", linux_vm, "-o",
                   "jsonpath={.spec.disruptions.restartApprovalMode}").stdout == "Automatic"


def test_it_adds_labels_and_annotations_on_the_meta_tab(log_in, sim, project, linux_vm):
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    # Go to the "Meta" tab.
    page.locator("nav.tabs").get_by_role("link", name="Meta", exact=True).click()
    save = page.locator("form.meta-form").get_by_role("button", name="Save", exact=True)
    expect(save).to_be_hidden()
    # You can add labels in the "Labels" section, annotations in the "Annotations" section: click "Add" in the
    # section; in the pop-up window set the "Key" and "Value"; to confirm, click the "Enter" button.
    for section, key, value in (("Labels", "app", "nginx"), ("Annotations", "owner", "web team")):
        block = page.get_by_role("group", name=section)
        block.get_by_role("button", name="Add", exact=True).click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Key", exact=True).fill(key)
        dialog.get_by_label("Value", exact=True).fill(value)
        dialog.get_by_role("button", name="Enter").click()
        expect(dialog).to_be_hidden()
        expect(block.locator(f'tr[data-key="{key}"]')).to_be_visible()
    # Click the "Save" button that appears.
    expect(save).to_be_visible()
    save.click()
    expect(page.locator("#messages")).to_contain_text(f"Labels and annotations of {linux_vm} saved.")
    expect(page.locator("#meta-labels code", has_text="app")).to_be_visible()

    metadata = get_json(sim, project, "vm", linux_vm)["metadata"]
    assert metadata["labels"]["app"] == "nginx" and metadata["annotations"]["owner"] == "web team"
    assert linux_vm in kubectl(sim, "-n", project, "get", "vm", "-l", "app=nginx").stdout


def test_it_shows_active_operations_on_the_events_tab(log_in, sim, project, linux_vm):
    # An operation of the guide's table, started outside the console: `d8 v evict` creates an Evict vmop.
    kubectl(sim, "-n", project, "create", "-f", "-", stdin=json.dumps({
        "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineOperation",
        "metadata": {"generateName": f"evict-{linux_vm}-"},
        "spec": {"virtualMachineName": linux_vm, "type": "Evict"}}))
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    # Go to the "Events" tab.
    page.locator("nav.tabs").get_by_role("link", name="Events", exact=True).click()
    # `d8 k get vmop`: NAME PHASE TYPE VIRTUALMACHINE; each of the VM's operations is a row of the tab.
    ops = [op for op in get_json(sim, project, "vmop")["items"] if op["spec"]["virtualMachineName"] == linux_vm]
    assert ops
    for op in ops:
        row = page.locator('table.timeline tr[data-kind="operation"]', has_text=f"Operation {op['metadata']['name']}")
        expect(row).to_contain_text(op["spec"]["type"])
    evict = next(op for op in ops if op["spec"]["type"] == "Evict")
    wait_for_phase(sim, "virtualmachineoperations", project, evict["metadata"]["name"], "Completed", timeout=60)
    row = page.locator("table.timeline tr", has_text=f"Operation {evict['metadata']['name']}")
    expect(row.locator("[data-phase]")).to_have_attribute("data-phase", "Completed", timeout=30000)


def test_it_migrates_a_vm_live_in_the_web_interface(log_in, sim, project, linux_vm):
    source = get_json(sim, project, "vm", linux_vm)["status"]["nodeName"]
    page = log_in("alice")
    open_vms(page, project)
    # Select the desired virtual machine from the list and click the ellipsis button.
    page.get_by_role("button", name=f"Actions for {linux_vm}").click()
    # Select "Migrate" from the pop-up menu.
    page.locator(f"#menu-{linux_vm}").get_by_role("link", name=f"Migrate {linux_vm}").click()
    # Confirm or cancel the migration in the pop-up window.
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Migrate the virtual machine {linux_vm}?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()
    dialog.get_by_role("button", name="Migrate", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"Migrate requested for {linux_vm}")
    wait_for(lambda: get_json(sim, project, "vm", linux_vm)["status"].get("nodeName") not in (None, source),
             timeout=60)
    evictions = [op for op in get_json(sim, project, "vmop")["items"]
                 if op["spec"]["virtualMachineName"] == linux_vm and op["spec"]["type"] == "Evict"]
    assert any(op["metadata"]["name"].startswith(f"{linux_vm}-migrate-") for op in evictions)


def test_it_creates_a_vm_snapshot_in_the_web_interface(log_in, sim, project, linux_vm):
    page = log_in("alice")
    open_vm(page, project, linux_vm)
    # Go to the "Snapshots" tab. Click the "Create" button.
    page.locator("nav.tabs").get_by_role("link", name="Snapshots", exact=True).click()
    page.get_by_role("button", name="Create", exact=True).click()
    # In the form that opens, enter linux-vm-snapshot in the "Snapshot name" field.
    page.get_by_label("Snapshot name").fill("linux-vm-snapshot")
    # On the "Configuration" tab, select Never in the "IP address conversion policy" field.
    configuration = page.get_by_role("group", name="Configuration")
    configuration.get_by_label("IP address conversion policy").select_option("Never")
    # Enable the "Consistency Guarantee" switch.
    switch = configuration.get_by_role("switch", name="Consistency Guarantee")
    switch.check()
    expect(switch).to_be_checked()
    # In the "Snapshot Storage Class" field, select a class: the API has none, and the form says so in one line.
    expect(configuration.get_by_role("note")).to_contain_text('There is no "Snapshot Storage Class" to choose')
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"The snapshot linux-vm-snapshot of {linux_vm} is being taken.")
    # The snapshot status is displayed at the top left, under the snapshot name.
    page.locator('tr[data-snapshot="linux-vm-snapshot"]').get_by_role("link", name="linux-vm-snapshot").click()
    expect(page.get_by_role("heading", name="linux-vm-snapshot", level=1)).to_be_visible()
    expect(phase(page)).to_have_attribute("data-phase", "Ready", timeout=60000)

    snapshot = get_json(sim, project, "virtualmachinesnapshot", "linux-vm-snapshot")
    assert snapshot["spec"] == {"virtualMachineName": linux_vm, "requiredConsistency": True, "keepIPAddress": "Never"}
    assert snapshot["status"]["phase"] == "Ready"


def test_it_adds_a_disk_chosen_by_keyboard_only_on_add(log_in, sim, project, console_url):
    """A pointer choice in "Choose from existing" adds the disk at once; arrowing through the closed list with the
    keyboard fires "change" on every step, so there the disk is added by Add, not by the first one passed."""
    for name in ("kbd-disk-a", "kbd-disk-b"):
        create_dvp(sim, "virtualdisks", project, {"metadata": {"name": name},
                                                  "spec": {"persistentVolumeClaim": {"size": "100Mi"}}})
    page = log_in("alice")
    page.goto(f"{console_url}/projects/{project}/vms/_new/")
    page.locator("section", has=page.get_by_role("heading", name="Disks and Images", exact=True)) \
        .get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add boot disk")
    dialog.get_by_label("Choose from existing").check()
    disk = dialog.get_by_label("Disk", exact=True)
    disk.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(disk).to_have_value("kbd-disk-b")
    expect(dialog).to_be_visible()
    expect(page.locator("#boot-disks")).not_to_contain_text("kbd-disk-a")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#boot-disks")).to_contain_text("kbd-disk-b")
    expect(page.locator("#boot-disks")).not_to_contain_text("kbd-disk-a")
