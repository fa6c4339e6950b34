"""Benchmark (not a test): "Upload from computer" through Daphne stays streamed.

Uploads a 256 MiB image (8 MiB with BENCH_SMOKE=1) through the console's upload WebSocket (Daphne,
as in production) and prints Daphne's peak RSS growth during the upload, and the time against a
direct PUT of the same bytes to the image's upload URL. Run with `make bench`.
"""
import asyncio
import json
import time

import aiohttp

from dvpsim.samples import qcow2
from tests.bench.support import ratio, rss_kib, session_cookie, size
from tests.kube import create_dvp, get_dvp, wait_for_phase

MiB = 1024**2
SIZE = size(256, 8) * MiB
CHUNK = 256 * 1024
WINDOW = 2 * MiB


def waiting_image(sim, project, name):
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    return wait_for_phase(sim, "virtualimages", project, name, "WaitForUserUpload")


async def through_console(host, cookie, project, name, data, pid):
    peak = baseline = rss_kib(pid)
    url = f"ws://{host}/ws/projects/{project}/images/{name}/upload/"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, headers={"Origin": f"http://{host}", "Cookie": f"sessionid={cookie}"},
                                      max_msg_size=0) as ws:
            assert json.loads((await ws.receive()).data) == {"ready": True}
            start = time.perf_counter()
            await ws.send_str(json.dumps({"size": len(data)}))
            sent = acked = 0
            done = False
            while True:
                while sent < len(data) and sent - acked < WINDOW:
                    await ws.send_bytes(data[sent:sent + CHUNK])
                    sent += CHUNK
                if sent >= len(data) and not done:
                    await ws.send_str(json.dumps({"done": True}))
                    done = True
                answer = json.loads((await ws.receive()).data)
                peak = max(peak, rss_kib(pid))
                if "ack" in answer:
                    acked = answer["ack"]
                    continue
                assert answer == {"ok": True}, answer
                return time.perf_counter() - start, (peak - baseline) / 1024


async def direct(upload_url, data):
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        async with session.put(upload_url, data=data) as response:
            assert response.status == 200
    return time.perf_counter() - start


def test_bench_upload_through_daphne_is_streamed(sim, daphne, project):
    server, host = daphne
    data = qcow2(2 * SIZE, SIZE, seed=3)
    waiting_image(sim, project, "bench-upload-console")
    direct_image = waiting_image(sim, project, "bench-upload-direct")
    cookie = asyncio.run(session_cookie(host))
    relayed, growth = asyncio.run(through_console(host, cookie, project, "bench-upload-console", data, server.pid))
    direct_time = asyncio.run(direct(direct_image["status"]["imageUploadURLs"]["external"], data))
    for name in ("bench-upload-console", "bench-upload-direct"):
        wait_for_phase(sim, "virtualimages", project, name, "Ready", timeout=120)
    stored = get_dvp(sim, "virtualimages", project, "bench-upload-console")["status"]["size"]["storedBytes"]
    direct_stored = get_dvp(sim, "virtualimages", project, "bench-upload-direct")["status"]["size"]["storedBytes"]
    print(f"\nupload of {len(data) // MiB} MiB through the console (Daphne): {relayed:.2f} s, "
          f"{len(data) / MiB / relayed:.0f} MiB/s; Daphne's peak RSS growth {growth:.1f} MiB; "
          f"direct PUT {direct_time:.2f} s; ratio {ratio(relayed, direct_time):.2f}; stored {int(stored) // MiB} MiB")
    assert stored == direct_stored  # the same image both ways
