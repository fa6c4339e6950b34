"""The list of any registered kind, one pipeline for the page, its htmx refresh and the live push.

`ListQuery` is what the user asked for (filter, labels, phase, order, page), read from the page's
query string or from the live socket's; `ResourceTable` turns the API's Table into the rows of
that view: the HTTP view fetches one page of it, the LiveConsumer feeds it watch events.
"""
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode

from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from portal.htmx import is_partial
from portal.kube import KubeError
from projects.access import can, get_project, kube_for

from .. import registry
from ..registry import Resource
from . import tables
from .detail import namespace_of

PAGE_SIZE = 500  # kubectl's chunk size; smaller pages on demand
PAGE_SIZES = (20, 50, 100, 500)
EXPIRED = 410  # a continue token the API no longer accepts


@dataclass
class ListQuery:
    q: str = ""
    wide: bool = False
    sort: str = "Name"
    descending: bool = False
    label: str = ""
    phase: str = ""
    limit: int = PAGE_SIZE
    token: str = ""
    first: str = ""   # a paginated page's name range, so live updates stay on that page
    last: str = ""

    @classmethod
    def from_get(cls, get):
        return cls(q=get.get("q", ""), wide=get.get("wide") == "1", sort=get.get("sort") or "Name",
                   descending=get.get("dir") == "desc", label=get.get("label", "").strip(),
                   phase=get.get("phase", "").strip(), limit=_page_size(get.get("limit")),
                   token=get.get("continue", ""), first=get.get("from", ""), last=get.get("to", ""))

    @classmethod
    def from_scope(cls, scope):
        """The query of a live socket (the page put its own query on the socket's URL)."""
        return cls.from_get({k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()})

    def view_params(self):
        """What describes this view apart from order and page (kept by sort links and the live table)."""
        params = {"q": self.q, "wide": "1" if self.wide else "", "label": self.label, "phase": self.phase}
        if self.limit != PAGE_SIZE:
            params["limit"] = str(self.limit)
        return params

    def order_params(self):
        return {"sort": self.sort, "dir": "desc" if self.descending else "asc"}

    def filter(self, rows):
        rows = tables.filter_rows(rows, self.q)
        if self.phase:
            rows = [r for r in rows if (r.phase or "Pending") == self.phase]
        return [r for r in rows if (not self.first or r.name >= self.first) and (not self.last or r.name <= self.last)]


@dataclass
class Page:
    """One page of the API's Table, and what the page says about it."""
    table: dict
    token: str = ""
    next_token: str = ""
    label_error: str = ""
    notice: str = ""

    @property
    def paginated(self):
        return bool(self.token or self.next_token)


