"""Live updates of list and detail pages over a WebSocket, pushed as htmx out-of-band swaps.

The consumer runs as the logged-in user and is authorized like every socket of the console
(consoles.sockets: session, then the project asked of the API server as the user; the Origin is checked
by portal.origin before any consumer runs); then it asks for the right to watch the kind.
"""
import asyncio
import logging

from asgiref.sync import sync_to_async
from django.template.loader import render_to_string

from portal.auth.identity import identity_of
from portal.kube import KubeError, streams
from projects.access import can

from .consoles.sockets import ProjectSocket

from .generic import tables
from .generic.detail import STATUS_BLOCK, detail_context
from .generic.list import ListQuery, ResourceTable
from .registry import REGISTRY

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.15
RETRY_SECONDS = 2.0


class LiveConsumer(ProjectSocket):
    """Pushes re-rendered fragments (htmx out-of-band swaps) when a watched object changes.

    /ws/projects/<project>/live/<slug>/          the list page's table body
    /ws/projects/<project>/live/<slug>/<name>/   a detail page's status block
    """

    async def connect(self):
        self.project = await self.authorize()
        if self.project is None:
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.resource = REGISTRY.get(kwargs["slug"])
        self.name = kwargs.get("name")
        if self.resource is None:
            await self.close(code=4404)
            return
        allowed = await sync_to_async(can)(self.user, "watch", self.resource.kind, self.project.name)
        if not allowed:
            await self.close(code=4403)
            return
        if not self.name:  # the list page's view: the pushed table body keeps its filter, order and page
            self.table_view = await sync_to_async(ResourceTable)(self.user, self.project, self.resource,
                                                                 ListQuery.from_scope(self.scope))
        await self.accept()
        self.rows = {}
        self.table = None
        self.current = None
        self.dirty = asyncio.Event()
        self.tasks = [asyncio.create_task(self._watch()), asyncio.create_task(self._push())]
        if self.name:
            # Objects about this one whose changes show on its page (a VM's operations and their progress).
            for relation in self.resource.live_related:
                self.tasks.append(asyncio.create_task(self._watch_related(relation.kind, relation.refers)))

    async def disconnect(self, code):
        for task in getattr(self, "tasks", []):
            task.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        pass  # the page sends nothing that matters; htmx may send keepalives

    async def _watch(self):
        field_selector = f"metadata.name={self.name}" if self.name else None
        while True:
            self.rows = {}
            self.synced = False
            try:
                async for event_type, obj in streams.watch(identity_of(self.user), self.resource.kind,
                                                           self.project.name, table=not self.name,
                                                           field_selector=field_selector,
                                                           label_selector=None if self.name
                                                           else self.table_view.query.label or None):
                    self._apply(event_type, obj)
            except KubeError as exc:
                log.info("live watch for %s ended: %s", self.user.get_username(), exc.message)
            except asyncio.CancelledError:
                raise
            await asyncio.sleep(RETRY_SECONDS)

    async def _watch_related(self, kind, refers):
        """Re-render the page's status when an object that `refers(obj, name)` to it changes."""
        if not await sync_to_async(can)(self.user, "watch", kind, self.project.name):
            return
        while True:
            try:
                async for event_type, obj in streams.watch(identity_of(self.user), kind, self.project.name):
                    if event_type != "BOOKMARK" and self.current is not None and refers(obj, self.name):
                        self.dirty.set()
            except KubeError as exc:
                log.info("live related watch for %s ended: %s", self.user.get_username(), exc.message)
            except asyncio.CancelledError:
                raise
            await asyncio.sleep(RETRY_SECONDS)

    def _apply(self, event_type, obj):
        if event_type == "BOOKMARK":
            # A watch of nothing sends no event: the page may still show what was deleted before it opened.
            if not self.synced:
                self.synced = True
                self.dirty.set()
            return
        self.synced = True
        if self.name:
            self.current = obj if event_type != "DELETED" else None
            self.dirty.set()
            return
        # Watch with as=Table: each event carries a one-row Table.
        self.table = {"columnDefinitions": obj.get("columnDefinitions") or (self.table or {}).get("columnDefinitions", [])}
        for row in tables.rows_of({**obj, "rows": obj.get("rows", [])}, self.resource, wide=True):
            if event_type == "DELETED":
                self.rows.pop(row.name, None)
            else:
                self.rows[row.name] = row
        self.dirty.set()

    async def _push(self):
        while True:
            await self.dirty.wait()
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self.dirty.clear()
            html = await sync_to_async(self._render)()
            if html:
                await self.send(text_data=html)

    def _render(self):
        if self.name:
            return self._render_detail()
        return self._render_rows()

    def _render_rows(self):
        if not (self.table or {}).get("columnDefinitions"):
            # No event brought the Table's columns (a watch of nothing): one read of the page's Table gives them.
            self.table = self.table_view.fetch().table
        return self.table_view.render_rows(self.table, list(self.rows.values()))

    def _render_detail(self):
        if self.current is None:
            return render_to_string("htmx/gone.html", {"resource": self.resource, "name": self.name})
        context = detail_context(self.user, self.project, self.resource, self.current)
        context["oob"] = True
        return render_to_string(STATUS_BLOCK, context)
