"""PUT of a file to an object's upload URL (VirtualImage, ClusterVirtualImage, VirtualDisk), streamed.

The upload URL is a capability: the endpoint takes no credentials (dvp-api-notes §6), so neither
the console's token nor Impersonate-User is sent with it, and it is never logged. Callers read the
URL as the user, once that user may update the object.
"""
import logging

import aiohttp

from portal import metrics

from . import errors

log = logging.getLogger(__name__)


async def put(url, chunks, size):
    """PUT `chunks` (an async iterator of bytes, `size` bytes in all) as one streamed request body.

    Returns when the endpoint took the whole file; raises errors.Unavailable when it cannot be
    reached, errors.Conflict when it takes no upload now (another one runs, or the URL is closed),
    errors.KubeError with the endpoint's words otherwise.
    """
    headers = {"Content-Type": "application/octet-stream"}
    if size:
        headers["Content-Length"] = str(size)  # the uploader shows progress from it
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.put(url, data=_counted(chunks), headers=headers) as response:
                text = (await response.text())[:500]
                status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("upload: the upload endpoint could not be reached: %s", type(exc).__name__)
        raise errors.Unavailable(
            f"The cluster's upload endpoint could not be reached ({type(exc).__name__}).") from exc
    if status == 200:
        return
    if status == 503:
        raise errors.Conflict("Another upload to this image is already running.")
    if status == 404:
        raise errors.Conflict("The upload URL is closed: the image was uploaded already, failed or timed out.")
    raise errors.KubeError(f"The upload failed: {text.strip() or f'HTTP {status}'}", status=status)


async def _counted(chunks):
    async for chunk in chunks:
        metrics.UPLOAD_BYTES.inc(len(chunk))
        yield chunk
