"""The serial console of a running VM, over the console subresource WebSocket."""

import asyncio

import aiohttp
import pytest

from tests.guest import connect, console_url
from tests.kube import Dvp, blank_disk, fresh_namespace, vm_body

@pytest.fixture(scope="module")
def vm(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guest"))
    dvp.create("virtualdisks", blank_disk("linux-vm-root", "10Gi"))
    dvp.create("virtualmachines", vm_body("linux-vm", cores=3, memory="3Gi"))
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    return dvp


async def test_it_logs_in_with_the_cloud_init_password_and_runs_commands(sim, vm):
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        assert console.ws.protocol == "plain.kubevirt.io"
        await console.expect("linux-vm login: ")
        await console.type("cloud\r")
        await console.expect("Password: ")
        await console.type("cloud\r")
        await console.expect("cloud@linux-vm:~$ ")
        await console.type("nproc\r")
        assert "\r\n3\r\n" in await console.expect("cloud@linux-vm:~$ ")
        await console.type("lsblk\r")
        assert "10G" in await console.expect("cloud@linux-vm:~$ ")
        await console.type("exit\r")
        await console.expect("linux-vm login: ")
        await console.ws.close()


async def test_it_rejects_a_wrong_password(sim, vm):
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        await console.type("\r")
        await console.expect("login: ")
        await console.type("cloud\rwrong\r")
        assert "Login incorrect" in await console.expect("Login incorrect\r\nlinux-vm login: ")
        await console.ws.close()


async def test_it_ignores_text_frames(sim, vm):
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        await console.expect("login: ")
        await console.ws.send_str("root\r")
        await console.type("\r")
        # Only the binary Enter arrives: a fresh prompt, no "root" echo.
        seen = await console.expect("linux-vm login: ")
        assert "root" not in seen
        await console.ws.close()


async def test_it_disconnects_the_previous_viewer_with_1001(sim, vm):
    async with aiohttp.ClientSession() as session:
        first = await connect(session, sim, vm)
        await first.expect("login: ")
        second = await connect(session, sim, vm)
        await second.expect("login: ")
        message = await asyncio.wait_for(first.ws.receive(), 5)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (1001, "close by another connection")
        await second.ws.close()


async def test_it_keeps_the_login_across_reconnects(sim, vm):
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        await console.expect("login: ")
        await console.type("\x03cloud\rcloud\r")
        await console.expect("cloud@linux-vm:~$ ")
        await console.ws.close()
        again = await connect(session, sim, vm)
        await again.expect("cloud@linux-vm:~$ ")
        await again.type("exit\r")
        await again.expect("linux-vm login: ")
        await again.ws.close()


async def test_it_drops_the_console_and_resets_the_guest_on_restart(sim, vm):
    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        await console.type("\x03cloud\rcloud\r")
        await console.expect("cloud@linux-vm:~$ ")
        before = vm.get("virtualmachines", "linux-vm")["status"]["stats"]["phasesTransitions"]
        vm.create("virtualmachineoperations", {"metadata": {"name": "reboot"},
                                               "spec": {"type": "Restart", "virtualMachineName": "linux-vm"}})
        message = await asyncio.wait_for(console.ws.receive(), 10)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert console.ws.close_code == 1006
        vm.wait_phase("virtualmachineoperations", "reboot", "Completed")
        assert vm.get("virtualmachines", "linux-vm")["status"]["stats"]["phasesTransitions"] != before
        again = await connect(session, sim, vm)
        booted = await again.expect("linux-vm login: ")
        assert "Linux version" in booted
        await again.ws.close()


async def test_it_drops_the_console_stream_on_an_injected_fault(sim, vm):
    sim.inject(verb="get", resource="virtualmachines/console", namespace=vm.namespace, drop_after=0.5, times=1)
    try:
        async with aiohttp.ClientSession() as session:
            console = await connect(session, sim, vm)
            await console.expect("login: ")
            loop = asyncio.get_running_loop()
            start = loop.time()
            message = await asyncio.wait_for(console.ws.receive(), 10)
            while message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                message = await asyncio.wait_for(console.ws.receive(), 10)
            assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)
            assert console.ws.close_code != 1000  # no clean close: the stream broke
            assert loop.time() - start < 5
    finally:
        sim.clear_faults()


async def test_it_answers_an_injected_error_to_the_probe(sim, vm):
    sim.inject(verb="get", resource="virtualmachines/console", namespace=vm.namespace, status=503, times=1)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(console_url(sim, vm) + "?probe=true",
                                   headers={"Authorization": f"Bearer {sim.token('admin')}"}) as response:
                assert response.status == 503
    finally:
        sim.clear_faults()


async def test_it_renews_the_session_lease_every_10_s_of_sim_time_and_drops_it_on_close(sim, vm):
    from datetime import timedelta

    from kubernetes import client
    leases = client.CoordinationV1Api(vm.api_client)
    uid = vm.get("virtualmachines", "linux-vm")["metadata"]["uid"]
    name = f"d8v-vm-console-linux-vm-{uid}"

    async def lease():
        for _ in range(100):
            try:
                return leases.read_namespaced_lease(name, vm.namespace)
            except client.ApiException as e:
                assert e.status == 404
            await asyncio.sleep(0.05)
        raise AssertionError("no session lease")

    async with aiohttp.ClientSession() as session:
        console = await connect(session, sim, vm)
        first = await lease()
        assert first.spec.lease_duration_seconds == 30 and first.spec.holder_identity == "admin"
        assert first.metadata.labels == {"virtualization.deckhouse.io/session": "console"}
        assert first.metadata.annotations["virtualization.deckhouse.io/session-id"]
        renewals = [first.spec.renew_time]
        for _ in range(3):
            sim.control("clock", {"step": 10})
            for _ in range(100):
                current = (await lease()).spec.renew_time
                if current != renewals[-1]:
                    renewals.append(current)
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the lease was not renewed after 10 s: {renewals}")
        # Renewed on the simulation clock, never more often than every 10 s, never left to expire.
        gaps = [b - a for a, b in zip(renewals, renewals[1:])]
        assert all(timedelta(seconds=10) <= gap < timedelta(seconds=30) for gap in gaps), gaps
        assert (await lease()).spec.acquire_time == first.spec.acquire_time
        await console.ws.close()
    for _ in range(100):
        try:
            leases.read_namespaced_lease(name, vm.namespace)
        except client.ApiException as e:
            assert e.status == 404
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the session lease outlived the stream")
