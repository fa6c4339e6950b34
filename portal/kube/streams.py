"""Long-lived streams to the API server for asyncio code: watches and VM consoles.

The official client's watch and WebSocket helpers are blocking; Channels consumers need
asyncio, so these use aiohttp with the same endpoint, credentials and identity (portal.kube.identity).
"""
import asyncio
import json
import logging
from contextlib import asynccontextmanager

import aiohttp

from portal import metrics

from . import errors, observe
from .client import TABLE_ACCEPT
from .config import endpoint
from .kinds import SUBRESOURCES

log = logging.getLogger(__name__)

CONSOLE_PROTOCOLS = ("plain.kubevirt.io",)
# One upstream message is at most this big (virt-handler sends what one read of the guest socket
# gave, a few KiB); with aiohttp's bounded read-ahead this bounds what a relay holds from upstream.
CONSOLE_MAX_MESSAGE = 4 * 1024 * 1024


def _headers(identity, accept="application/json"):
    ep = endpoint()
    return ep, ep.headers_as(identity, accept)


async def _raise_for(response):
    body = await response.read()
    raise errors.from_status(response.status, body)


async def watch(identity, kind, namespace=None, *, table=False, field_selector=None, label_selector=None,
                resource_version=None, timeout_seconds=300):
    """Yield (event_type, object) from a watch made as `identity`; returns when the stream ends."""
    ep, headers = _headers(identity, TABLE_ACCEPT if table else "application/json")
    params = {"watch": "1", "timeoutSeconds": str(timeout_seconds), "allowWatchBookmarks": "true"}
    if table:
        params["includeObject"] = "Object"
    if field_selector:
        params["fieldSelector"] = field_selector
    if label_selector:
        params["labelSelector"] = label_selector
    if resource_version:
        params["resourceVersion"] = resource_version
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30)
    path = kind.collection_path(namespace)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with observe.api_call(identity, "GET", path, verb="watch"):
                try:
                    response = await session.get(ep.host + path, params=params, headers=headers, ssl=ep.ssl)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    raise errors.Unavailable(f"The watch cannot be opened: {exc.__class__.__name__}") from exc
                if response.status != 200:
                    async with response:
                        await _raise_for(response)
            async with response:
                with observe.watch_open():
                    async for line in response.content:
                        line = line.strip()
                        if not line:
                            continue
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            status = event.get("object") or {}
                            raise errors.from_status(status.get("code") or 500, json.dumps(status))
                        yield event["type"], event["object"]
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise errors.Unavailable(f"The watch stream broke: {exc.__class__.__name__}") from exc


def console_path(namespace, name, stream="console"):
    return f"/apis/{SUBRESOURCES}/v1alpha2/namespaces/{namespace}/virtualmachines/{name}/{stream}"


class Closed(Exception):
    """A console stream ended: the close `code` the server sent (1006 when the connection broke) and why."""

    def __init__(self, code, reason=""):
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class ConsoleStream:
    """A VM console as bytes: `async for chunk in stream` until it ends, then `stream.closed` says how.

    `send(data)` writes to the guest and raises Closed once the stream is gone.
    """

    def __init__(self, ws, stream="console"):
        self._ws = ws
        self.closed = None
        self._to_browser = metrics.CONSOLE_BYTES.labels(stream, "to_browser")
        self._to_vm = metrics.CONSOLE_BYTES.labels(stream, "to_vm")

    def __aiter__(self):
        return self

    async def __anext__(self):
        while self.closed is None:
            message = await self._ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                self._to_browser.inc(len(message.data))
                return message.data
            if message.type == aiohttp.WSMsgType.CLOSE:
                # The code the server sent (close_code may read 1006 if our reply could not be written).
                self.closed = Closed(message.data, message.extra or "")
            elif message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                error = message.data if isinstance(message.data, BaseException) else None
                self.closed = Closed(self._ws.close_code or 1006, type(error).__name__ if error else "")
            # Text frames carry nothing for a raw console and are skipped.
        raise StopAsyncIteration

    async def send(self, data: bytes):
        try:
            await self._ws.send_bytes(data)
            self._to_vm.inc(len(data))
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise Closed(self._ws.close_code or 1006, type(exc).__name__) from exc

    async def close(self):
        await self._ws.close()


@asynccontextmanager
async def open_console(identity, namespace, name, stream="console", *, keepalive=30.0):
    """Open the VM's serial console (or VNC) as `identity`; yields a ConsoleStream.

    Pings go upstream every `keepalive` seconds (the raw stream has no server pings, and idle
    connections must survive proxies). Raises errors.* with the API's message when the upgrade
    is refused (not Running, forbidden, ...).
    """
    ep, headers = _headers(identity)
    path = console_path(namespace, name, stream)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
    try:
        with observe.console_session(identity, namespace, name, stream) as opened:
            with observe.api_call(identity, "GET", path, verb="connect") as call:
                call.status = 101  # Switching Protocols, unless the upgrade raises
                try:
                    ws = await session.ws_connect(ep.ws_url(path), headers=headers, protocols=CONSOLE_PROTOCOLS,
                                                  ssl=ep.ssl, autoping=True, heartbeat=keepalive or None,
                                                  max_msg_size=CONSOLE_MAX_MESSAGE)
                except aiohttp.WSServerHandshakeError as exc:
                    raise _handshake_error(exc) from exc
                except (aiohttp.ClientError, OSError) as exc:
                    raise errors.Unavailable(f"The console cannot be reached: {exc.__class__.__name__}") from exc
            opened()
            try:
                yield ConsoleStream(ws, stream)
            finally:
                await ws.close()
    finally:
        await session.close()


def _handshake_error(exc):
    # aiohttp drops the response body of a refused upgrade; the status is what we have.
    messages = {
        403: "You are not allowed to open this console.",
        404: "The virtual machine was not found.",
        500: "The virtual machine is not running.",
        400: "The console refused the connection.",
    }
    return errors.from_status(exc.status, json.dumps({"message": messages.get(exc.status, exc.message)}))


async def probe_console(identity, namespace, name, stream="console"):
    """Who holds the console now ({} when free). Any error means "unknown": returns None."""
    ep, headers = _headers(identity)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.get(ep.host + console_path(namespace, name, stream), params={"probe": "true"},
                                   headers=headers, ssl=ep.ssl) as response:
                if response.status != 200:
                    return None
                return await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return None
