"""The console pages: TTY and VNC tabs, pop-out windows, and the holder probe made as the user."""
import asyncio
import threading

import aiohttp
import pytest

from tests.kube import delete_vm, guest_vm

SUBRESOURCES = "/apis/subresources.virtualization.deckhouse.io/v1alpha2"


@pytest.fixture(scope="module")
def page_vm(sim, project):
    guest_vm(sim, project, "pages-vm")
    yield "pages-vm"
    delete_vm(sim, project, "pages-vm")


def test_it_renders_the_vnc_tab_with_its_socket_and_only_then_loads_novnc(project, owner, page_vm):
    html = owner.get(f"/projects/{project}/vms/{page_vm}/vnc/").content.decode()
    assert f'data-ws="/ws/projects/{project}/vms/{page_vm}/vnc/"' in html
    assert "js/consoles/vnc.js" in html and "vendor/novnc/core/rfb.js" in html
    assert "xterm.js" not in html
    overview = owner.get(f"/projects/{project}/vms/{page_vm}/").content.decode()
    assert "vnc.js" not in overview and "xterm" not in overview and "consoles/session.js" not in overview


def test_it_renders_the_tty_tab_with_search_and_a_pop_out_link(project, owner, page_vm):
    html = owner.get(f"/projects/{project}/vms/{page_vm}/tty/").content.decode()
    assert "addon-search.js" in html and "Screen reader mode" in html
    assert f'href="/projects/{project}/vms/{page_vm}/window/tty/"' in html
    window = owner.get(f"/projects/{project}/vms/{page_vm}/window/tty/")
    assert window.status_code == 200
    assert 'id="tty-console"' in window.content.decode() and "Pop out" not in window.content.decode()


def test_it_tells_a_viewer_why_there_is_no_console(project, cast, login, db, page_vm):
    client = login(cast.viewer)
    for tab, what in (("tty", "serial console"), ("vnc", "VNC display")):
        html = client.get(f"/projects/{project}/vms/{page_vm}/{tab}/").content.decode()
        assert f"You may not open the {what}" in html
        assert "data-ws=" not in html


def test_it_answers_free_then_names_the_holder_as_the_user_sees_it(project, owner, sim, page_vm):
    url = f"/projects/{project}/vms/{page_vm}/sessions/vnc/"
    assert owner.get(url).json() == {}

    held, release = threading.Event(), threading.Event()

    def hold():  # operator holds the VNC display from the d8 command line, in its own thread
        async def run():
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(
                    f"{sim.url}{SUBRESOURCES}/namespaces/{project}/virtualmachines/{page_vm}/vnc",
                    protocols=("plain.kubevirt.io",),
                    headers={"Authorization": f"Bearer {sim.token('operator')}", "User-Agent": "d8/v0.20.1"})
                held.set()
                await asyncio.to_thread(release.wait, 10)
                await ws.close()
        asyncio.run(run())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        answer = owner.get(url).json()
    finally:
        release.set()
        holder.join(10)
    assert answer["holder"] == "operator" and answer["self"] is False
    assert answer["client"] == "the d8 v command line"
    assert answer["since"].endswith("UTC")


def test_it_hides_the_project_from_an_outsider(project, cast, login, db, page_vm):
    client = login(cast.outsider)
    assert client.get(f"/projects/{project}/vms/{page_vm}/sessions/tty/").status_code == 404
    assert client.get(f"/projects/{project}/vms/{page_vm}/window/vnc/").status_code == 404
