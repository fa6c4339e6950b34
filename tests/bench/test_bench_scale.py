"""Benchmark (not a test): dvpsim with 10,000 VMs in one namespace (300 with BENCH_SMOKE=1), measured in one process.

Prints the time of a full LIST as a ratio to json-encoding the same objects in the same
process, and the same for a paged LIST (limit=500 + continue; 100 in the smoke) and a watch's initial events.
Run with `make bench`.
"""
import asyncio
import json
import threading
import time
import urllib.request

import pytest
from aiohttp import web

from dvpsim import bootstrap, demo, kinds
from dvpsim.cluster import Cluster
from dvpsim.server import build_app
from tests.bench import timing
from tests.bench.support import ratio, size

VMS = size(10_000, 300)
PAGE = size(500, 100)
ROUNDS = size(5, 2)
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
    # The virtualization module's IP ranges, as every DVP cluster has them: a VM without spec.networks needs them.
    cluster.create(kinds.get("ModuleConfig"), demo.module_config())
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


def median(call, rounds=ROUNDS):
    return timing.median_seconds(call, rounds)


def test_bench_full_list_of_10000_vms(served):
    cluster, url, token = served
    objects = cluster.store.list(kinds.get("VirtualMachine"), NAMESPACE)
    encode = median(lambda: json.dumps({"kind": "VirtualMachineList", "items": objects}))
    full = median(lambda: get(url + PATH, token))
    assert len(json.loads(get(url + PATH, token))["items"]) == VMS

    def paged():
        token_ = ""
        pages = []
        while True:
            body = json.loads(get(f"{url}{PATH}?limit={PAGE}" + (f"&continue={token_}" if token_ else ""), token))
            pages.append(len(body["items"]))
            token_ = body["metadata"].get("continue")
            if not token_:
                return pages
    pages = paged()
    assert sum(pages) == VMS and len(pages) == -(-VMS // PAGE), pages
    paged_time = median(paged, rounds=min(ROUNDS, 3))
    assert len(json.loads(get(f"{url}{PATH}?labelSelector=tier%3Dt3", token))["items"]) == VMS // 10
    selected = median(lambda: get(f"{url}{PATH}?labelSelector=tier%3Dt3", token))
    print(f"\nfull LIST of {VMS} VMs: {full * 1000:.0f} ms; json.dumps of the same objects: {encode * 1000:.0f} ms; "
          f"ratio {ratio(full, encode):.2f}")
    print(f"paged LIST ({len(pages)} pages of {PAGE}): {paged_time * 1000:.0f} ms, ratio {ratio(paged_time, encode):.2f}")
    print(f"LIST with labelSelector ({VMS // 10:,} of {VMS:,}): {selected * 1000:.0f} ms")


def test_bench_watch_initial_events_of_10000_vms(served):
    cluster, url, token = served
    objects = cluster.store.list(kinds.get("VirtualMachine"), NAMESPACE)
    encode = median(lambda: [json.dumps({"type": "ADDED", "object": o}) for o in objects], rounds=min(ROUNDS, 3))

    def watch_initial():
        request = urllib.request.Request(f"{url}{PATH}?watch=1&timeoutSeconds=1",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            seen = 0
            for line in response:
                seen += 1
                if seen == VMS:
                    return seen
        return seen
    assert watch_initial() == VMS
    watch_time = median(watch_initial, rounds=min(ROUNDS, 3))
    print(f"\nwatch from scratch, {VMS} ADDED events: {watch_time * 1000:.0f} ms; "
          f"encoding them: {encode * 1000:.0f} ms; ratio {ratio(watch_time, encode):.2f}")
