"""Live updates of the System pages over a WebSocket, pushed as htmx out-of-band swaps, as the project pages get
theirs (virtualization/live.py).

    /ws/system/live/<slug>/          a list page's live part (its template's `live` partial), for the page's query
    /ws/system/live/<slug>/<name>/   a detail page's status block (a node's VMs and their evacuations)

A socket is authorized like every socket of the console (the Origin by portal.origin before any consumer runs),
then by the session and the page's own System gate, asked of the API server as the user (system/sockets.py; a
project user gets 4404, as the page answers 404). It watches, cluster-wide and as the user, the page's kind and the
kinds its page shows (`SystemResource.live_watch`) that the user may list and watch; on any change it renders the
fragment again with the page's own context function, as the user.
While the socket cannot connect, the page polls the same fragment instead (static/js/live_fallback.js).
"""
import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404, HttpRequest
from django.http.request import QueryDict
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from portal.auth.identity import identity_of
from portal.kube import KubeError, streams
from projects.access import can
from virtualization.consoles.sockets import Refused
from virtualization.generic.detail import STATUS_BLOCK

from . import kinds, registry  # noqa: F401 (kinds registers the System pages)
from .generic import detail_context, get_object, list_context
from .sockets import authorize

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.25  # a drain moves several VMs at once: one render for a burst of changes
RETRY_SECONDS = 2.0


def csrf_token_of(scope):
    """The CSRF token for the forms of a pushed fragment (a migration's Cancel), masked from the page's own CSRF
    cookie as Django masks it for a page; "" without one."""
    secret = (scope.get("cookies") or {}).get(settings.CSRF_COOKIE_NAME)
    if not secret:
        return ""
    request = HttpRequest()
    request.META["CSRF_COOKIE"] = secret
    return get_token(request)


def watchable(user, resource):
    """The kinds whose changes show on the page and that the user may list and watch cluster-wide."""
    return [kind for kind in (resource.kind, *resource.live_watch)
            if can(user, "list", kind) and can(user, "watch", kind)]


class SystemLiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.resource = next((r for r in registry.SYSTEM.values() if r.slug == kwargs["slug"]), None)
        self.name = kwargs.get("name")
        try:
            self.user = await authorize(self.scope, self.resource)
            if self.name and self.resource.kind.namespaced:
                raise Refused(404, "No such page.")  # the generic detail pages are the cluster-scoped kinds'
            watched = await sync_to_async(watchable)(self.user, self.resource)
        except Refused as refused:
            await self.close(code=refused.close_code)
            return
        except KubeError:
            await self.close(code=Refused(503, "").close_code)
            return
        if self.resource.kind not in watched:
            await self.close(code=4403)
            return
        self.query = QueryDict(self.scope.get("query_string", b""))
        self.csrf_token = csrf_token_of(self.scope)
        await self.accept()
        self.dirty = asyncio.Event()
        self.tasks = [asyncio.create_task(self._push())]
        for kind in watched:
            own = kind == self.resource.kind and self.name
            self.tasks.append(asyncio.create_task(self._watch(kind, f"metadata.name={self.name}" if own else None)))

    async def disconnect(self, code):
        for task in getattr(self, "tasks", []):
            task.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        pass  # the page sends nothing that matters

    async def _watch(self, kind, field_selector):
        while True:
            try:
                async for event_type, _obj in streams.watch(identity_of(self.user), kind,
                                                            field_selector=field_selector):
                    if event_type != "BOOKMARK":
                        self.dirty.set()
            except KubeError as exc:
                log.info("system live watch of %s for %s ended: %s", kind.plural, self.user.get_username(),
                         exc.message)
            except asyncio.CancelledError:
                raise
            await asyncio.sleep(RETRY_SECONDS)

    async def _push(self):
        while True:
            await self.dirty.wait()
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self.dirty.clear()
            try:
                html = await sync_to_async(self._render)()
            except KubeError as exc:
                log.info("system live render for %s failed: %s", self.user.get_username(), exc.message)
                continue
            await self.send(text_data=html)

    def _render(self):
        if not self.name:
            context = list_context(self.user, self.resource, self.query)
            return render_to_string(self.resource.list_template + "#live",
                                    {"resource": self.resource, "oob": True, "csrf_token": self.csrf_token, **context})
        try:
            obj = get_object(self.user, self.resource, self.name)
        except Http404:
            return render_to_string("htmx/gone.html", {"resource": self.resource, "name": self.name})
        context = detail_context(self.user, self.resource, obj)
        return render_to_string(STATUS_BLOCK, {**context, "oob": True, "csrf_token": self.csrf_token})
