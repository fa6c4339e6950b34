"""The VM's VNC display: RFB 3.8 over the vnc subresource WebSocket, showing the serial console's guest."""

import asyncio
import struct

import aiohttp
import pytest

from tests.kube import Dvp, blank_disk, fresh_namespace, vm_body

SUBRESOURCES = "/apis/subresources.virtualization.deckhouse.io/v1alpha2"
# What noVNC asks for: 32 bpp, depth 24, little-endian, true colour, RGBX.
NOVNC_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 0, 8, 16)
KEY_RETURN = 0xFF0D


@pytest.fixture(scope="module")
def vm(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "vnc"))
    dvp.create("virtualdisks", blank_disk("vnc-vm-root", "10Gi"))
    dvp.create("virtualmachines", vm_body("vnc-vm", cpu={"cores": 1, "coreFraction": "10%"}))
    dvp.wait_phase("virtualmachines", "vnc-vm", "Running")
    yield dvp
    dvp.delete("virtualmachines", "vnc-vm")  # room for later tests in the shared simulated cluster


class RfbClient:
    """Just enough of a VNC viewer: handshake, framebuffer updates into a local buffer, keys."""

    def __init__(self, ws):
        self.ws = ws
        self.buffer = bytearray()

    async def read(self, n, timeout=5.0):
        async def fill():
            while len(self.buffer) < n:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.BINARY:
                    raise AssertionError(f"unexpected {message.type}")
                self.buffer += message.data
        await asyncio.wait_for(fill(), timeout)
        data, self.buffer = bytes(self.buffer[:n]), self.buffer[n:]
        return data

    async def handshake(self):
        assert await self.read(12) == b"RFB 003.008\n"
        await self.ws.send_bytes(b"RFB 003.008\n")
        count = (await self.read(1))[0]
        assert 1 in await self.read(count)  # security type None is offered
        await self.ws.send_bytes(b"\x01")
        assert struct.unpack(">I", await self.read(4))[0] == 0
        await self.ws.send_bytes(b"\x01")  # ClientInit, shared
        self.width, self.height = struct.unpack(">HH", await self.read(4))
        await self.read(16)  # the server's pixel format
        name_length = struct.unpack(">I", await self.read(4))[0]
        self.name = (await self.read(name_length)).decode()
        await self.ws.send_bytes(b"\x00\x00\x00\x00" + NOVNC_FORMAT)
        await self.ws.send_bytes(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: Raw
        self.pixels = bytearray(self.width * self.height * 4)

    async def update(self, incremental, timeout=5.0):
        """Request an update and apply it; returns the rectangles' (x, y, w, h)."""
        await self.ws.send_bytes(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, self.width, self.height))
        kind, count = struct.unpack(">BxH", await self.read(4, timeout))
        assert kind == 0
        rectangles = []
        for _ in range(count):
            x, y, w, h, encoding = struct.unpack(">HHHHi", await self.read(12))
            assert encoding == 0
            data = await self.read(w * h * 4)
            for row in range(h):
                start = ((y + row) * self.width + x) * 4
                self.pixels[start:start + w * 4] = data[row * w * 4:(row + 1) * w * 4]
            rectangles.append((x, y, w, h))
        return rectangles

    async def key(self, keysym):
        await self.ws.send_bytes(struct.pack(">BBxxI", 4, 1, keysym) + struct.pack(">BBxxI", 4, 0, keysym))

    async def type(self, text):
        for ch in text:
            await self.key(KEY_RETURN if ch == "\r" else ord(ch))


def stream_url(sim, dvp, stream):
    return f"{sim.url}{SUBRESOURCES}/namespaces/{dvp.namespace}/virtualmachines/vnc-vm/{stream}"


async def open_vnc(session, sim, dvp):
    ws = await session.ws_connect(stream_url(sim, dvp, "vnc"), protocols=("plain.kubevirt.io",),
                                  headers={"Authorization": f"Bearer {sim.token('admin')}"})
    client = RfbClient(ws)
    await client.handshake()
    return client


def lit(pixels):
    return sum(1 for i in range(0, len(pixels), 4) if pixels[i])


async def test_it_shows_the_guest_screen_and_types_keys_into_it(sim, vm):
    async with aiohttp.ClientSession() as session:
        vnc = await open_vnc(session, sim, vm)
        assert (vnc.width, vnc.height) == (640, 400)
        assert "vnc-vm" in vnc.name
        await vnc.update(incremental=False)
        before = bytes(vnc.pixels)
        assert lit(before) > 500  # the boot log and the login prompt are drawn

        await vnc.type("cloud\r")
        rectangles = await vnc.update(incremental=True)
        assert rectangles and all(w == 640 for _, _, w, _ in rectangles)
        assert bytes(vnc.pixels) != before

        await vnc.type("cloud\r")
        await vnc.update(incremental=True)
        await vnc.ws.close()

        # The serial console shares the guest: the VNC login left a shell at its prompt.
        console = await session.ws_connect(stream_url(sim, vm, "console"), protocols=("plain.kubevirt.io",),
                                           headers={"Authorization": f"Bearer {sim.token('admin')}"})
        greeting = (await console.receive(timeout=5)).data
        assert b"cloud@vnc-vm:~$ " in greeting
        await console.send_bytes(b"exit\r")
        await console.close()


async def test_it_holds_an_incremental_update_until_the_screen_changes(sim, vm):
    async with aiohttp.ClientSession() as session:
        vnc = await open_vnc(session, sim, vm)
        await vnc.update(incremental=False)
        pending = asyncio.ensure_future(vnc.update(incremental=True, timeout=10))
        await asyncio.sleep(0.3)
        assert not pending.done()  # nothing changed: no update is sent
        await vnc.type("x")
        assert await asyncio.wait_for(pending, 5)
        await vnc.key(0xFF08)  # BackSpace
        await vnc.ws.close()


async def test_it_is_exclusive_and_probed_separately_from_the_serial_console(sim, vm):
    headers = {"Authorization": f"Bearer {sim.token('admin')}"}
    async with aiohttp.ClientSession() as session:
        first = await open_vnc(session, sim, vm)
        async with session.get(stream_url(sim, vm, "vnc"), params={"probe": "true"}, headers=headers) as response:
            assert (await response.json())["holder"] == "admin"
        async with session.get(stream_url(sim, vm, "console"), params={"probe": "true"}, headers=headers) as response:
            assert await response.json() == {}
        second = await open_vnc(session, sim, vm)
        message = await first.ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001
        await second.ws.close()
