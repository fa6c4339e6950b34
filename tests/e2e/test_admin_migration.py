"""Admin guide, "Start migration of an arbitrary machine": the web-interface procedure as the guide words it (the
project's VM list, the ellipsis, Migrate, confirm) and the operator's all-projects list with its Migrations page;
the VM's node checked with kubectl afterwards."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.kube import delete_dvp, make_vm, wait_for
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def node_of(sim, vm):
    return json.loads(kubectl(sim, "get", "-n", "project-a", "vm", vm, "-o", "json").stdout)["status"].get("nodeName")


@pytest.fixture
def vm(sim):
    name = f"mig-{uuid.uuid4().hex[:6]}"
    make_vm(sim, "project-a", name, f"{name}-root")
    yield name
    delete_dvp(sim, "virtualmachines", "project-a", name)


def test_it_migrates_a_vm_from_the_projects_list_as_the_guide_says(log_in, sim, vm):
    source = node_of(sim, vm)
    page = log_in("operator")
    # 'Go to the "Projects" tab and select the desired project.'
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("link", name="project-a", exact=True).click()
    # 'Go to the "Virtualization" -> "Virtual Machines" section.'
    page.get_by_role("navigation", name="Project navigation").get_by_role("link", name="Virtual Machines").click()
    # 'Select the desired virtual machine from the list and click the ellipsis button. Select Migrate.'
    page.get_by_label(f"Actions for {vm}").click()
    page.get_by_role("link", name=f"Migrate {vm}").click()
    # 'Confirm or cancel the migration in the pop-up window.'
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Migrate the virtual machine {vm}?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()
    dialog.get_by_role("button", name="Migrate", exact=True).click()
    wait_for(lambda: node_of(sim, vm) not in (None, source), timeout=60)


def test_it_migrates_a_vm_of_any_project_from_the_system_section(log_in, sim, vm):
    source = node_of(sim, vm)
    page = log_in("operator")
    page.get_by_role("link", name="System", exact=True).click()
    page.get_by_role("navigation", name="System navigation").get_by_role("link", name="Virtual Machines").click()
    page.get_by_label("Project", exact=True).select_option("project-a")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=f"Migrate project-a/{vm}").click()
    expect(page.get_by_role("heading", name=f"Migrate project-a/{vm}?")).to_be_visible()
    polled = []
    page.on("request", lambda request: polled.append(request.url) if request.headers.get("hx-request") else None)
    page.get_by_role("button", name="Migrate").click()
    expect(page.get_by_role("heading", name="Migrations")).to_be_visible()
    expect(page.get_by_text(f"The migration of project-a/{vm} started")).to_be_visible()
    expect(page.locator("#migrations-finished")).to_contain_text(vm, timeout=60000)  # the page follows it
    assert polled == []  # over its live socket (system/live.py), not by polling
    assert node_of(sim, vm) != source
    ops = json.loads(kubectl(sim, "get", "-n", "project-a", "vmop", "-o", "json").stdout)["items"]
    assert any(op["spec"] == {"type": "Evict", "virtualMachineName": vm} and op["status"]["phase"] == "Completed"
               for op in ops)
