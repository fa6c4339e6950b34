"""Two console processes sharing one PostgreSQL behave as one console.

Two Daphne processes (as the Deployment's two replicas) on one throwaway PostgreSQL server: a user logged
in through one is logged in on the other and logged out from both at once; a change made through one is
pushed live by the other; a VM's console opened through one is taken over through the other; an upload
streams through either. Each replica writes its own JSON log, and the audit lines name the replica's work.
"""
import asyncio
import json
import re
import tempfile
from pathlib import Path

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from yarl import URL

from dvpsim.samples import qcow2
from tests import postgres
from tests.console_server import start_console, stop_console
from tests.kube import PROJECT_A, create_dvp, delete_vm, get_dvp, guest_vm, wait_for_phase

PASSWORD = "replica-password"
TIMEOUT = aiohttp.ClientTimeout(total=60)


@pytest.fixture(scope="module")
def database():
    directory = Path(tempfile.mkdtemp(prefix="dvp-replicas-pg-"))
    yield postgres.start(directory)
    postgres.stop(directory)


@pytest.fixture(scope="module")
def replicas(sim, database, tmp_path_factory):
    """[(host, log path)] of two consoles on the same database."""
    started = []
    for name in ("a", "b"):
        workdir = tmp_path_factory.mktemp(f"replica-{name}")
        server, port = start_console(sim, workdir, PASSWORD, DATABASE_URL=database, DVP_LOG_FORMAT="json")
        started.append((server, f"127.0.0.1:{port}", workdir / "daphne.log"))
    yield [(host, log) for _, host, log in started]
    for server, _, _ in started:
        stop_console(server)


@pytest.fixture(scope="module")
def replica_vm(sim):
    guest_vm(sim, PROJECT_A, "replica-vm")
    yield "replica-vm"
    delete_vm(sim, PROJECT_A, "replica-vm")


def audit_lines(log):
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line["audit"] for line in lines if line["logger"] == "dvp.audit"]


