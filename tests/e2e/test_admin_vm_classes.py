"""Admin guide, "VirtualMachineClass settings": the web-interface procedures of the VM class creation form (vCPU
of each type, placement, sizing policies), step by step as the guide words them, as the operator; the class then
checked with kubectl."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def creation_form(page, name):
    """'Go to the "System" tab, then to the "Virtualization" -> "VM Classes" section. Click the "Create" button.
    In the window that opens, enter a name for the VM class in the "Name" field.'"""
    page.get_by_role("link", name="System", exact=True).click()
    page.get_by_role("navigation", name="System navigation").get_by_role("link", name="VM Classes").click()
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Name", exact=True).fill(name)


def cpu_settings(page):
    return page.get_by_role("group", name="CPU Settings")


def vmclass(sim, name):
    return json.loads(kubectl(sim, "get", "virtualmachineclasses.v1alpha2.virtualization.deckhouse.io", name, "-o",
                              "json").stdout)


def pop_up(page, block, key, operator, value=""):
    """'Click "Add" in the … "Labels and expressions" block. In the pop-up window, you can set the "Key",
    "Operator" and "Value" … To confirm the key parameters, click the "Enter" button.'"""
    block.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Labels and expressions")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Key").fill(key)
    dialog.get_by_label("Operator").select_option(operator)
    if value:
        dialog.get_by_label("Value").fill(value)
    dialog.get_by_role("button", name="Enter", exact=True).click()
    expect(dialog).to_be_hidden()


def test_it_creates_a_class_with_a_discovery_vcpu_placement_and_sizing_policy(log_in, sim):
    name = f"discovery-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    creation_form(page, name)
    form_url = page.url
    # vCPU: 'In the "CPU Settings" block, select `Discovery` in the "Type" field. Click "Add" in the "Conditions for
    # creating a universal processor" -> "Labels and expressions" block …'
    cpu_settings(page).get_by_label("Type").select_option("Discovery")
    universal = page.get_by_role("group", name="Conditions for creating a universal processor")
    pop_up(page, universal, "node-role.kubernetes.io/control-plane", "DoesNotExist")
    expect(universal.get_by_label("Key")).to_have_value("node-role.kubernetes.io/control-plane")
    # Placement: 'Click "Add" in the "VM scheduling conditions on nodes" -> "Labels and expressions" block …' (the
    # guide's YAML example says `green`; the demo's nodes are in the group `worker`, so the class becomes Ready)
    scheduling = page.get_by_role("group", name="VM scheduling conditions on nodes")
    pop_up(page, scheduling.get_by_role("group", name="Labels and expressions"), "node.deckhouse.io/group", "In", "worker")
    # Sizing: 'Click "Add" in the "Resource allocation rules for virtual machines" block. In the "CPU" block, enter `1`
    # in the "Min" field …'
    page.get_by_role("group", name="Resource allocation rules for virtual machines").get_by_role(
        "button", name="Add", exact=True).click()
    cpu = page.get_by_role("group", name="Rule 1").get_by_role("group", name="CPU", exact=True)
    expect(cpu.get_by_label("Min")).to_be_focused()
    cpu.get_by_label("Min").fill("1")
    cpu.get_by_label("Max").fill("4")
    fractions = cpu.get_by_role("group", name="Allow setting core fractions")
    for fraction in ("5%", "10%", "20%", "50%", "100%"):
        fractions.get_by_label(fraction, exact=True).check()
    memory = page.get_by_role("group", name="Rule 1").get_by_role("group", name="Memory")
    memory.get_by_label("Amount per core").check()
    memory.get_by_label("Min").fill("1")
    memory.get_by_label("Max").fill("8")
    memory.get_by_label("Sampling step").fill("1")
    assert page.url == form_url  # every row was added in place: no reload, nothing typed was lost
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=20000)
    spec = vmclass(sim, name)["spec"]
    assert spec["cpu"] == {"type": "Discovery", "discovery": {"nodeSelector": {"matchExpressions": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}}}
    assert spec["nodeSelector"] == {"matchExpressions": [
        {"key": "node.deckhouse.io/group", "operator": "In", "values": ["worker"]}]}
    assert spec["sizingPolicies"] == [{"cores": {"min": 1, "max": 4}, "coreFractions": [5, 10, 20, 50, 100],
                                       "memory": {"perCore": {"min": "1Gi", "max": "8Gi"}, "step": "1Gi"}}]


