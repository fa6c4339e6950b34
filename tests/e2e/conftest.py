"""Browser tests: Daphne serving the console on the session's dvpsim, driven by system Chromium."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "e2e-password"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def console_url(sim, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("console")
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", DVP_KUBECONFIG=str(sim.kubeconfig),
               DVP_KUBE_CONTEXT="dvp-console", DVP_DATABASE_PATH=str(workdir / "db.sqlite3"),
               DVP_DEMO_PASSWORD=PASSWORD, DVP_SAMPLE_IMAGES_URL=f"{sim.url}/dvpsim/samples/index.json",
               DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run(manage + ["seed_demo_users"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    log = open(workdir / "daphne.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "portal.asgi:application"], env=env, cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError((workdir / "daphne.log").read_text())
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


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
