"""Benchmark (not a test): dvpsim with 10,000 VMs in one namespace, measured in one process.

Prints the time of a full LIST as a ratio to json-encoding the same objects in the same
process, and the same for a paged LIST (limit=500 + continue) and a watch's initial events.
Run with `make bench`.
"""
import asyncio
import json
import threading
import time
import urllib.request

import pytest
from aiohttp import web

from dvpsim import bootstrap, kinds
from dvpsim.cluster import Cluster
from tests.bench import timing
from dvpsim.server import build_app

VMS = 10_000
NAMESPACE = "scale"
PATH = f"/apis/virtualization.deckhouse.io/v1alpha2/namespaces/{NAMESPACE}/virtualmachines"


def vm(i):
    return {"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachine",
            "metadata": {"name": f"vm-{i:05d}", "namespace": NAMESPACE, "labels": {"tier": f"t{i % 10}"}},
            "spec": {"virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                     "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"d-{i}"}]},
            "status": {"phase": "Stopped"}}


@pytest.fixture(scope="module")
def served():
    """The cluster and its HTTP API on a loopback port, in a thread of this process (no controllers)."""
    cluster = Cluster()
    bootstrap.install(cluster)
    token = cluster.add_user("bench-admin", groups=("system:masters",))
    cluster.create(kinds.get("Namespace"), {"metadata": {"name": NAMESPACE}})
    start = time.perf_counter()
    for i in range(VMS):
        cluster.create(kinds.get("VirtualMachine"), vm(i))
    print(f"\ncreated {VMS} VMs in {time.perf_counter() - start:.1f} s")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state = {}

    async def serve():
        runner = web.AppRunner(build_app(cluster), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state["url"] = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
        state["runner"] = runner
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(10)
    yield cluster, state["url"], token
    asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def median(call, rounds=5):
    return timing.median_seconds(call, rounds)


def test_bench_full_list_of_10000_vms(served):
    cluster, url, token = served
    objects = cluster.store.list(kinds.get("VirtualMachine"), NAMESPACE)
    encode = median(lambda: json.dumps({"kind": "VirtualMachineList", "items": objects}))
    full = median(lambda: get(url + PATH, token))
    assert len(json.loads(get(url + PATH, token))["items"]) == VMS

    def paged():
        token_ = ""
        pages = 0
        while True:
            body = json.loads(get(f"{url}{PATH}?limit=500" + (f"&continue={token_}" if token_ else ""), token))
            pages += 1
            token_ = body["metadata"].get("continue")
            if not token_:
                return pages
    pages = paged()
    paged_time = median(paged, rounds=3)
    selected = median(lambda: get(f"{url}{PATH}?labelSelector=tier%3Dt3", token))
    print(f"\nfull LIST of {VMS} VMs: {full * 1000:.0f} ms; json.dumps of the same objects: {encode * 1000:.0f} ms; "
          f"ratio {full / encode:.2f}")
    print(f"paged LIST ({pages} pages of 500): {paged_time * 1000:.0f} ms, ratio {paged_time / encode:.2f}")
    print(f"LIST with labelSelector (1,000 of {VMS}): {selected * 1000:.0f} ms")


def test_bench_watch_initial_events_of_10000_vms(served):
    cluster, url, token = served
    objects = cluster.store.list(kinds.get("VirtualMachine"), NAMESPACE)
    encode = median(lambda: [json.dumps({"type": "ADDED", "object": o}) for o in objects], rounds=3)

    def watch_initial():
        request = urllib.request.Request(f"{url}{PATH}?watch=1&timeoutSeconds=1",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            seen = 0
            for line in response:
                seen += 1
                if seen == VMS:
                    return seen
    watch_time = median(watch_initial, rounds=3)
    print(f"\nwatch from scratch, {VMS} ADDED events: {watch_time * 1000:.0f} ms; "
          f"encoding them: {encode * 1000:.0f} ms; ratio {watch_time / encode:.2f}")
