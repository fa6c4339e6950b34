"""The data exporter of a DataExport (storage-volume-data-manager's data-exporter), on the simulator's own port:
the mirror image of dvpsim.upload.

    GET|HEAD /dvpsim/dataexport/<namespace>/<name>/api/v1/block          a Block volume's raw bytes
    GET|HEAD /dvpsim/dataexport/<namespace>/<name>/api/v1/files/<path>   a Filesystem volume (a path ending in "/"
                                                                          is a directory listed as JSON)

As `d8 download` does, the client authenticates with its kube credentials (a bearer token, or impersonation by an
identity allowed to impersonate); whoever may `get` the DataExport may read the data (401 without a valid token,
403 otherwise). Only a Ready export serves; each GET sets status.accessTimestamp, which restarts its TTL.

dvpsim holds no volume data: neither the importer nor the upload endpoint keeps an image's bytes (they are only
measured), so every volume reads as zeros, streamed in chunks, as long as the disk's capacity (the snapshot's size,
the claim's capacity). A Filesystem volume is an empty file system. A single `Range: bytes=a-b` is honoured (206),
as the real exporter's http.ServeContent does.
"""

import json
import logging
import re

from aiohttp import web

from dvpsim import kinds
from dvpsim.auth import authenticate
from dvpsim.controllers.dataexport import is_active, target_size
from dvpsim.errors import ApiError, Forbidden, NotFound
from dvpsim.rbac import forbidden_message

log = logging.getLogger("dvpsim.dataexport")

CHUNK = 1024 * 1024
_ZEROS = bytes(CHUNK)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _status(code, reason, message):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return web.Response(status=code, body=json.dumps(body).encode(), content_type="application/json")


def _error(err: ApiError):
    return web.Response(status=err.code, body=json.dumps(err.status()).encode(), content_type="application/json")


def _touch(cluster, export):
    """status.accessTimestamp := now (as the exporter reports each access)."""
    kind = kinds.get("DataExport")
    fresh = cluster.store.get(kind, export["metadata"]["namespace"], export["metadata"]["name"])
    if fresh is None or fresh["metadata"]["uid"] != export["metadata"]["uid"]:
        return
    fresh.setdefault("status", {})["accessTimestamp"] = cluster.clock.timestamp()
    fresh["metadata"].pop("resourceVersion", None)
    try:
        cluster.update_status(kind, fresh)
    except ApiError as exc:
        log.info("DataExport %s/%s: accessTimestamp not written: %s", fresh["metadata"]["namespace"],
                 fresh["metadata"]["name"], exc.message)


def routes(cluster) -> list[web.RouteDef]:
    kind = kinds.get("DataExport")

    def authorize(request, namespace, name):
        user = authenticate(cluster, request)
        allowed, _ = cluster.rbac.authorize(user, verb="get", group=kind.group, resource=kind.plural,
                                            namespace=namespace, name=name)
        if not allowed:
            raise Forbidden(forbidden_message(user, "get", kind.group, kind.plural, None, namespace, name),
                            details={"name": name, "group": kind.group, "kind": kind.plural})

    def ready_export(request):
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        authorize(request, namespace, name)
        export = cluster.store.get(kind, namespace, name)
        if export is None:
            raise NotFound(f'dataexports.{kind.group} "{name}" not found')
        return export

    def readable(request, mode, elsewhere):
        """(the export a GET or HEAD may read in `mode`, None), or (None, the error response)."""
        if request.method not in ("GET", "HEAD"):
            return None, _status(405, "MethodNotAllowed", f"{request.method} is not supported by the exporter")
        try:
            export = ready_export(request)
        except ApiError as exc:
            return None, _error(exc)
        if not is_active(export):
            return None, _status(503, "ServiceUnavailable",
                                 "the export is not ready (see its Ready and Expired conditions)")
        if (export.get("status") or {}).get("volumeMode") != mode:
            return None, _status(400, "BadRequest", elsewhere)
        return export, None

    async def block(request):
        export, refusal = readable(request, "Block", "the volume is in Filesystem mode: read it under /api/v1/files/")
        if refusal is not None:
            return refusal
        size = target_size(cluster, export)
        start, end = 0, size - 1
        code = 200
        header = request.headers.get("Range")
        if header:
            m = _RANGE.match(header.strip())
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:  # the last N bytes
                    start = max(size - int(m.group(2)), 0)
                if start >= size or start > end:
                    return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
                code = 206
        length = max(end - start + 1, 0)
        response = web.StreamResponse(status=code, headers={
            "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"})
        if code == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.content_length = length
        if request.method == "GET":
            _touch(cluster, export)
        await response.prepare(request)
        if request.method == "GET":
            left = length
            while left > 0:
                n = min(left, CHUNK)
                await response.write(_ZEROS[:n] if n < CHUNK else _ZEROS)
                left -= n
            _touch(cluster, export)  # the end of a long download is an access too
        await response.write_eof()
        return response

    async def files(request):
        export, refusal = readable(request, "Filesystem", "the volume is in Block mode: read it at /api/v1/block")
        if refusal is not None:
            return refusal
        path = "/" + request.match_info.get("path", "")
        if request.method == "GET":
            _touch(cluster, export)
        if path == "/":  # dvpsim keeps no files: the file system is empty
            body = json.dumps({"apiVersion": "v1", "items": []}).encode()
            return web.Response(body=body if request.method == "GET" else None, content_type="application/json",
                                headers={"Content-Length": str(len(body))} if request.method == "HEAD" else None)
        return _status(404, "NotFound", f"{path}: no such file or directory")

    base = "/dvpsim/dataexport/{namespace}/{name}/api/v1"
    return [web.route("*", base + "/block", block), web.route("*", base + "/files/{path:.*}", files)]

