"""The VM's VNC display: an RFB 3.8 server over the WebSocket's binary frames.

It shows the same guest as the serial console (one GuestSession per boot, see console.py): the
guest's text screen is drawn into the framebuffer, and key events are typed into the guest. Only
what a VNC client needs is spoken: security type None, SetPixelFormat (true colour), SetEncodings,
FramebufferUpdateRequest answered with Raw rectangles, KeyEvent, PointerEvent, ClientCutText.
"""

import asyncio
import contextlib
import struct
from functools import lru_cache

from aiohttp import WSMsgType
from PIL import Image, ImageDraw, ImageFont

from dvpsim.controllers import power
from dvpsim.guest.console import _drop_when_vm_goes_down, guest_for

CELL_WIDTH, CELL_HEIGHT = 8, 16
BACKGROUND, FOREGROUND = 0x00, 0xC0  # grey levels of the drawn screen
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf")
# The server's own pixel format until the client sets one: 32 bpp, depth 24, little-endian BGRX.
DEFAULT_FORMAT = (32, 24, 0, 1, 255, 255, 255, 16, 8, 0)

KEYSYMS = {
    0xFF0D: "\r", 0xFF8D: "\r", 0xFF08: "\x7f", 0xFF09: "\t", 0xFF1B: "\x1b",
    0xFF52: "\x1b[A", 0xFF54: "\x1b[B", 0xFF53: "\x1b[C", 0xFF51: "\x1b[D",
}
CONTROL_KEYS = (0xFFE3, 0xFFE4)


class ClosedError(Exception):
    pass


class _Reader:
    """Byte-exact reads over WebSocket messages (RFB messages may span or share frames)."""

    def __init__(self, ws):
        self.ws = ws
        self.buffer = bytearray()

    async def read(self, n):
        while len(self.buffer) < n:
            message = await self.ws.receive()
            if message.type == WSMsgType.BINARY:
                self.buffer += message.data
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                raise ClosedError()
            # Text frames are dropped, as virt-handler does.
        data, self.buffer = bytes(self.buffer[:n]), self.buffer[n:]
        return data


@lru_cache(maxsize=1)
def _font():
    for path in FONT_PATHS:
        with contextlib.suppress(OSError):
            return ImageFont.truetype(path, 12)
    return ImageFont.load_default()


