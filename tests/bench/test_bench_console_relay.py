"""Benchmark (not a test): the console relay against a direct connection and against websockify.

Run with `make bench` (BENCH_SMOKE=1: the small version scripts/test runs).
One run measures, on the same simulated guest:
- throughput of a flooding guest (`yes`), keystroke round trips (p50, p99) and the time from Ctrl+C
  to the prompt (the flood stopped) three ways:
  direct to dvpsim's console WebSocket; through the relay (Daphne serving the console, as in
  production); through websockify (pinned test extra) relaying the same stream. websockify speaks
  WebSocket to TCP, so a small TCP<->WebSocket bridge process sits behind it: that hop is counted
  in websockify's numbers.
- memory per idle relayed session (Daphne's RSS) and the outcome of 200 concurrent sessions
  (100 VMs, console + VNC each: the console is exclusive per VM and stream), opened with at most
  OPENING handshakes in flight (Daphne drops a handshake not accepted within 5 s).
Prints ratios; asserts only that the sessions worked.
"""
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.support import ratio, rss_kib, session_cookie, size  # noqa: E402
from tests.console_server import free_port, wait_for_port  # noqa: E402

FLOOD_BYTES = size(16 * 1024 * 1024, 1024 * 1024)
KEYSTROKES = size(300, 20)
CONCURRENT_VMS = size(100, 3)
OPENING = 10
SUBRESOURCES = "/apis/subresources.virtualization.deckhouse.io/v1alpha2"


def _percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# ---- the three ways to reach the guest ----------------------------------------------------------

class Way:
    """Opens a console WebSocket to the guest; `acks` if the relay's flow control needs them."""

    def __init__(self, name, url, headers=None, protocols=(), acks=False):
        self.name, self.url, self.headers, self.protocols, self.acks = name, url, headers or {}, protocols, acks

    async def open(self, session):
        return await session.ws_connect(self.url, headers=self.headers, protocols=self.protocols, max_msg_size=0)


class Reader:
    def __init__(self, ws, acks):
        self.ws, self.acks, self.pending_ack, self.buffer = ws, acks, 0, b""

    async def chunk(self):
        while True:
            message = await self.ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                if self.acks:
                    self.pending_ack += len(message.data)
                    if self.pending_ack >= 64 * 1024:
                        await self.ws.send_str(f"ack {self.pending_ack}")
                        self.pending_ack = 0
                return message.data
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"the console closed: {message.type} {message.data} {message.extra}")

    async def until(self, needle, timeout=20):
        async def read():
            while needle not in self.buffer:
                self.buffer = (self.buffer + await self.chunk())[-65536:]
            self.buffer = self.buffer[self.buffer.index(needle) + len(needle):]
        await asyncio.wait_for(read(), timeout)

    async def first_of(self, *needles, timeout=20):
        async def read():
            while True:
                found = [(self.buffer.index(n), n) for n in needles if n in self.buffer]
                if found:
                    return min(found)[1]
                self.buffer += await self.chunk()
        found = await asyncio.wait_for(read(), timeout)
        self.buffer = b""
        return found

    async def drain(self):
        while True:
            try:
                await asyncio.wait_for(self.chunk(), 0.2)
            except asyncio.TimeoutError:
                return

    async def flush_ack(self):
        if self.acks and self.pending_ack:
            await self.ws.send_str(f"ack {self.pending_ack}")
            self.pending_ack = 0


async def measure(way, vm):
    """(bytes per second of a flood, [keystroke round trips in seconds], seconds from Ctrl+C to the prompt)."""
    prompt = f"cloud@{vm}:~$ ".encode()
    async with aiohttp.ClientSession() as session:
        ws = await way.open(session)
        reader = Reader(ws, way.acks)
        await ws.send_bytes(b"\x03\r")  # whatever state the guest is in: back to a prompt
        if await reader.first_of(b"login: ", prompt) == b"login: ":
            await ws.send_bytes(b"cloud\r")
            await reader.until(b"Password: ")
            await ws.send_bytes(b"cloud\r")
            await reader.until(prompt)
        await asyncio.sleep(0.3)  # let the second prompt arrive before timing keystrokes
        await reader.drain()

        round_trips = []
        for _ in range(KEYSTROKES):
            start = time.perf_counter()
            await ws.send_bytes(b"a")
            while True:
                data = await reader.chunk()
                if b"a" in data:
                    break
            round_trips.append(time.perf_counter() - start)
            await reader.flush_ack()
        await ws.send_bytes(b"\x15")  # Ctrl+U: erase the line

        await ws.send_bytes(b"yes\r")
        received = 0
        start = time.perf_counter()
        while received < FLOOD_BYTES:
            received += len(await reader.chunk())
        seconds = time.perf_counter() - start
        interrupted = time.perf_counter()
        await ws.send_bytes(b"\x03")
        reader.buffer = b""
        await reader.until(b"^C\r\n" + prompt, timeout=10)  # a real `yes` stops at once
        interrupt_seconds = time.perf_counter() - interrupted
        await ws.close()
        return received / seconds, round_trips, interrupt_seconds