async def log_in(session, host, username="alice"):
    page = await (await session.get(f"http://{host}/login/")).text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = await session.post(f"http://{host}/login/", data={
        "csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
    assert str(response.url).endswith("/projects/"), str(response.url)


def new_session():
    # One browser: cookies belong to the host name, whichever replica (port) set them.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT)


async def quiet(socket, seconds=1.5, within=20):
    """Read pushes until none comes for `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            await socket.receive(timeout=seconds)
        except asyncio.TimeoutError:
            return
    raise AssertionError(f"the live socket never went quiet in {within} s")


def socket_headers(session, host):
    cookie = session.cookie_jar.filter_cookies(URL(f"http://{host}/"))["sessionid"].value
    return {"Origin": f"http://{host}", "Cookie": f"sessionid={cookie}"}


async def test_it_keeps_a_login_made_through_one_replica_on_the_other(replicas):
    (a, _), (b, _) = replicas
    async with new_session() as session:
        await log_in(session, a)
        page = await session.get(f"http://{b}/projects/")
        assert str(page.url) == f"http://{b}/projects/" and PROJECT_A in await page.text()
        print(f"\nlogged in through {a}; {b}/projects/ answers {page.status} with {PROJECT_A}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', await page.text()).group(1)
        await session.post(f"http://{b}/logout/", data={"csrfmiddlewaretoken": token})
        again = await session.get(f"http://{a}/projects/")
        assert "/login/" in str(again.url)
        print(f"logged out through {b}; {a}/projects/ sends to {again.url.path}")


async def test_it_pushes_live_a_change_made_through_the_other_replica(replicas, sim):
    (a, _), (b, _) = replicas
    vm = "replica-live-vm"
    if get_dvp(sim, "virtualmachines", PROJECT_A, vm) is None:
        create_dvp(sim, "virtualmachines", PROJECT_A, {"metadata": {"name": vm}, "spec": {
            "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1},
            "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{vm}-absent"}]}})
    async with new_session() as session:
        await log_in(session, a)
        url = f"ws://{b}/ws/projects/{PROJECT_A}/live/vms/{vm}/"
        async with session.ws_connect(url, headers=socket_headers(session, b)) as live:
            await quiet(live)  # what the new VM's own start-up pushed
            tab = await (await session.get(f"http://{a}/projects/{PROJECT_A}/vms/{vm}/meta/")).text()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', tab).group(1)
            saved = await session.post(f"http://{a}/projects/{PROJECT_A}/vms/{vm}/meta/save/", data={
                "csrfmiddlewaretoken": token, "labels-key-new": "pushed-label", "labels-value-new": "from-a"})
            assert saved.status == 200 and str(saved.url).endswith("/meta/")
            # The socket was quiet: this push is the watch event of the change made through the other replica.
            pushed = await live.receive(timeout=10)
            assert pushed.type == aiohttp.WSMsgType.TEXT and 'id="status"' in pushed.data
            print(f"labels saved through {a}; {b} pushed the VM's status ({len(pushed.data)} bytes of HTML)")


async def test_it_relays_a_console_through_either_replica(replicas, replica_vm):
    (a, log_a), (b, log_b) = replicas
    async with new_session() as session:
        await log_in(session, a)
        path = f"/ws/projects/{PROJECT_A}/vms/{replica_vm}/console/"
        async with session.ws_connect(f"ws://{a}{path}", headers=socket_headers(session, a)) as first:
            await first.send_bytes(b"\r")
            seen = b""
            while b"login:" not in seen:
                seen += (await first.receive(timeout=15)).data or b""
            async with session.ws_connect(f"ws://{b}{path}", headers=socket_headers(session, b)) as second:
                await second.send_bytes(b"\r")
                seen = b""
                while b"login:" not in seen:
                    seen += (await second.receive(timeout=15)).data or b""
                while (message := await first.receive(timeout=15)).type == aiohttp.WSMsgType.BINARY:
                    pass
                assert json.loads(message.data)["close"] == 4001  # taken over through the other replica
                print(f"console opened through {a}, taken over through {b}: {json.loads(message.data)['reason']}")
    await asyncio.sleep(1)
    opened_a = [e for e in audit_lines(log_a) if e["verb"] == "console-open" and e["name"] == replica_vm]
    opened_b = [e for e in audit_lines(log_b) if e["verb"] == "console-open" and e["name"] == replica_vm]
    assert opened_a and opened_b and opened_a[-1]["user"] == opened_b[-1]["user"] == "alice"
    print("audit, replica a:", json.dumps(opened_a[-1]))
    print("audit, replica b:", json.dumps(opened_b[-1]))


async def test_it_uploads_through_either_replica(replicas, sim):
    for index, (host, log) in enumerate(replicas):
        name = f"replica-upload-{index}"
        await sync_to_async(create_dvp)(sim, "virtualimages", PROJECT_A, {"metadata": {"name": name}, "spec": {
            "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
        await sync_to_async(wait_for_phase)(sim, "virtualimages", PROJECT_A, name, "WaitForUserUpload")
        data = qcow2(4 * 1024**2, 512 * 1024, seed=index)
        async with new_session() as session:
            await log_in(session, replicas[1 - index][0])  # logged in through the other one
            url = f"ws://{host}/ws/projects/{PROJECT_A}/images/{name}/upload/"
            async with session.ws_connect(url, headers=socket_headers(session, host)) as ws:
                assert json.loads((await ws.receive(timeout=10)).data) == {"ready": True}
                await ws.send_str(json.dumps({"size": len(data)}))
                await ws.send_bytes(data)
                await ws.send_str(json.dumps({"done": True}))
                while "ack" in (answer := json.loads((await ws.receive(timeout=30)).data)):
                    pass
                assert answer == {"ok": True}
        image = await sync_to_async(wait_for_phase)(sim, "virtualimages", PROJECT_A, name, "Ready")
        [entry] = [e for e in audit_lines(log) if e["verb"] == "upload" and e["name"] == name]
        assert entry["result"] == "success" and entry["bytes"] == len(data)
        print(f"uploaded {len(data)} bytes through {host}: {name} is {image['status']['phase']}")
