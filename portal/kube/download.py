"""Reading a volume's data from the exporter of a DataExport (storage-volume-data-manager), as the user.

The exporter takes the caller's kube credentials (what `d8 download` sends): the user's impersonation
headers with the console's own token, or the user's own token. Only the URL the console expects for
that export is ever requested: `exporter_url` compares what the DataExport's status says with the
address DVP_DATA_EXPORT_URL gives for it and refuses anything else, so a status written by someone
else cannot make the console fetch another address with its credentials.
"""
import asyncio
import logging
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from portal import metrics

from . import errors, observe
from .config import endpoint

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
BLOCK_PATH = "/api/v1/block"


def expected_url(namespace, name):
    """The exporter address of the DataExport `name` in `namespace`, or None when none is configured."""
    template = settings.DVP_DATA_EXPORT_URL
    if not template:
        return None
    return template.format(namespace=namespace, name=name).rstrip("/")


def exporter_url(status_url, namespace, name):
    """The exporter URL to read from, when the one the DataExport reports is the one expected for it.

    errors.Forbidden names the refusal otherwise (the URL is never requested)."""
    expected = expected_url(namespace, name)
    if expected is None:
        raise errors.Forbidden("The console does not know where this cluster's data exporter answers "
                               "(DVP_DATA_EXPORT_URL is not set), so it downloads nothing.")
    given = urlsplit(str(status_url or ""))
    wanted = urlsplit(expected)
    try:
        same = ((given.scheme, given.hostname, given.port, given.path.rstrip("/"))
                == (wanted.scheme, wanted.hostname, wanted.port, wanted.path.rstrip("/"))
                and not given.username and not given.password and not given.query and not given.fragment
                and given.netloc == wanted.netloc)
    except ValueError:  # a port that is not a number
        same = False
    if not same:
        log.warning("DataExport %s/%s reports an exporter URL that is not its own; refused", namespace, name)
        raise errors.Forbidden(f"The DataExport {name} reports an exporter address that is not the one of its "
                               "own service; the console refuses to read from it.")
    return expected


def _counted_path(url):
    return urlsplit(url).path


async def _open(session, identity, url, method):
    ep = endpoint()
    headers = ep.headers_as(identity, accept="application/octet-stream")
    try:
        response = await session.request(method, url + BLOCK_PATH, headers=headers, ssl=ep.ssl,
                                         allow_redirects=False)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        raise errors.Unavailable(f"The data exporter cannot be reached: {exc.__class__.__name__}") from exc
    if response.status != 200:
        async with response:
            raise errors.from_status(response.status, await response.read())
    return response


def _session():
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300))


async def size(identity, url):
    """Bytes the exporter will send for the volume (HEAD, as http.ServeContent answers it)."""
    async with _session() as session:
        with observe.api_call(identity, "HEAD", _counted_path(url), verb="download-head"):
            response = await _open(session, identity, url, "HEAD")
            async with response:
                return int(response.headers.get("Content-Length") or 0)


async def stream(identity, url, chunk_size=CHUNK):
    """Yield the volume's bytes from the exporter, `chunk_size` at a time, as the user.

    Measured as one API call of verb "download" (portal.kube.observe); bytes counted."""
    async with _session() as session:
        with observe.api_call(identity, "GET", _counted_path(url), verb="download"):
            response = await _open(session, identity, url, "GET")
        async with response:
            try:
                async for chunk in response.content.iter_chunked(chunk_size):
                    metrics.DOWNLOAD_BYTES.inc(len(chunk))
                    yield chunk
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise errors.Unavailable(f"The data exporter broke off: {exc.__class__.__name__}") from exc
