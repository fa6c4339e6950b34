"""Small disk images, made in memory, served over HTTP so image imports have something real to download.

The download is throttled on the cluster clock: ~4 s of simulated time per file, so progress
is visible at `--speed 1` and tests at `--speed 20` stay quick.
"""

import functools
import gzip
import lzma
import random
import struct
from dataclasses import dataclass

from aiohttp import web

from dvpsim import registry_server

GiB = 1024**3
MiB = 1024**2

DOWNLOAD_SECONDS = 4.0
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    format: str
    description: str
    build: callable


def _filler(n: int, seed: int) -> bytes:
    # Incompressible, deterministic: looks like image data and keeps sizes honest.
    return random.Random(seed).randbytes(n)


def qcow2(virtual_size: int, file_size: int, seed: int = 1) -> bytes:
    cluster_bits = 16
    header = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb", 3,        # magic, version
        0, 0,                 # backing file offset, size
        cluster_bits, virtual_size,
        0,                    # crypt method
        (virtual_size >> (cluster_bits + 13)) + 1,  # l1 size
        3 << cluster_bits,    # l1 table offset
        1 << cluster_bits,    # refcount table offset
        1,                    # refcount table clusters
        0, 0,                 # snapshots
    )
    header += struct.pack(">QQQII", 0, 0, 0, 4, 104)
    return header + _filler(file_size - len(header), seed)


def iso(file_size: int, volume_id: str = "DVPSIM_INSTALL") -> bytes:
    data = bytearray(_filler(file_size, 7))
    data[0:0x8000] = bytes(0x8000)  # system area
    descriptor = b"\x01CD001\x01\x00" + b"LINUX".ljust(32) + volume_id.encode().ljust(32)
    data[0x8000:0x8000 + len(descriptor)] = descriptor
    return bytes(data)


def raw(file_size: int) -> bytes:
    # A raw disk with an MBR signature and a little data; mostly zeros, so it compresses well.
    data = bytearray(file_size)
    data[510:512] = b"\x55\xaa"
    data[MiB:MiB + 64 * 1024] = _filler(64 * 1024, 3)
    return bytes(data)


def vmdk(capacity: int, file_size: int) -> bytes:
    header = struct.pack("<4sIIQQQ", b"KDMV", 1, 3, capacity // 512, 128, 1)
    return header + _filler(file_size - len(header), 5)


SAMPLES = [
    Sample("noble-server-cloudimg-amd64.img", "qcow2", "Ubuntu 24.04 cloud image (simulated)",
           lambda: qcow2(int(3.5 * GiB), int(3.4 * MiB), seed=1)),
    Sample("alpine-virt.qcow2", "qcow2", "Alpine Linux virt image (simulated)",
           lambda: qcow2(200 * MiB, 1 * MiB, seed=2)),
    Sample("tiny-raw.img.gz", "raw", "16 MiB raw disk, gzip-compressed",
           lambda: gzip.compress(raw(16 * MiB), mtime=0)),
    Sample("tiny-raw.img.xz", "raw", "16 MiB raw disk, xz-compressed",
           lambda: lzma.compress(raw(16 * MiB))),
    Sample("disk.vmdk", "vmdk", "VMDK sparse disk of 1 GiB",
           lambda: vmdk(GiB, 512 * 1024)),
    Sample("install.iso", "iso", "Installation ISO (simulated)",
           lambda: iso(2 * MiB)),
]


@functools.cache
def content(name: str) -> bytes | None:
    for sample in SAMPLES:
        if sample.name == name:
            return sample.build()
    return None


def routes(cluster) -> list[web.RouteDef]:
    async def index(request: web.Request) -> web.Response:
        return web.json_response([
            {"name": s.name, "url": f"{cluster.url}/dvpsim/samples/{s.name}",
             # the same file as a container disk in dvpsim's own registry (dvpsim/registry_server.py)
             "containerImage": f"{cluster.url.split('://', 1)[1]}/{registry_server.repository_of(s.name)}:latest",
             "format": s.format, "description": s.description}
            for s in SAMPLES
        ])

    async def download(request: web.Request) -> web.StreamResponse:
        data = content(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound(text="404: Not Found")
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(data)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        pause = DOWNLOAD_SECONDS * CHUNK / len(data)
        for offset in range(0, len(data), CHUNK):
            await response.write(data[offset:offset + CHUNK])
            await cluster.clock.sleep(pause)
        await response.write_eof()
        return response

    return [
        web.get("/dvpsim/samples/index.json", index),
        web.get("/dvpsim/samples/{name}", download),
    ]
