"""A real browser logs in to the console through dvpsim's OIDC issuer (the cluster's Dex), as a user whose
only right to project-a is a group binding (the demo's project-a-team)."""
import uuid

import pytest

from tests.console_server import start_console, stop_console
from tests.ways_in import OIDC_CLIENT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def oidc_console(sim, tmp_path_factory):
    server, port = start_console(
        sim, tmp_path_factory.mktemp("oidc-console"), "unused", DVP_AUTH="oidc",
        DVP_OIDC_ISSUER=f"{sim.url}/dex", DVP_OIDC_CLIENT_ID=OIDC_CLIENT[0], DVP_OIDC_CLIENT_SECRET=OIDC_CLIENT[1],
        DVP_OIDC_USERNAME_CLAIM="preferred_username")
    yield f"http://127.0.0.1:{port}"
    stop_console(server)


def test_it_logs_in_through_the_issuer_with_a_group_only_right(browser, sim, oidc_console):
    username = f"gil-{uuid.uuid4().hex[:6]}"
    sim.control("oidc/users", {"username": username, "password": "Browser-pw-1", "groups": ["project-a-team"]})
    context = browser.new_context(base_url=oidc_console)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto("/projects/")
        page.wait_for_url("**/login/**")
        assert page.locator('input[name="password"]').count() == 0  # no local password in OIDC mode
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{sim.url}/dex/auth**")
        page.get_by_label("Email Address or username").fill(username)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Invalid Email Address and password.").wait_for()
        page.get_by_label("Email Address or username").fill(username)
        page.get_by_label("Password").fill("Browser-pw-1")
        page.get_by_role("button", name="Login").click()
        page.wait_for_url(f"{oidc_console}/projects/")
        page.get_by_role("link", name="project-a").first.click()
        page.goto("/projects/project-a/vms/")
        page.get_by_text("demo-vm").first.wait_for()
        assert username in page.content()
    finally:
        context.close()
