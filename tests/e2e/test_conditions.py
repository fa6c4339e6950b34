"""A detail page's conditions: open by themselves when one has a message, and the user's open or closed choice
survives the live updates that replace the status block."""
import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_project, open_section
from tests.kube import make_vm
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def test_it_keeps_the_users_choice_of_the_conditions_across_live_updates(log_in, sim, project):
    make_vm(sim, project, "cond-vm", "cond-vm-root")  # no guest agent: AgentReady says why, so they open
    page = log_in("alice")
    open_project(page, project)
    open_section(page, "Virtual Machines")
    page.get_by_role("link", name="cond-vm", exact=True).click()
    box = page.locator("#status details.conditions-box")
    expect(box).to_have_attribute("open", "")
    box.locator("summary").click()
    expect(box).not_to_have_attribute("open", "")
    page.evaluate("document.querySelector('#status').dataset.before = 'push'")
    kubectl(sim, "-n", project, "label", "vm", "cond-vm", "conditions-test=changed")
    expect(page.locator("#status[data-before]")).to_have_count(0, timeout=20000)  # a new status block came
    expect(box).not_to_have_attribute("open", "")
    expect(box.locator("summary")).to_contain_text("with a message")
