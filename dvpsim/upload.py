"""DVP's upload endpoint (dvcr-uploader behind its Ingress), emulated on the simulator's own port.

A resource with `dataSource.type: Upload` gets a capability URL `/upload/<32 alphanumerics>`
(dvp-api-notes §6): GET answers 200 (the readiness probe), PUT or POST take the raw image bytes,
a second upload while one runs gets 503, anything else 404. There is no authentication: the
random path is the only credential. If no upload starts within 10 minutes (cluster clock), the
resource fails with WaitForUserUploadTimeout.

The controller owning the resource is the `sink`; it is told when the upload starts, how it
progresses, and how it ends, and writes the resource's status itself.
"""

import asyncio
import hashlib
import logging
import secrets
import string

from aiohttp import web

from dvpsim import kinds
from dvpsim.controllers.importer import Meter
from dvpsim.formats import ImageSniffer

log = logging.getLogger("dvpsim.upload")

START_DEADLINE_SECONDS = 600
CHUNK = 64 * 1024
_ALPHANUM = string.ascii_letters + string.digits
_HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


class Endpoint:
    """One resource's upload URL and what is known about its upload."""

    def __init__(self, key, uid, checksums, sink):
        self.key = key            # (kind name, namespace or "", name)
        self.uid = uid
        self.checksums = {a: v.lower() for a, v in (checksums or {}).items() if a in _HASHES}
        self.sink = sink
        self.path = "/upload/" + "".join(secrets.choice(_ALPHANUM) for _ in range(32))
        self.started = False      # an upload has begun (the 10-minute rule no longer applies)
        self.busy = False         # an upload is running now
        self.finished = False     # the image was received (or failed for good): the URL is closed
        self.timer = None


class Uploads:
    """The cluster's upload endpoints, by path and by resource."""

    def __init__(self, cluster):
        self.cluster = cluster
        self._by_path: dict[str, Endpoint] = {}
        self._by_key: dict[tuple, Endpoint] = {}

    def open(self, kind_name, obj, sink) -> Endpoint:
        """The endpoint of this resource, made on first call (and its start deadline armed)."""
        meta = obj["metadata"]
        key = (kind_name, meta.get("namespace") or "", meta["name"])
        endpoint = self._by_key.get(key)
        if endpoint is not None and endpoint.uid == meta["uid"]:
            return endpoint
        if endpoint is not None:
            self.close(endpoint)
        self._forget_finished()
        checksums = ((obj.get("spec", {}).get("dataSource") or {}).get("upload") or {}).get("checksum")
        endpoint = Endpoint(key, meta["uid"], checksums, sink)
        self._by_key[key] = endpoint
        self._by_path[endpoint.path] = endpoint
        endpoint.timer = asyncio.get_running_loop().create_task(self._deadline(endpoint))
        return endpoint

    def close(self, endpoint: Endpoint):
        """No more uploads to this URL. The endpoint stays known by resource, so the resource is not
        offered a fresh URL; a new resource of the same name (another uid) gets a new one."""
        endpoint.finished = True
        if endpoint.timer and endpoint.timer is not asyncio.current_task():
            endpoint.timer.cancel()
        self._by_path.pop(endpoint.path, None)

    def _forget_finished(self):
        for key, endpoint in list(self._by_key.items()):
            if endpoint.finished and self.cluster.store.get(kinds.get(key[0]), key[1] or None, key[2]) is None:
                del self._by_key[key]

    def urls(self, endpoint: Endpoint) -> dict:
        # On a real cluster `external` is the Ingress URL and `inCluster` the Service's ClusterIP;
        # here both reach the simulator's loopback port.
        url = f"{self.cluster.url}{endpoint.path}"
        return {"external": url, "inCluster": url}

    async def _deadline(self, endpoint: Endpoint):
        await self.cluster.clock.sleep(START_DEADLINE_SECONDS)
        if not endpoint.started and not endpoint.finished:
            self.close(endpoint)
            await endpoint.sink.upload_timed_out(endpoint)

    # ---- HTTP ---------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        endpoint = self._by_path.get(request.path)
        if endpoint is None or request.method not in ("GET", "PUT", "POST"):
            return web.Response(status=404, text="404 page not found\n")
        if request.method == "GET":
            return web.Response(status=200)
        if endpoint.busy:
            return web.Response(status=503, text="an upload is already in progress\n")
        endpoint.busy = True
        endpoint.started = True
        try:
            return await self._receive(request, endpoint)
        finally:
            endpoint.busy = False

    async def _receive(self, request, endpoint):
        sniffer = ImageSniffer()
        hashers = {a: _HASHES[a]() for a in endpoint.checksums}
        total = request.content_length
        meter = Meter(total)
        await endpoint.sink.upload_started(endpoint, total)
        try:
            async for chunk in request.content.iter_chunked(CHUNK):
                sniffer.feed(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
                await endpoint.sink.upload_progress(endpoint, meter.reading(sniffer.stored_bytes))
        except ValueError as exc:
            return await self._fail(endpoint, f"the uploaded data is not a valid image: {exc}")
        except (ConnectionError, asyncio.CancelledError, web.HTTPException, OSError) as exc:
            log.info("upload to %s/%s interrupted: %s", endpoint.key[1], endpoint.key[2], type(exc).__name__)
            await endpoint.sink.upload_interrupted(endpoint, sniffer.stored_bytes, total)
            raise
        if total is not None and sniffer.stored_bytes < total:
            await endpoint.sink.upload_interrupted(endpoint, sniffer.stored_bytes, total)
            return web.Response(status=500, text="the upload was interrupted\n")
        if sniffer.stored_bytes == 0:
            return await self._fail(endpoint, "the uploaded file is empty")
        try:
            info = sniffer.finish()
        except ValueError as exc:
            return await self._fail(endpoint, f"the uploaded data is not a valid image: {exc}")
        for algo, expected in endpoint.checksums.items():
            actual = hashers[algo].hexdigest()
            if actual != expected:
                return await self._fail(endpoint, f"{algo} checksum mismatch: expected {expected}, got {actual}")
        self.close(endpoint)
        await endpoint.sink.upload_finished(endpoint, info, sniffer.stored_bytes)
        return web.Response(status=200)

    async def _fail(self, endpoint, message):
        self.close(endpoint)
        await endpoint.sink.upload_failed(endpoint, message)
        return web.Response(status=500, text=message + "\n")


def uploads_of(cluster) -> Uploads:
    uploads = getattr(cluster, "uploads", None)
    if uploads is None:
        uploads = cluster.uploads = Uploads(cluster)
    return uploads


def routes(cluster) -> list[web.RouteDef]:
    async def handle(request):
        return await uploads_of(cluster).handle(request)
    return [web.route("*", "/upload/{token}", handle)]
