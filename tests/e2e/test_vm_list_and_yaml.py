"""Bulk Stop from the VM list with its confirmation; editing a VM as YAML with the dry-run diff."""
import uuid

import pytest
from playwright.sync_api import expect

from tests.kube import create_dvp, custom, make_vm, wait_for_phase

pytestmark = pytest.mark.browser

PROJECT = "project-a"


def test_it_stops_two_vms_from_the_list_after_a_confirmation(log_in, sim):
    tag = uuid.uuid4().hex[:5]
    names = [f"bulk-{tag}-{i}" for i in range(2)]
    for name in names:
        make_vm(sim, PROJECT, name, f"{name}-root")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/?q=bulk-{tag}")
    stop = page.locator("#bulk-form").get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_disabled()  # nothing selected yet
    for name in names:
        page.get_by_label(f"Select {name}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected:")
    stop.click()

    expect(page.get_by_role("heading", name="Stop 2 virtual machines?")).to_be_visible()
    for name in names:
        expect(page.locator(f'[data-target="{name}"]')).to_contain_text(name)
    page.get_by_role("button", name="Stop 2 virtual machines").click()

    expect(page.locator("#messages")).to_contain_text(f"Stop requested for {names[0]}")
    for name in names:
        expect(page.locator(f"#row-{name} [data-phase]")).to_have_attribute("data-phase", "Stopped", timeout=60000)


def test_it_edits_a_vm_as_yaml_after_reviewing_the_diff(log_in, sim):
    name = f"yaml-{uuid.uuid4().hex[:5]}"
    make_vm(sim, PROJECT, name, f"{name}-root")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/{name}/yaml/")
    page.get_by_role("button", name="Edit YAML").click()
    editor = page.get_by_label(f"YAML of VirtualMachine {name}")
    text = editor.input_value()
    editor.fill(text.replace("metadata:\n", "metadata:\n  labels:\n    tier: e2e\n", 1))
    page.get_by_role("button", name="Review changes").click()

    diff = page.locator("pre.diff")
    expect(diff).to_contain_text("+  labels:")
    expect(diff.locator(".diff-add", has_text="tier: e2e")).to_have_count(1)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#messages")).to_contain_text(f"The virtual machine {name} was saved.")
    expect(page.locator("pre.yaml")).to_contain_text("tier: e2e")


def test_it_offers_the_cpu_shares_of_the_chosen_core_count(log_in):
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/_new/")
    fraction = page.get_by_label("CPU Share")
    expect(fraction.locator('option[value="5%"]')).to_be_enabled()
    page.get_by_label("Cores").select_option("6")
    expect(fraction.locator('option[value="5%"]')).to_be_disabled()
    expect(fraction.locator('option[value="20%"]')).to_be_enabled()
    expect(page.locator("#id_memory_helptext")).to_contain_text("For 6 cores: 5–8 cores; memory 5Gi–16Gi")


def test_it_adds_a_label_on_the_meta_tab_as_the_guide_says(log_in, sim):
    name = f"meta-{uuid.uuid4().hex[:5]}"
    make_vm(sim, PROJECT, name, f"{name}-root")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/{name}/")
    page.get_by_role("link", name="Meta", exact=True).click()
    page.locator("#meta-labels").get_by_role("button", name="Add").click()
    dialog = page.locator("#meta-add-labels")
    dialog.get_by_label("Key").fill("tier")
    dialog.get_by_label("Value").fill("web")
    dialog.get_by_role("button", name="Enter").click()
    expect(dialog).not_to_be_visible()
    expect(page.locator('#meta-labels tr[data-key="tier"]')).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"Labels and annotations of {name} saved.")
    expect(page.locator('#meta-labels tr[data-key="tier"] input[aria-label="Value of tier"]')).to_have_value("web")


def test_it_holds_live_row_updates_while_a_row_menu_is_open(log_in, sim):
    name = f"menu-{uuid.uuid4().hex[:5]}"
    make_vm(sim, PROJECT, name, f"{name}-root")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/?q={name}")
    expect(page.locator(f"#row-{name} [data-phase]")).to_have_attribute("data-phase", "Running")
    page.get_by_role("button", name=f"Actions for {name}").click()
    menu = page.locator(f"#menu-{name}")
    menu.evaluate("menu => { menu.dataset.marker = 'opened'; }")

    create_dvp(sim, "virtualmachineoperations", PROJECT, {
        "metadata": {"generateName": f"{name}-"}, "spec": {"type": "Stop", "virtualMachineName": name}})
    wait_for_phase(sim, "virtualmachines", PROJECT, name, "Stopped", timeout=60)
    page.wait_for_timeout(1500)  # the live update reaches the page and is held back

    # The menu under the pointer is the same element, still open, and its row not yet redrawn.
    expect(menu).to_have_attribute("data-marker", "opened")
    expect(menu).to_have_attribute("open", "")
    expect(page.locator(f"#row-{name} [data-phase]")).to_have_attribute("data-phase", "Running")

    page.get_by_role("button", name=f"Actions for {name}").click()  # closing the menu lets the update in
    expect(page.locator(f"#row-{name} [data-phase]")).to_have_attribute("data-phase", "Stopped")
    expect(page.locator(f"#menu-{name}")).not_to_have_attribute("open", "")
    custom(sim).delete_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", PROJECT,
                                                "virtualmachines", name)
