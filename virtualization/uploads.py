"""Upload from computer: the browser's file streamed on to the object's upload URL, chunk by chunk.

Daphne reads a whole HTTP request body (into memory or a temporary file) before the application
sees it, so the browser sends the file over a WebSocket instead, whose frames arrive as they are
sent: `/ws/projects/<p>/<slug>/<name>/upload/`. Origin and session are checked before the socket
is accepted (portal.origin, AuthMiddlewareStack); the object is read *as the user*, who must be
allowed to change it: the upload URL is a capability (no authentication at the endpoint,
dvp-api-notes §6), so it is used only for someone who may read and update the object, and it is
never logged or sent to the browser.

The protocol, text frames as JSON:
  console -> {"ready": true} once the object may take the upload (else the error below)
  browser -> {"size": N}; then binary chunks; then {"done": true}
  console -> {"ack": bytes passed upstream} after each chunk; at the end {"ok": true} or
             {"error": message, "status": http-like code}, then it closes.
The browser keeps at most WINDOW bytes unacknowledged and the console holds at most QUEUED
chunks, so memory stays bounded whatever the file size; closing the socket cancels the upload.
"""
import asyncio
import json
import logging

import aiohttp
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404

from portal.kube import Forbidden, KubeError, NotFound
from projects.access import can, get_project, kube_for

from .registry import REGISTRY

log = logging.getLogger(__name__)

UPLOADABLE_PHASES = ("WaitForUserUpload",)
QUEUED = 8  # chunks waiting for the upstream request


class UploadRefused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class UploadConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)  # refused before accepting: no session
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.chunks = asyncio.Queue(QUEUED)
        self.task = None
        await self.accept()
        try:
            self.upload_url = await sync_to_async(_upload_url_for)(user, **kwargs)
        except UploadRefused as refused:
            return await self._finish({"error": refused.message, "status": refused.status})
        await self.send(text_data=json.dumps({"ready": True}))

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            if self.task is None:
                return await self._finish({"error": "Send the size first.", "status": 400})
            await self.chunks.put(bytes_data)
            return
        message = json.loads(text_data or "{}")
        if "size" in message and self.task is None:
            self.task = asyncio.create_task(self._upload(int(message["size"])))
        elif message.get("done"):
            await self.chunks.put(None)

    async def disconnect(self, code):
        if self.task is not None and not self.task.done():
            self.task.cancel()  # the browser went away or cancelled: abort the upstream request

    async def _upload(self, size):
        async def body():
            sent = 0
            while (chunk := await self.chunks.get()) is not None:
                yield chunk
                sent += len(chunk)
                await self.send(text_data=json.dumps({"ack": sent}))

        try:
            await put_upstream(self.upload_url, body(), size)
        except UploadRefused as refused:
            return await self._finish({"error": refused.message, "status": refused.status})
        await self._finish({"ok": True})

    async def _finish(self, answer):
        await self.send(text_data=json.dumps(answer))
        await self.close(code=1000 if answer.get("ok") else 4000 + answer.get("status", 500) % 1000)


def _upload_url_for(user, project, slug, name):
    """The upload URL of the object, read as the user, once they may change it and it awaits an upload."""
    resource = REGISTRY.get(slug)
    if resource is None:
        raise UploadRefused(404, "Nothing to upload to here.")
    try:
        project = get_project(user, project)
    except Http404:
        raise UploadRefused(404, "No such project.")
    namespace = project.name if resource.kind.namespaced else None
    try:
        obj = kube_for(user).get(resource.kind, name, namespace)
    except NotFound:
        raise UploadRefused(404, f"The {resource.noun} {name} does not exist (any more).")
    except Forbidden as exc:
        raise UploadRefused(403, exc.message)
    except KubeError as exc:
        raise UploadRefused(502, exc.message)
    if not can(user, "update", resource.kind, namespace, name):
        raise UploadRefused(403, f"You may not change this {resource.noun} "
                                 f"(uploading needs update on {resource.kind.plural}).")
    if ((obj.get("spec") or {}).get("dataSource") or {}).get("type") != "Upload":
        raise UploadRefused(409, f"This {resource.noun} is not made by an upload.")
    status = obj.get("status") or {}
    urls = status.get("imageUploadURLs") or {}
    url = urls.get(settings.DVP_UPLOAD_URL) or urls.get("external") or urls.get("inCluster")
    if status.get("phase") not in UPLOADABLE_PHASES or not url:
        raise UploadRefused(409, f"The {resource.noun} does not wait for an upload now "
                                 f"(phase {status.get('phase') or 'Pending'}).")
    return url


async def put_upstream(upload_url, chunks, size):
    """PUT the chunks (an async iterator) to the upload URL as one streamed request body."""
    headers = {"Content-Type": "application/octet-stream"}
    if size:
        headers["Content-Length"] = str(size)  # the uploader shows progress from it
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.put(upload_url, data=chunks, headers=headers) as response:
                text = (await response.text())[:500]
                status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("upload: the upload endpoint could not be reached: %s", type(exc).__name__)
        raise UploadRefused(502, f"The cluster's upload endpoint could not be reached ({type(exc).__name__}).")
    if status == 200:
        return
    if status == 503:
        raise UploadRefused(409, "Another upload to this image is already running.")
    if status == 404:
        raise UploadRefused(409, "The upload URL is closed: the image was uploaded already, failed or timed out.")
    raise UploadRefused(502, f"The upload failed: {text.strip() or f'HTTP {status}'}")
