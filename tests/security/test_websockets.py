"""WebSockets check Origin and session, and ask the API as the user, before accepting; in every way in
(DVP_AUTH local, proxy, oidc and oidc+token: tests/ways_in.py)."""
import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.ways_in import MODES, WayIn
from tests.websockets import connect as connect_without_session
from tests.websockets import read_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=MODES)
def connect(request, settings, sim):
    """connect(path, username, origin): a socket of `username` logged in the way of this run (None: no session)."""
    way = WayIn(request.param, settings, sim)

    async def connect(path, username, origin="http://localhost"):
        if username is None:
            return await connect_without_session(path, None, origin)
        return await way.socket(path, username, origin=origin)
    return connect


def console_path(project, vm):
    return f"/ws/projects/{project}/vms/{vm}/console/"


async def test_it_relays_the_owners_console(connect, project, cast, project_vm):
    communicator, connected = await connect(console_path(project, project_vm), cast.owner)
    assert connected
    await communicator.send_to(bytes_data=b"\r")
    assert f"{project_vm} login:".encode() in await read_until(communicator, b"login:")
    await communicator.disconnect()


async def test_it_refuses_the_console_to_an_outsider(connect, project, cast, project_vm):
    communicator, connected = await connect(console_path(project, project_vm), cast.outsider)
    assert not connected


async def test_it_refuses_the_console_without_a_session(connect, project, project_vm):
    communicator, connected = await connect(console_path(project, project_vm), None)
    assert not connected


async def test_it_refuses_the_console_from_another_origin(connect, project, cast, project_vm):
    communicator, connected = await connect(console_path(project, project_vm), cast.owner, origin="http://evil.example")
    assert not connected
    communicator, connected = await connect(console_path(project, project_vm), cast.owner, origin=None)
    assert not connected


async def test_it_refuses_live_updates_of_a_project_to_an_outsider(connect, project, cast, project_vm):
    communicator, connected = await connect(f"/ws/projects/{project}/live/vms/{project_vm}/", cast.outsider)
    assert not connected
    communicator, connected = await connect(f"/ws/projects/{project}/live/vms/", cast.outsider)
    assert not connected


async def test_it_pushes_live_rows_to_the_owner(connect, project, cast, project_vm):
    communicator, connected = await connect(f"/ws/projects/{project}/live/vms/", cast.owner)
    assert connected
    html = await communicator.receive_from(timeout=10)
    assert 'id="rows"' in html and 'hx-swap-oob="true"' in html
    assert project_vm in html
    await communicator.disconnect()


async def test_it_pushes_no_delete_links_to_a_viewer(connect, project, cast, project_vm):
    communicator, connected = await connect(f"/ws/projects/{project}/live/vms/", cast.viewer)
    assert connected
    html = await communicator.receive_from(timeout=10)
    assert project_vm in html
    assert "/delete/" not in html  # no delete link; the row menu shows Delete disabled with the permission
    assert "needs delete on virtualmachines" in html
    await communicator.disconnect()


async def test_it_keeps_the_pages_filter_in_pushed_rows(connect, project, cast, project_vm):
    communicator, connected = await connect(f"/ws/projects/{project}/live/vms/?q=no-such-vm-at-all", cast.owner)
    assert connected
    html = await communicator.receive_from(timeout=10)
    assert project_vm not in html
    assert "match" in html
    await communicator.disconnect()


async def test_it_keeps_pushing_after_the_watch_drops(connect, project, cast, project_vm, sim, unique):
    from tests.kube import create_dvp

    after = unique("after-the-drop")

    sim.inject(verb="watch", resource="virtualmachines", namespace=project, drop_after=0.3, times=1)
    try:
        communicator, connected = await connect(f"/ws/projects/{project}/live/vms/", cast.owner)
        assert connected
        assert project_vm in await communicator.receive_from(timeout=10)
        await asyncio.sleep(0.6)  # the watch has been cut; the consumer watches again
        await sync_to_async(create_dvp)(sim, "virtualmachines", project, {
            "metadata": {"name": after}, "spec": {
                "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "none"}]}})
        html = ""
        while after not in html:
            html = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
    finally:
        sim.clear_faults()


async def test_it_refuses_a_page_from_another_port_of_the_same_host(connect, project, cast, project_vm):
    for path in (f"/ws/projects/{project}/live/vms/", console_path(project, project_vm)):
        communicator, connected = await connect(path, cast.owner, origin="http://localhost:9999")
        assert not connected, path
