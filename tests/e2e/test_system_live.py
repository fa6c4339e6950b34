"""The System pages follow changes over their live socket (system/live.py); a page whose socket cannot connect
polls instead (static/js/live_fallback.js), and stops polling once it connects."""
import json

import pytest
from playwright.sync_api import expect

from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def first_node(sim):
    return sorted(n["metadata"]["name"] for n in json.loads(kubectl(sim, "get", "nodes", "-o", "json").stdout)["items"])[0]


def htmx_requests(page):
    seen = []
    page.on("request", lambda request: seen.append(request.url) if request.headers.get("hx-request") else None)
    return seen


def test_it_shows_a_node_cordoned_elsewhere_over_the_live_socket(log_in, sim):
    node = first_node(sim)
    page = log_in("operator")
    polled = htmx_requests(page)
    page.goto(f"/system/nodes/nodes/{node}/")
    expect(page.locator("#node-vms, #status")).not_to_have_count(0)
    try:
        kubectl(sim, "cordon", node)
        expect(page.locator("#cordoned")).to_have_text("SchedulingDisabled", timeout=15000)
    finally:
        kubectl(sim, "uncordon", node)
    expect(page.locator("#cordoned")).to_have_count(0, timeout=15000)
    assert polled == []


def test_it_polls_while_the_socket_cannot_connect(log_in, sim):
    node = first_node(sim)
    page = log_in("operator")
    page.route_web_socket("**/ws/system/live/**", lambda socket: socket.close(code=1006))
    polled = htmx_requests(page)
    page.goto(f"/system/nodes/nodes/{node}/")
    try:
        kubectl(sim, "cordon", node)
        expect(page.locator("#cordoned")).to_have_text("SchedulingDisabled", timeout=15000)
    finally:
        kubectl(sim, "uncordon", node)
    assert any(url.endswith(f"/system/nodes/nodes/{node}/status/") for url in polled)