def test_it_adds_rows_from_the_keyboard_and_escape_adds_none(log_in, sim):
    name = f"keys-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    creation_form(page, name)
    cpu_settings(page).get_by_label("Type").select_option("Host")
    labels = page.get_by_role("group", name="VM scheduling conditions on nodes").get_by_role(
        "group", name="Labels and expressions")
    labels.get_by_role("button", name="Add", exact=True).focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Labels and expressions")
    expect(dialog.get_by_label("Key")).to_be_focused()
    page.keyboard.type("scratch")
    page.keyboard.press("Escape")  # cancelled: no row
    expect(dialog).to_be_hidden()
    expect(labels.get_by_label("Key")).to_have_count(0)
    expect(labels.get_by_role("button", name="Add", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Key")).to_have_value("")  # the pop-up starts empty again
    page.keyboard.type("node.deckhouse.io/group")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("green, blue")
    page.keyboard.press("Enter")  # Enter confirms
    expect(labels.get_by_label("Key")).to_have_value("node.deckhouse.io/group")
    tolerations = page.get_by_role("group", name="Tolerations")
    tolerations.get_by_role("button", name="Add", exact=True).click()
    toleration = page.get_by_role("dialog", name="Toleration")
    toleration.get_by_label("Key").fill("dedicated")
    toleration.get_by_label("Value").fill("vms")
    toleration.get_by_label("Effect").select_option("NoSchedule")
    toleration.get_by_label("Value").press("Enter")
    expect(tolerations.get_by_label("Key")).to_have_value("dedicated")
    page.get_by_label("Name", exact=True).press("Enter")  # Enter in a field of the form opens no pop-up
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    spec = vmclass(sim, name)["spec"]
    assert spec["nodeSelector"] == {"matchExpressions": [
        {"key": "node.deckhouse.io/group", "operator": "In", "values": ["green", "blue"]}]}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}]


def test_it_adds_rows_without_javascript_too(browser, console_url, sim):
    from tests.e2e.conftest import PASSWORD

    context = browser.new_context(base_url=console_url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.get_by_label("User name").fill("operator")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/projects/")
        name = f"nojs-{uuid.uuid4().hex[:6]}"
        creation_form(page, name)
        cpu_settings(page).get_by_label("Type").select_option("Host")
        labels = page.get_by_role("group", name="VM scheduling conditions on nodes").get_by_role(
            "group", name="Labels and expressions")
        labels.get_by_role("button", name="Add", exact=True).click()  # the server adds the row
        expect(page.get_by_label("Name", exact=True)).to_have_value(name)
        labels.get_by_label("Key").fill("node.deckhouse.io/group")
        labels.get_by_label("Value").fill("green")
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        assert vmclass(sim, name)["spec"]["nodeSelector"] == {"matchExpressions": [
            {"key": "node.deckhouse.io/group", "operator": "In", "values": ["green"]}]}
    finally:
        context.close()


def test_it_creates_a_class_with_the_required_instruction_sets(log_in, sim):
    name = f"features-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    creation_form(page, name)
    cpu_settings(page).get_by_label("Type").select_option("Features")
    cpu_settings(page).get_by_role("group", name="Required set of supported instructions").get_by_label(
        "vmx", exact=True).check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert vmclass(sim, name)["spec"]["cpu"] == {"type": "Features", "features": ["vmx"]}


@pytest.mark.parametrize("cpu_type, model", [("Host", ""), ("HostPassthrough", ""), ("Model", "IvyBridge")])
def test_it_creates_a_class_of_a_cpu_type(cpu_type, model, log_in, sim):
    name = f"{cpu_type.lower()}-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    creation_form(page, name)
    cpu_settings(page).get_by_label("Type").select_option(cpu_type)
    if model:
        cpu_settings(page).get_by_label("Model").select_option(model)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert vmclass(sim, name)["spec"]["cpu"] == {"type": cpu_type, **({"model": model} if model else {})}


def test_it_refuses_overlapping_ranges_and_keeps_the_form(log_in, sim):
    name = f"overlap-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    creation_form(page, name)
    cpu_settings(page).get_by_label("Type").select_option("Host")
    for rule, (low, high) in enumerate(((1, 4), (4, 8)), start=1):
        page.get_by_role("group", name="Resource allocation rules for virtual machines").get_by_role(
            "button", name="Add", exact=True).click()
        cpu = page.get_by_role("group", name=f"Rule {rule}").get_by_role("group", name="CPU", exact=True)
        cpu.get_by_label("Min").fill(str(low))
        cpu.get_by_label("Max").fill(str(high))
        cpu.get_by_role("group", name="Allow setting core fractions").get_by_label("100%", exact=True).check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#policies-error")).to_contain_text(f"vmclass {name} has size policy cpu crosses")
    expect(page.get_by_role("group", name="Rule 2").get_by_role("group", name="CPU", exact=True)
           .get_by_label("Max")).to_have_value("8")
    assert kubectl(sim, "get", "virtualmachineclass", name, check=False).returncode != 0
