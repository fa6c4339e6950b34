"""Browser tests: Daphne serving the console on the session's dvpsim, driven by system Chromium."""
import uuid

import pytest

from tests.console_server import start_console, stop_console
from tests.kube import delete_project, make_project

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "e2e-password"


@pytest.fixture(scope="session")
def console_url(sim, tmp_path_factory):
    server, port = start_console(sim, tmp_path_factory.mktemp("console"), PASSWORD,
                                 DVP_SAMPLE_IMAGES_URL=f"{sim.url}/dvpsim/samples/index.json")
    yield f"http://127.0.0.1:{port}"
    stop_console(server)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, console_url):
    context = browser.new_context(base_url=console_url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()


@pytest.fixture
def log_in(page):
    def as_user(username):
        page.goto("/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/projects/")
        return page
    return as_user


@pytest.fixture(scope="module")
def project(sim, request):
    """A fresh Project of this test module, managed by alice (the user the guide's procedures log in as), deleted
    with all it holds when the module ends: the guide reuses its names (linux-vm, linux-vm-root, ubuntu) from one
    procedure to the next, and no other module's leftovers take them here."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    name = make_project(sim, f"{module[:40]}-{uuid.uuid4().hex[:6]}", {"alice": "manager"})
    yield name
    delete_project(sim, name)
