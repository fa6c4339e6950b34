"""Admin guide, "Maintenance mode": Cordon + Drain and Uncordon in the web interface, as the guide words it,
as the operator; the node and the VM that moved checked with kubectl."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.kube import delete_dvp, make_vm
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def get(sim, *what):
    return json.loads(kubectl(sim, "get", *what, "-o", "json").stdout)


def test_it_puts_a_node_into_maintenance_and_takes_it_out(log_in, sim):
    vm, disk = f"drain-{uuid.uuid4().hex[:6]}", f"drain-{uuid.uuid4().hex[:6]}"
    source = make_vm(sim, "project-a", vm, disk)["status"]["nodeName"]
    try:
        page = log_in("operator")
        # 'Go to the "System" tab, then to the "Nodes" section -> "Nodes of all groups".'
        page.get_by_role("link", name="System", exact=True).click()
        page.get_by_role("navigation", name="System navigation").get_by_role("link", name="Nodes of all groups").click()
        # 'Select the desired node from the list and click the "Cordon + Drain" button.'
        page.get_by_role("link", name=source, exact=True).click()
        expect(page.locator("#node-vms")).to_contain_text(vm)
        page.get_by_role("button", name="Cordon + Drain").click()
        expect(page.get_by_text(f"The node {source} is cordoned")).to_be_visible()
        polled = []
        page.on("request", lambda request: polled.append(request.url) if request.headers.get("hx-request") else None)
        expect(page.locator("#cordoned")).to_have_text("SchedulingDisabled")
        expect(page.locator("#drained")).to_be_visible(timeout=60000)  # the page follows the evacuations
        assert polled == []  # over its live socket (system/live.py), not by polling
        assert get(sim, "node", source)["spec"]["unschedulable"] is True
        moved = get(sim, "-n", "project-a", "vm", vm)
        assert moved["status"]["phase"] == "Running" and moved["status"]["nodeName"] != source
        # 'To remove it from maintenance mode, click the "Uncordon" button.'
        page.get_by_role("button", name="Uncordon").click()
        expect(page.get_by_text(f"The node {source} is uncordoned")).to_be_visible()
        expect(page.locator("#cordoned")).to_have_count(0)
        assert not get(sim, "node", source)["spec"].get("unschedulable")
    finally:
        kubectl(sim, "uncordon", source)
        delete_dvp(sim, "virtualmachines", "project-a", vm)
