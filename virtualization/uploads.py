"""Upload from computer: the browser's file streamed on to the object's upload URL, chunk by chunk.

A Django view reads a request body whole, so `PUT /projects/<p>/<slug>/<name>/upload/` is served
by this raw ASGI application, routed in portal/asgi.py before Django. It checks what Django's
middleware would (the session's user, the CSRF token header against the csrftoken cookie, the
Origin), reads the object *as the user* and requires the right to change it: the upload URL is a
capability (no authentication at the endpoint, dvp-api-notes §6), so it is used only for someone
who may read and update the object, and it is never logged. Each `http.request` chunk is passed
upstream with aiohttp as it arrives; a browser that goes away aborts the upstream request.
"""
import json
import logging
import re
from http.cookies import SimpleCookie

import aiohttp
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404
from django.middleware.csrf import InvalidTokenFormat, _check_token_format, _does_token_match

from portal.kube import Forbidden, KubeError, NotFound
from portal.origin import same_origin
from projects.access import can, get_project, kube_for

from . import urls  # noqa: F401  (registers the kinds)
from .registry import REGISTRY

log = logging.getLogger(__name__)

PATH = re.compile(r"^/projects/(?P<project>[a-z0-9-]{1,63})/(?P<slug>[a-z-]+)/(?P<name>[a-z0-9.-]{1,253})/upload/$")
UPLOADABLE_PHASES = ("WaitForUserUpload",)


class UploadRefused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class _BrowserGone(Exception):
    pass


def matches(scope) -> bool:
    return scope["type"] == "http" and PATH.match(scope["path"]) is not None


async def application(scope, receive, send):
    """The ASGI app for upload paths (wrapped by Channels' AuthMiddlewareStack for scope["user"])."""
    try:
        if scope["method"] not in ("PUT", "POST"):
            raise UploadRefused(405, "Send the file with PUT or POST.")
        headers = _headers(scope)
        _check_origin(headers)
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            raise UploadRefused(401, "Your session has expired: log in again, then upload the file.")
        _check_csrf(headers)
        match = PATH.match(scope["path"])
        upload_url = await sync_to_async(_upload_url_for)(user, **match.groupdict())
        size = headers.get("content-length")
        await _stream(receive, upload_url, size)
    except UploadRefused as refused:
        await _answer(send, refused.status, {"error": refused.message})
        return
    except _BrowserGone:
        return
    await _answer(send, 200, {"ok": True})


def _headers(scope):
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _check_origin(headers):
    if not headers.get("origin"):
        raise UploadRefused(403, "The request has no Origin header.")
    if not same_origin(headers.get("origin"), headers.get("host", "")):
        raise UploadRefused(403, "The request comes from another site (Origin not allowed).")


def _check_csrf(headers):
    cookie = SimpleCookie()
    cookie.load(headers.get("cookie", ""))
    secret = cookie[settings.CSRF_COOKIE_NAME].value if settings.CSRF_COOKIE_NAME in cookie else ""
    token = headers.get(settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-").lower(), "")
    try:
        _check_token_format(secret)
        _check_token_format(token)
    except InvalidTokenFormat:
        raise UploadRefused(403, "CSRF check failed: reload the page and try again.")
    if not _does_token_match(token, secret):
        raise UploadRefused(403, "CSRF check failed: reload the page and try again.")


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


async def _stream(receive, upload_url, size):
    async def body():
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _BrowserGone()
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body"):
                return

    headers = {"Content-Type": "application/octet-stream"}
    if size:
        headers["Content-Length"] = size  # the uploader shows progress from it
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.put(upload_url, data=body(), headers=headers) as response:
                text = (await response.text())[:500]
                status = response.status
    except _BrowserGone:
        raise
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, _BrowserGone):
            raise cause
        log.warning("upload: the upload endpoint could not be reached: %s", type(exc).__name__)
        raise UploadRefused(502, f"The cluster's upload endpoint could not be reached ({type(exc).__name__}).")
    if status == 200:
        return
    if status == 503:
        raise UploadRefused(409, "Another upload to this image is already running.")
    if status == 404:
        raise UploadRefused(409, "The upload URL is closed: the image was uploaded already, failed or timed out.")
    raise UploadRefused(502, f"The upload failed: {text.strip() or f'HTTP {status}'}")


async def _answer(send, status, payload):
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
