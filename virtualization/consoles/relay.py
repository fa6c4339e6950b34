"""VM console relays: browser <-> this consumer <-> the VM's `console` or `vnc` subresource.

The browser names a project and a VM; the upstream URL is built here and opened as the user
(Impersonate-User with their groups, or their token; subprotocol plain.kubevirt.io, our User-Agent so
the session holder reads "from the web console"). Raw binary frames pass untouched both ways.

Memory stays bounded in both directions, whatever either side does:
- upstream -> browser: Daphne buffers whatever we send without limit, so the browser acknowledges
  what it has consumed (text frame "ack <bytes>") and at most WINDOW bytes are in flight; when the
  window is full the relay stops reading upstream, and TCP backpressure reaches the guest.
- browser -> upstream: at most INPUT_LIMIT bytes wait for the upstream socket; a browser sending
  faster than that is disconnected with a reason rather than buffered.
Other text frames from the browser are keepalives and are not forwarded (DVP drops text frames).
The relay's only text frame to the browser is {"close": code, "reason": ...} just before it closes.
"""
import asyncio
import json
import logging
from contextlib import AsyncExitStack

from asgiref.sync import sync_to_async
from django.conf import settings

from portal.auth.identity import identity_of
from portal.kube import KubeError, kinds, streams
from projects.access import can_console, kube_for

from .sockets import ProjectSocket, Refused

log = logging.getLogger(__name__)

RUNNING_PHASES = ("Running", "Migrating")

# Close codes the pages explain (4000 + HTTP status for refused upgrades).
TAKEN_OVER = 4001
CONNECTION_LOST = 4006
VM_NOT_RUNNING = 4009
INPUT_OVERFLOW = 4013
STREAM_NAMES = {"console": "serial console", "vnc": "VNC display"}


def client_label(user_agent):
    """How the session holder's client reads, as `d8 v` renders it."""
    first = (user_agent or "").split("/")[0].split(" ")[0].lower()
    if first == "d8":
        return "the d8 v command line"
    if first == "console":
        return "the web console"
    cleaned = "".join(ch for ch in (user_agent or "") if ch.isprintable())[:60]
    return f"another client ({cleaned})" if cleaned else "an unknown client"


class StreamRelay(ProjectSocket):
    stream = None  # "console" or "vnc"
    WINDOW = 256 * 1024
    INPUT_LIMIT = 1024 * 1024

    async def connect(self):
        self.project = await self.authorize()
        if self.project is None:
            return
        self.vm = self.scope["url_route"]["kwargs"]["name"]
        if not await sync_to_async(can_console)(self.user, self.project.name, self.vm, self.stream):
            await self.refuse(Refused(403, f"You may not open the {STREAM_NAMES[self.stream]}."))
            return
        self.exit_stack = AsyncExitStack()
        try:
            self.upstream = await self.exit_stack.enter_async_context(streams.open_console(
                identity_of(self.user), self.project.name, self.vm, self.stream,
                keepalive=settings.DVP_CONSOLE_KEEPALIVE_SECONDS))
        except KubeError as exc:
            await self.exit_stack.aclose()
            # Accept so the browser can read why, then close with the reason.
            await self.accept()
            await self._tell_and_close(4000 + min(exc.status, 999), exc.message)
            return
        await self.accept()
        self.unacknowledged = 0
        self.window_open = asyncio.Event()
        self.input = asyncio.Queue()
        self.pending_input = 0
        self.closing = False
        self.tasks = [asyncio.create_task(self._from_upstream()), asyncio.create_task(self._to_upstream())]

    async def receive(self, text_data=None, bytes_data=None):
        if getattr(self, "upstream", None) is None or self.closing:
            return
        if bytes_data is not None:
            if self.pending_input + len(bytes_data) > self.INPUT_LIMIT:
                await self._close_both(INPUT_OVERFLOW, "Input arrived faster than the virtual machine reads it.")
                return
            self.pending_input += len(bytes_data)
            self.input.put_nowait(bytes_data)
        elif text_data and text_data.startswith("ack "):
            try:
                consumed = int(text_data[4:])
            except ValueError:
                return
            self.unacknowledged = max(0, self.unacknowledged - consumed)
            if self.unacknowledged < self.WINDOW:
                self.window_open.set()

    async def _to_upstream(self):
        while True:
            data = await self.input.get()
            try:
                await self.upstream.send(data)
            except streams.Closed:
                return  # _from_upstream sees the close and tells the browser
            finally:
                self.pending_input -= len(data)

    async def _from_upstream(self):
        try:
            async for chunk in self.upstream:
                while self.unacknowledged >= self.WINDOW:
                    self.window_open.clear()
                    await self.window_open.wait()
                self.unacknowledged += len(chunk)
                await self.send(bytes_data=chunk)
            code, reason = await self._why_closed(self.upstream.closed.code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the relay must always close the browser side
            log.warning("%s relay error: %s", self.stream, exc)
            code, reason = CONNECTION_LOST, f"The {STREAM_NAMES[self.stream]} stream broke."
        await self._close_both(code, reason)

    async def _why_closed(self, upstream_code):
        what = STREAM_NAMES[self.stream]
        if upstream_code == 1001:
            holder = await streams.probe_console(identity_of(self.user), self.project.name, self.vm, self.stream)
            if holder and holder.get("holder"):
                who = "you" if holder["holder"] == self.user.get_username() else holder["holder"]
                return TAKEN_OVER, _short(f"{who} took over this {what} from {client_label(holder.get('client'))}.")
            return TAKEN_OVER, f"Another session took over this {what}."
        phase = await sync_to_async(self._vm_phase)()
        if phase is None:
            return VM_NOT_RUNNING, "The virtual machine is gone."
        if phase not in RUNNING_PHASES:
            return VM_NOT_RUNNING, f"The virtual machine is {phase}: the {what} closed."
        if upstream_code == 1000:
            return 1000, f"The {what} closed."
        return CONNECTION_LOST, f"The connection to the {what} was lost (the VM restarted or the network failed)."

    def _vm_phase(self):
        try:
            obj = kube_for(self.user).get(kinds.VM, self.vm, self.project.name)
        except KubeError:
            return None
        return (obj.get("status") or {}).get("phase", "Pending")

    async def _close_both(self, code, reason):
        if self.closing:
            return
        self.closing = True
        await self._tell_and_close(code, reason)
        await self._release()

    async def _tell_and_close(self, code, reason):
        # Daphne drops close reasons, so the reason also goes ahead as the only text frame the
        # relay ever sends (console data is always binary).
        await self.send(text_data=json.dumps({"close": code, "reason": _short(reason)}))
        await self.close(code=code, reason=_short(reason))

    async def disconnect(self, code):
        self.closing = True
        await self._release()

    async def _release(self):
        current = asyncio.current_task()
        for task in getattr(self, "tasks", []):
            if task is not current:
                task.cancel()
        stack = getattr(self, "exit_stack", None)
        if stack:
            self.exit_stack = None
            await stack.aclose()


class ConsoleConsumer(StreamRelay):
    """/ws/projects/<project>/vms/<name>/console/ — the VM's serial console."""

    stream = "console"


class VncConsumer(StreamRelay):
    """/ws/projects/<project>/vms/<name>/vnc/ — the VM's VNC display (raw RFB bytes)."""

    stream = "vnc"


def _short(text):
    """A WebSocket close reason is at most 123 bytes of UTF-8."""
    data = text.encode()
    if len(data) <= 123:
        return text
    return data[:120].decode(errors="ignore") + "…"
