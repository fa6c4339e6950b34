"""Upload from computer: the browser's file streamed on to the object's upload URL, chunk by chunk.

Daphne reads a whole HTTP request body (into memory or a temporary file) before the application
sees it, so the browser sends the file over a WebSocket instead, whose frames arrive as they are
sent: `/ws/projects/<p>/<slug>/<name>/upload/`. Origin, session and project are checked before the
socket is accepted (consoles.sockets); the object is read *as the user*, who must be
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

from asgiref.sync import sync_to_async
from django.conf import settings

from portal import audit
from portal.auth.identity import identity_of
from portal.kube import Conflict, Forbidden, KubeError, NotFound, upload
from projects.access import can, kube_for

from .consoles.sockets import ProjectSocket, Refused
from .registry import REGISTRY

log = logging.getLogger(__name__)

UPLOADABLE_PHASES = ("WaitForUserUpload",)
QUEUED = 8  # chunks waiting for the upstream request


class UploadConsumer(ProjectSocket):
    async def connect(self):
        self.chunks = asyncio.Queue(QUEUED)
        self.task = None
        project = await self.authorize()
        if project is None:
            return
        await self.accept()
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            self.upload_url = await sync_to_async(_upload_url_for)(self.user, project, kwargs["slug"], kwargs["name"])
        except Refused as refused:
            return await self._finish({"error": refused.message, "status": refused.status})
        self.identity = await sync_to_async(identity_of)(self.user)
        self.target = {"kind": REGISTRY[kwargs["slug"]].kind.kind, "project": project.name, "name": kwargs["name"]}
        await self.send(text_data=json.dumps({"ready": True}))

    async def refuse(self, refused):
        if refused.status == 401:
            return await super().refuse(refused)  # no session: refused before accepting
        await self.accept()  # the page shows why
        await self._finish({"error": refused.message, "status": refused.status})

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
            await upload.put(self.upload_url, body(), size)
        except KubeError as exc:
            self._audit("failure", size, status=exc.status, reason=exc.message)
            return await self._finish({"error": exc.message, "status": 409 if isinstance(exc, Conflict) else 502})
        except asyncio.CancelledError:
            self._audit("failure", size, reason="cancelled: the browser closed the upload")
            raise
        self._audit("success", size)
        await self._finish({"ok": True})

    def _audit(self, result, size, **details):
        audit.record("upload", user=self.identity.username, groups=self.identity.groups, result=result, bytes=size,
                     **self.target, **details)

    async def _finish(self, answer):
        await self.send(text_data=json.dumps(answer))
        await self.close(code=1000 if answer.get("ok") else 4000 + answer.get("status", 500) % 1000)


def _upload_url_for(user, project, slug, name):
    """The upload URL of the object, read as the user, once they may change it and it awaits an upload."""
    resource = REGISTRY.get(slug)
    if resource is None:
        raise Refused(404, "Nothing to upload to here.")
    namespace = project.name if resource.kind.namespaced else None
    try:
        obj = kube_for(user).get(resource.kind, name, namespace)
    except NotFound:
        raise Refused(404, f"The {resource.noun} {name} does not exist (any more).")
    except Forbidden as exc:
        raise Refused(403, exc.message)
    except KubeError as exc:
        raise Refused(502, exc.message)
    if not can(user, "update", resource.kind, namespace, name):
        raise Refused(403, f"You may not change this {resource.noun} "
                           f"(uploading needs update on {resource.kind.plural}).")
    if ((obj.get("spec") or {}).get("dataSource") or {}).get("type") != "Upload":
        raise Refused(409, f"This {resource.noun} is not made by an upload.")
    status = obj.get("status") or {}
    urls = status.get("imageUploadURLs") or {}
    url = urls.get(settings.DVP_UPLOAD_URL) or urls.get("external") or urls.get("inCluster")
    if status.get("phase") not in UPLOADABLE_PHASES or not url:
        raise Refused(409, f"The {resource.noun} does not wait for an upload now "
                           f"(phase {status.get('phase') or 'Pending'}).")
    return url
