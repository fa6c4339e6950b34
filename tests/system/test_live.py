"""The System pages follow changes live over a WebSocket (system/live.py): a node's page when the node is cordoned
and its VMs are moved away, the migrations in progress cluster-wide with their progress. The socket is the page's:
Origin and session checked, then the System gate asked as the user (a project member is refused)."""
import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from kubernetes import client

from portal.asgi import application
from tests.kube import create_dvp, get_dvp, wait_for
from tests.websockets import connect

pytestmark = pytest.mark.django_db(transaction=True)

NODES = "/ws/system/live/nodes/"
MIGRATIONS = "/ws/system/live/migrations/"


def nodes_api(sim):
    return client.CoreV1Api(sim.api("admin"))


def a_node(sim):
    return sorted(n.metadata.name for n in nodes_api(sim).list_node().items)[0]


def logged_in(username, **options):
    from django.contrib.auth import get_user_model

    browser = Client(**options)
    browser.force_login(get_user_model().objects.get_or_create(username=username)[0])
    return browser


async def receive_until(communicator, found, timeout=30):
    """The first pushed fragment for which found(html) holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        html = await communicator.receive_from(timeout=max(0.1, deadline - loop.time()))
        if found(html):
            return html


async def test_it_pushes_the_nodes_page_when_a_node_is_cordoned(sim, cast, uncordon_all):
    node = await sync_to_async(a_node)(sim)
    detail, connected = await connect(f"{NODES}{node}/", cast.operator)
    assert connected
    listing, connected = await connect(NODES, cast.operator)
    assert connected
    first = await detail.receive_from(timeout=10)
    assert 'id="status"' in first and 'hx-swap-oob="true"' in first and 'id="cordoned"' not in first
    rows = await listing.receive_from(timeout=10)
    assert 'id="rows"' in rows and f'id="row-{node}"' in rows
    await sync_to_async(nodes_api(sim).patch_node)(node, {"spec": {"unschedulable": True}})
    html = await receive_until(detail, lambda h: 'id="cordoned"' in h)
    assert "SchedulingDisabled" in html
    html = await receive_until(listing, lambda h: re.search(
        rf'id="row-{node}".*?<td data-column="Schedulable">no \(cordoned\)</td>', h, re.S))
    await detail.disconnect()
    await listing.disconnect()


async def test_it_pushes_a_drained_nodes_vms_as_they_move_away(sim, cast, project, running_vm, unique, uncordon_all):
    operator = await sync_to_async(logged_in)(cast.operator)
    vm = await sync_to_async(running_vm)(unique("vm"), unique("disk"))
    name, source = vm["metadata"]["name"], vm["status"]["nodeName"]
    communicator, connected = await connect(f"{NODES}{source}/", cast.operator)
    assert connected
    assert name in await communicator.receive_from(timeout=10)
    await sync_to_async(operator.post)(reverse("system:nodes-vms-cordon-drain", args=[source]))
    await receive_until(communicator, lambda h: name not in h and 'id="drained"' in h, timeout=60)
    await communicator.disconnect()
    moved = await sync_to_async(get_dvp)(sim, "virtualmachines", project, name)
    assert moved["status"]["nodeName"] != source


async def test_it_pushes_a_migration_in_progress_with_its_progress_and_when_it_ends(sim, cast, project, running_vm,
                                                                                     unique):
    vm = await sync_to_async(running_vm)(unique("vm"), unique("disk"))
    communicator, connected = await connect(MIGRATIONS, cast.operator)
    assert connected
    assert 'id="migrations"' in await communicator.receive_from(timeout=10)
    await sync_to_async(sim.control)("clock", {"speed": 0.5})  # slow enough to see it in progress
    try:
        op = unique("evict")
        await sync_to_async(create_dvp)(sim, "virtualmachineoperations", project, {
            "metadata": {"name": op}, "spec": {"type": "Evict", "virtualMachineName": vm["metadata"]["name"]}})

        def in_progress(html):
            table = html[html.index('id="migrations-in-progress"'):html.index('id="migrations-finished"')]
            return f'id="migration-{op}"' in table and f'aria-label="Progress of {op}"' in table
        html = await receive_until(communicator, in_progress)
        assert f'aria-label="Cancel {op}"' in html
    finally:
        await sync_to_async(sim.control)("clock", {"speed": 20})
    html = await receive_until(communicator, lambda h: f'id="migration-{op}"' in h[h.index('id="migrations-finished"'):],
                               timeout=60)
    assert "Completed" in html[html.index(f'id="migration-{op}"'):]
    await communicator.disconnect()


async def test_it_pushes_a_cancel_form_whose_csrf_token_django_accepts(sim, cast, project, running_vm, unique):
    vm = await sync_to_async(running_vm)(unique("vm"), unique("disk"))
    browser = await sync_to_async(logged_in)(cast.operator, enforce_csrf_checks=True)
    page = await sync_to_async(browser.get)(reverse("system:list", args=["virtualization/migrations"]))
    assert page.status_code == 200
    cookies = "; ".join(f"{k}={v.value}" for k, v in browser.cookies.items())
    communicator = WebsocketCommunicator(application, MIGRATIONS, headers=[
        (b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookies.encode())])
    assert (await communicator.connect(timeout=10))[0]
    await communicator.receive_from(timeout=10)
    await sync_to_async(sim.control)("clock", {"speed": 0.2})
    try:
        op = unique("evict")
        await sync_to_async(create_dvp)(sim, "virtualmachineoperations", project, {
            "metadata": {"name": op}, "spec": {"type": "Evict", "virtualMachineName": vm["metadata"]["name"]}})
        html = await receive_until(communicator, lambda h: f'aria-label="Cancel {op}"' in h)
        form = html[:html.index(f'aria-label="Cancel {op}"')]
        token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[-1]
        cancelled = await sync_to_async(browser.post)(reverse("system:migration-cancel", args=[project, op]),
                                                      {"csrfmiddlewaretoken": token})
        assert cancelled.status_code == 302
        await sync_to_async(wait_for)(lambda: get_dvp(sim, "virtualmachineoperations", project, op) is None, 30)
    finally:
        await sync_to_async(sim.control)("clock", {"speed": 20})
    await communicator.disconnect()


@pytest.mark.parametrize("path", [NODES, MIGRATIONS, "/ws/system/live/vm-classes/generic/"])
async def test_it_refuses_the_system_socket_to_a_project_member(cast, project, path):
    for username in (cast.owner, cast.member, cast.viewer):
        communicator, connected = await connect(path, username)
        assert not connected, (username, path)


async def test_it_refuses_the_system_socket_without_a_session_or_from_another_origin(sim, cast):
    assert not (await connect(NODES, None))[1]
    assert not (await connect(NODES, cast.operator, origin="http://evil.example"))[1]
    assert not (await connect(NODES, cast.operator, origin="http://localhost:9999"))[1]
    assert not (await connect(NODES, cast.operator, origin=None))[1]
    communicator, connected = await connect(NODES, cast.operator)
    assert connected  # the same socket, from the page's origin with a session
    await communicator.disconnect()


async def test_it_refuses_a_page_that_does_not_exist(cast):
    assert not (await connect("/ws/system/live/no-such-page/", cast.operator))[1]


async def test_it_refuses_a_detail_socket_of_a_page_that_has_no_detail(sim, cast):
    # the VMs of every project are listed in System, their pages are their projects'
    assert not (await connect("/ws/system/live/virtual-machines/any-vm/", cast.operator))[1]
    communicator, connected = await connect("/ws/system/live/virtual-machines/", cast.operator)
    assert connected
    await communicator.disconnect()