@lru_cache(maxsize=512)
def render_row(line, cursor_column=None):
    """One text row as an 8-bit grey image, CELL_WIDTH x CELL_HEIGHT per character."""
    image = Image.new("L", (len(line) * CELL_WIDTH, CELL_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font()
    for column, ch in enumerate(line):
        if ch != " ":
            draw.text((column * CELL_WIDTH, 1), ch, fill=FOREGROUND, font=font)
    if cursor_column is not None:
        x = cursor_column * CELL_WIDTH
        draw.rectangle((x, CELL_HEIGHT - 3, x + CELL_WIDTH - 1, CELL_HEIGHT - 2), fill=FOREGROUND)
    return image


class PixelFormat:
    def __init__(self, bpp, depth, big_endian, true_colour, red_max, green_max, blue_max,
                 red_shift, green_shift, blue_shift):
        if not true_colour or bpp not in (8, 16, 32):
            raise ValueError("only true-colour 8, 16 or 32 bpp pixel formats are served")
        self.bpp, self.depth, self.big_endian = bpp, depth, big_endian
        self.maxes, self.shifts = (red_max, green_max, blue_max), (red_shift, green_shift, blue_shift)

    @classmethod
    def unpack(cls, data):
        return cls(*struct.unpack(">BBBBHHHBBB3x", data))

    def pack(self):
        return struct.pack(">BBBBHHHBBB3x", self.bpp, self.depth, self.big_endian, 1, *self.maxes, *self.shifts)

    @lru_cache(maxsize=8)
    def grey_table(self):
        """For each grey level 0..255, its pixel's bytes in this format."""
        size = self.bpp // 8
        table = []
        for level in range(256):
            value = 0
            for channel_max, shift in zip(self.maxes, self.shifts):
                value |= (level * channel_max // 255) << shift
            table.append(value.to_bytes(size, "big" if self.big_endian else "little"))
        return table

    def encode(self, image):
        """Raw pixel bytes of a grey image."""
        data = image.tobytes()
        if self.bpp == 8:
            return data.translate(b"".join(self.grey_table()))
        table = self.grey_table()
        return b"".join(table[level] for level in data)


class VncServer:
    def __init__(self, guest, ws):
        self.guest, self.ws = guest, ws
        self.screen = guest.screen
        self.width, self.height = self.screen.columns * CELL_WIDTH, self.screen.rows * CELL_HEIGHT
        self.format = PixelFormat(*DEFAULT_FORMAT)
        self.reader = _Reader(ws)
        self.control = False
        self.sent_lines = None     # the text rows the client has, to send only what changed
        self.sent_version = None
        self.sent_cursor_row = None
        self.update_request = None  # (incremental, x, y, w, h) waiting for a change
        self.wakeup = asyncio.Event()

    async def handshake(self):
        await self.ws.send_bytes(b"RFB 003.008\n")
        version = await self.reader.read(12)
        if not version.startswith(b"RFB 003."):
            raise ClosedError()
        await self.ws.send_bytes(bytes([1, 1]))  # one security type: None
        if (await self.reader.read(1))[0] != 1:
            await self.ws.send_bytes(struct.pack(">I", 1) + _reason(b"Only security type None is offered."))
            raise ClosedError()
        await self.ws.send_bytes(struct.pack(">I", 0))
        await self.reader.read(1)  # ClientInit: shared flag (sharing is decided by the subresource)
        name = f"{self.guest.facts.hostname} (dvpsim)".encode()
        await self.ws.send_bytes(struct.pack(">HH", self.width, self.height) + self.format.pack()
                                 + struct.pack(">I", len(name)) + name)

    async def read_messages(self):
        while True:
            kind = (await self.reader.read(1))[0]
            if kind == 0:
                self.format = PixelFormat.unpack((await self.reader.read(19))[3:])
                self.sent_lines = None
            elif kind == 2:
                count = struct.unpack(">xH", await self.reader.read(3))[0]
                await self.reader.read(4 * count)  # Raw is always used
            elif kind == 3:
                self.update_request = struct.unpack(">BHHHH", await self.reader.read(9))
                self.wakeup.set()
            elif kind == 4:
                down, keysym = struct.unpack(">BxxI", await self.reader.read(7))
                self._key(bool(down), keysym)
            elif kind == 5:
                await self.reader.read(5)  # pointer: the text console has no mouse
            elif kind == 6:
                length = struct.unpack(">xxxI", await self.reader.read(7))[0]
                await self.reader.read(length)  # like QEMU without a clipboard agent: ignored
            else:
                raise ClosedError()

    def _key(self, down, keysym):
        if keysym in CONTROL_KEYS:
            self.control = down
            return
        if not down:
            return
        text = KEYSYMS.get(keysym)
        if text is None and 0x20 <= keysym <= 0x7E:
            text = chr(keysym)
            if self.control and text.isalpha():
                text = chr(ord(text.upper()) - 64)
        elif text is None and 0xA0 <= keysym <= 0xFF:
            text = chr(keysym)
        elif text is None and keysym & 0xFF000000 == 0x01000000:
            text = chr(keysym & 0xFFFFFF)  # Unicode keysyms
        if text:
            self.guest.feed(text.encode())

    async def send_updates(self):
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            request = self.update_request
            if request is None:
                continue
            incremental = request[0]
            if incremental and self.sent_version == self.screen.version:
                waiter = asyncio.ensure_future(self.screen.changed_since(self.sent_version))
                woken = asyncio.ensure_future(self.wakeup.wait())
                await asyncio.wait((waiter, woken), return_when=asyncio.FIRST_COMPLETED)
                for task in (waiter, woken):
                    task.cancel()
                if self.update_request is not request:  # a newer request arrived: serve that one
                    self.wakeup.set()
                    continue
            self.update_request = None
            await self._send_update(full=not incremental)

    async def _send_update(self, full):
        version = self.screen.version
        lines = self.screen.text()
        cursor_row, cursor_column = self.screen.row, self.screen.column
        previous = None if full else self.sent_lines
        changed = [row for row in range(len(lines))
                   if previous is None or previous[row] != lines[row] or row in (cursor_row, self.sent_cursor_row)]
        rectangles = []
        for run in _runs(changed):
            pixels = b"".join(self.format.encode(render_row(lines[row], cursor_column if row == cursor_row else None))
                              for row in run)
            header = struct.pack(">HHHHi", 0, run[0] * CELL_HEIGHT, self.width, len(run) * CELL_HEIGHT, 0)
            rectangles.append(header + pixels)
        await self.ws.send_bytes(struct.pack(">BxH", 0, len(rectangles)) + b"".join(rectangles))
        self.sent_lines, self.sent_version, self.sent_cursor_row = lines, version, cursor_row


def _runs(rows):
    """Consecutive row numbers grouped: [1, 2, 5] -> [[1, 2], [5]]."""
    runs = []
    for row in rows:
        if runs and runs[-1][-1] == row - 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _reason(text):
    return struct.pack(">I", len(text)) + text


async def serve_vnc(cluster, vm: dict, ws, username: str):
    """Serve an accepted (prepared) WebSocket as the VM's VNC display until either side goes away."""
    guest = guest_for(cluster, vm)
    if not guest._booted:
        guest.connect()  # the display shows the boot log and the login prompt, as tty1 would
    boot = power.of(cluster, vm).boots
    loop = asyncio.get_running_loop()
    watcher = loop.create_task(_drop_when_vm_goes_down(cluster, vm, boot, ws))
    server = VncServer(guest, ws)
    sender = None
    try:
        await server.handshake()
        sender = loop.create_task(server.send_updates())
        await server.read_messages()
    except (ClosedError, ValueError, ConnectionError):
        pass
    finally:
        for task in (watcher, sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
