"""Downloading an image over HTTP the way DVP's importer does: streamed, measured, checked."""

import asyncio
import base64
import hashlib
import ssl
import time

import aiohttp

from dvpsim.formats import ImageInfo, ImageSniffer

CHUNK = 64 * 1024
_HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


class ImportFailed(Exception):
    pass


class Progress:
    def __init__(self, received, total, avg_bytes_per_s, current_bytes_per_s):
        self.received = received
        self.total = total
        self.avg = avg_bytes_per_s
        self.current = current_bytes_per_s

    @property
    def percent(self) -> float | None:
        return 100.0 * self.received / self.total if self.total else None


class Meter:
    """Turns a growing byte count into Progress: the average speed since the start and the current one since
    the last reading (what DVP's importer reports as downloadSpeed avg/current)."""

    def __init__(self, total):
        self.total = total
        self.started = self.last_t = time.monotonic()
        self.last_n = 0

    def reading(self, received) -> Progress:
        now = time.monotonic()
        avg = received / max(now - self.started, 1e-6)
        current = (received - self.last_n) / max(now - self.last_t, 1e-6)
        self.last_t, self.last_n = now, received
        return Progress(received, self.total, avg, current)


async def download(http: dict, on_progress) -> tuple[ImageInfo, ImageSniffer]:
    """Fetch `http.url`; on_progress(Progress) is awaited after each chunk."""
    url = http["url"]
    checksums = {a: v.lower() for a, v in (http.get("checksum") or {}).items() if a in _HASHES}
    hashers = {a: _HASHES[a]() for a in checksums}
    sniffer = ImageSniffer()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url, ssl=_ssl_context(http.get("caBundle"))) as response:
                if response.status != 200:
                    raise ImportFailed(f"http status {response.status} {response.reason}")
                meter = Meter(response.content_length)
                async for chunk in response.content.iter_chunked(CHUNK):
                    try:
                        sniffer.feed(chunk)
                    except ValueError as exc:
                        raise ImportFailed(str(exc)) from exc
                    for hasher in hashers.values():
                        hasher.update(chunk)
                    await on_progress(meter.reading(sniffer.stored_bytes))
    except ImportFailed:
        raise
    except aiohttp.ClientConnectorError as exc:
        raise ImportFailed(_dial_error(url, exc)) from exc
    except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError) as exc:
        raise ImportFailed(f"{type(exc).__name__}: {exc}") from exc
    try:
        info = sniffer.finish()
    except ValueError as exc:
        raise ImportFailed(str(exc)) from exc
    for algo, expected in checksums.items():
        actual = hashers[algo].hexdigest()
        if actual != expected:
            raise ImportFailed(f"{algo} checksum mismatch: expected {expected}, got {actual}")
    return info, sniffer


def _dial_error(url: str, exc: aiohttp.ClientConnectorError) -> str:
    # Phrase it the way Go's net/http reports it, as DVP's importer shows it.
    host = exc.host
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or "Name or service not known" in str(exc) \
            or "nodename nor servname" in str(exc):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(exc.os_error, ConnectionRefusedError):
        return f"dial tcp {host}:{exc.port}: connect: connection refused"
    return f"dial tcp {host}:{exc.port}: {exc.os_error}"


def _ssl_context(ca_bundle: str | None):
    if not ca_bundle:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=base64.b64decode(ca_bundle).decode())
    return context