# ---- fixtures: websockify with its bridge (Daphne: tests/bench/conftest.py) ----------------------------

@pytest.fixture(scope="module")
def websockify(sim, project, bench_vms):
    bridge_port, proxy_port = free_port(), free_port()
    bridge = subprocess.Popen([sys.executable, __file__, "bridge", str(bridge_port), sim.url, sim.token("alice"),
                               project])
    wait_for_port(bridge_port, bridge)
    proxy = subprocess.Popen([sys.executable, "-m", "websockify", f"127.0.0.1:{proxy_port}", f"127.0.0.1:{bridge_port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(proxy_port, proxy)
    yield proxy_port, bridge
    for process in (proxy, bridge):
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def bench_vms(sim, project):
    from tests.kube import guest_vm

    guest_vm(sim, project, "bench-console-vm")
    return "bench-console-vm"


def _ways(sim, daphne_host, cookie, websockify_port, project, vm):
    direct = f"{sim.url}{SUBRESOURCES}/namespaces/{project}/virtualmachines/{vm}/console"
    return [
        Way("direct", direct, {"Authorization": f"Bearer {sim.token('alice')}"}, ("plain.kubevirt.io",)),
        Way("relay", f"http://{daphne_host}/ws/projects/{project}/vms/{vm}/console/",
            {"Cookie": f"sessionid={cookie}", "Origin": f"http://{daphne_host}"}, acks=True),
        Way("websockify", f"http://127.0.0.1:{websockify_port}/", protocols=("binary",)),
    ]


def test_bench_console_relay(sim, project, daphne, websockify, bench_vms):
    server, host = daphne
    cookie = asyncio.run(session_cookie(host))
    ways = _ways(sim, host, cookie, websockify[0], project, bench_vms)
    results = {way.name: asyncio.run(measure(way, bench_vms)) for way in ways}

    print(f"\nconsole relay, one run ({FLOOD_BYTES / 2**20:g} MiB flood, {KEYSTROKES} keystrokes):")
    print(f"{'path':<12}{'MB/s':>9}{'x direct':>10}{'p50 ms':>9}{'p99 ms':>9}{'p50 x direct':>14}{'p99 x direct':>14}"
          f"{'^C ms':>8}")
    base_rate, base_trips, _ = results["direct"]
    for name, (rate, trips, interrupt) in results.items():
        p50, p99 = _percentile(trips, 0.5), _percentile(trips, 0.99)
        print(f"{name:<12}{rate / 1e6:>9.1f}{ratio(rate, base_rate):>10.2f}{p50 * 1e3:>9.2f}{p99 * 1e3:>9.2f}"
              f"{ratio(p50, _percentile(base_trips, 0.5)):>14.2f}{ratio(p99, _percentile(base_trips, 0.99)):>14.2f}"
              f"{interrupt * 1e3:>8.0f}")
    relay_rate, relay_trips, _ = results["relay"]
    ws_rate, ws_trips, _ = results["websockify"]
    print(f"relay vs websockify(+bridge): throughput x{ratio(relay_rate, ws_rate):.2f}, "
          f"p50 x{ratio(_percentile(relay_trips, 0.5), _percentile(ws_trips, 0.5)):.2f}, "
          f"p99 x{ratio(_percentile(relay_trips, 0.99), _percentile(ws_trips, 0.99)):.2f}")

    outcome = asyncio.run(_concurrent_sessions(sim, project, server.pid, host, cookie))
    print(f"{outcome['sessions']} concurrent relayed sessions ({CONCURRENT_VMS} VMs x console + VNC): "
          f"{outcome['opened']} opened in {outcome['open_seconds']:.1f} s ({OPENING} handshakes in flight: "
          f"{outcome['opened'] / outcome['open_seconds']:.0f}/s), {outcome['answered']} answered a "
          f"keystroke or RFB greeting, {outcome['failed']} failed{outcome['errors']}; "
          f"Daphne RSS {outcome['rss_before'] // 1024} -> {outcome['rss_after'] // 1024} MiB: "
          f"{outcome['per_session_kib']:.0f} KiB per idle session; "
          f"after closing all: {outcome['rss_closed'] // 1024} MiB")
    assert outcome["answered"] == outcome["sessions"]


async def _concurrent_sessions(sim, project, pid, host, cookie):
    from asgiref.sync import sync_to_async

    from tests.kube import create_dvp, get_dvp, list_dvp

    names = [f"bench-concurrent-{i:03d}" for i in range(CONCURRENT_VMS)]

    def create_all():
        for name in names:
            if get_dvp(sim, "virtualmachines", project, name) is None:
                create_dvp(sim, "virtualdisks", project, {"metadata": {"name": f"{name}-root"},
                                                             "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
                create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name}, "spec": {
                    "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
                    "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            running = {vm["metadata"]["name"] for vm in list_dvp(sim, "virtualmachines", project)
                       if (vm.get("status") or {}).get("phase") == "Running"}
            if running.issuperset(names):
                return
            time.sleep(0.5)
        phases = {vm["metadata"]["name"]: (vm.get("status") or {}).get("phase")
                  for vm in list_dvp(sim, "virtualmachines", project) if vm["metadata"]["name"] in names}
        raise RuntimeError(f"the benchmark VMs did not all start: {sorted(set(phases.values()), key=str)}")

    await sync_to_async(create_all)()
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://{host}"}
    targets = [(name, stream) for name in names for stream in ("console", "vnc")]
    errors = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        rss_before = rss_kib(pid)
        start = time.perf_counter()
        opening = asyncio.Semaphore(OPENING)

        async def open_one(name, stream):
            try:
                async with opening:
                    return await session.ws_connect(f"http://{host}/ws/projects/{project}/vms/{name}/{stream}/",
                                                    headers=headers)
            except Exception as exc:  # counted and reported
                errors.append(f"{stream} {name}: {exc.__class__.__name__} {exc}")
                return None

        sockets = await asyncio.gather(*(open_one(name, stream) for name, stream in targets))
        open_seconds = time.perf_counter() - start

        async def greeting(ws, stream):
            if ws is None:
                return False
            try:
                if stream == "console":
                    await ws.send_bytes(b"\r")
                reader = Reader(ws, acks=True)
                await reader.until(b"login: " if stream == "console" else b"RFB 003.008\n", timeout=30)
                return True
            except Exception as exc:
                errors.append(f"{stream}: {exc.__class__.__name__} {exc}")
                return False

        answered = sum(await asyncio.gather(*(greeting(ws, stream) for ws, (_, stream) in zip(sockets, targets))))
        await asyncio.sleep(2)  # idle
        rss_after = rss_kib(pid)
        opened = sum(1 for ws in sockets if ws is not None)
        await asyncio.gather(*(ws.close() for ws in sockets if ws is not None))
        await asyncio.sleep(2)
        rss_closed = rss_kib(pid)
    return {"sessions": len(targets), "opened": opened, "answered": answered, "failed": len(targets) - answered,
            "open_seconds": open_seconds, "rss_before": rss_before, "rss_after": rss_after,
            "rss_closed": rss_closed, "per_session_kib": (rss_after - rss_before) / max(opened, 1),
            "errors": f" ({'; '.join(errors[:3])})" if errors else ""}


# ---- the TCP <-> WebSocket bridge behind websockify (run as its own process) ----------------------

async def _bridge(port, sim_url, token, project):
    url = f"{sim_url}{SUBRESOURCES}/namespaces/{project}/virtualmachines/bench-console-vm/console"

    async def handle(reader, writer):
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"},
                                          protocols=("plain.kubevirt.io",), max_msg_size=0)

            async def up():
                while data := await reader.read(65536):
                    await ws.send_bytes(data)
                await ws.close()

            async def down():
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        writer.write(message.data)
                        await writer.drain()
                writer.close()

            await asyncio.gather(up(), down(), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__" and sys.argv[1:2] == ["bridge"]:
    asyncio.run(_bridge(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]))