class ResourceTable:
    def __init__(self, user, project, resource: Resource, query: ListQuery):
        self.user, self.project, self.resource, self.query = user, project, resource, query
        namespace = namespace_of(project, resource)
        self.can_update = can(user, "patch", resource.kind, namespace)
        self.can_delete = can(user, "delete", resource.kind, namespace)

    def fetch(self):
        """One page of the list as the user (label selector and continue token sent to the API)."""
        query, kube, namespace = self.query, kube_for(self.user), namespace_of(self.project, self.resource)
        page = Page(table={}, token=query.token)
        try:
            page.table = kube.table(self.resource.kind, namespace, label_selector=query.label or None,
                                    limit=query.limit, continue_token=query.token or None)
        except KubeError as exc:
            if exc.status == EXPIRED and query.token:
                page.token, page.notice = "", "The list changed too much to continue; back on the first page."
                page.table = kube.table(self.resource.kind, namespace, label_selector=query.label or None,
                                        limit=query.limit)
            elif exc.status == 400 and query.label:
                page.label_error = f"The API does not accept this label selector: {exc.message}"
                page.table = {"columnDefinitions": kube.table(self.resource.kind, namespace, limit=1)
                              .get("columnDefinitions", []), "rows": []}
            else:
                raise
        page.next_token = (page.table.get("metadata") or {}).get("continue", "")
        return page

    def columns(self, table):
        api_columns = [c for c in tables.columns_of(table, wide=self.query.wide) if c.name != "Name"]
        for column in api_columns:
            column.label = getattr(self.resource.column(column.name), "label", "")
        return api_columns + [
            tables.Column(extra.name, "string", "", 0, extra.description) for extra in self.resource.extra_columns]

    def rows(self, table, all_rows=None):
        """The rows of the view, filtered, ordered and ready to render (all_rows: rows already parsed)."""
        rows = all_rows if all_rows is not None else tables.rows_of(table, self.resource, wide=True)
        for extra in self.resource.extra_columns:  # before filtering and sorting: they apply to these cells too
            values = extra.fill(self.user, self.project.name, [row.object for row in rows])
            for row in rows:
                row.cells[extra.name] = row.values[extra.name] = values.get(row.name, "")
        rows = self.query.filter(rows)
        rows = tables.sort_rows(rows, self.query.sort, self.query.descending, self.resource,
                                tables.columns_of(table, wide=True))
        columns = self.columns(table)
        cells = tables.CellRenderer(self.project.name, self.resource, columns, self.can_update)
        for row in rows:
            cells.decorate(row)
        if self.resource.row_actions and self.resource.row_actions.decorate:
            self.resource.row_actions.decorate(self.user, self.project.name, rows)
        return rows

    def row_context(self, table, rows):
        return {"project": self.project, "resource": self.resource, "rows": rows, "columns": self.columns(table),
                "can_delete": self.can_delete, "can_update": self.can_update, "q": self.query.q, "query": self.query}

    def render_rows(self, table, all_rows):
        """The table body as the live socket pushes it (an htmx out-of-band swap)."""
        rows = self.rows(table, all_rows)
        return render_to_string("virtualization/list.html#rows", {**self.row_context(table, rows), "oob": True})

    def page_context(self):
        query, resource, namespace = self.query, self.resource, namespace_of(self.project, self.resource)
        page = self.fetch()
        all_rows = tables.rows_of(page.table, resource, wide=True)
        rows = self.rows(page.table, all_rows)
        view = query.view_params()
        live = dict(view)
        names = sorted(r.name for r in rows)
        if page.paginated and names:
            if page.token:
                live["from"] = names[0]
            if page.next_token:
                live["to"] = names[-1]
        return {
            **self.row_context(page.table, rows), "page": page, "query": query,
            "wide": query.wide, "sort": query.sort, "descending": query.descending, "label": query.label,
            "phase": query.phase, "limit": query.limit, "page_sizes": PAGE_SIZES,
            "phases": sorted({r.phase or "Pending" for r in all_rows} | ({query.phase} if query.phase else set())),
            "bulk_blocked": resource.bulk.blocked(self.user, self.project.name)
            if resource.bulk and resource.bulk.blocked else {},
            "next_query": _encode({**view, **query.order_params(), "continue": page.next_token})
            if page.next_token else "",
            "first_query": _encode({**view, **query.order_params()}) if page.token else "",
            "live_query": _encode({**live, **query.order_params()}),
            "sort_query": "".join(f"{k}={quote(v)}&" for k, v in {**view, "continue": page.token}.items() if v),
            "can_create": can(self.user, "create", resource.kind, namespace),
            "also_create": self.also_create(),
        }

    def also_create(self):
        offers = []
        for slug in self.resource.also_create:
            other = registry.get(slug)
            offers.append({"resource": other, "choices": other.create,
                           "allowed": can(self.user, "create", other.kind, namespace_of(self.project, other))})
        return offers


@require_GET
def list_view(request, project, resource: Resource):
    project = get_project(request.user, project)
    table = ResourceTable(request.user, project, resource, ListQuery.from_get(request.GET))
    partial = is_partial(request, target="live-table")
    return render(request, "virtualization/list.html" + ("#table" if partial else ""), table.page_context())


def _encode(params):
    return urlencode({k: v for k, v in params.items() if v})


def _page_size(value):
    try:
        return max(1, min(int(value), PAGE_SIZE))
    except (TypeError, ValueError):
        return PAGE_SIZE
