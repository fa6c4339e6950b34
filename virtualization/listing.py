"""One page of a list: label selector (sent to the API), phase filter, limit/continue pagination.

The live table of the same page keeps these: `live_params` go to the LiveConsumer, which applies
`filter_rows` and the page's name bounds to what it watches.
"""
from dataclasses import dataclass, field

from portal.kube import KubeError
from projects.access import kube_for

from . import tables

PAGE_SIZE = 500  # kubectl's chunk size; smaller pages on demand
PAGE_SIZES = (20, 50, 100, 500)
MAX_PAGE_SIZE = 500
EXPIRED = 410  # a continue token the API no longer accepts


@dataclass
class Page:
    label: str = ""
    phase: str = ""
    limit: int = PAGE_SIZE
    token: str = ""
    table: dict = field(default_factory=dict)
    next_token: str = ""
    label_error: str = ""
    notice: str = ""

    @classmethod
    def read(cls, request, resource, namespace):
        page = cls(label=request.GET.get("label", "").strip(), phase=request.GET.get("phase", "").strip(),
                   limit=_page_size(request.GET.get("limit")), token=request.GET.get("continue", ""))
        kube = kube_for(request.user)
        try:
            page.table = kube.table(resource.kind, namespace, label_selector=page.label or None, limit=page.limit,
                                    continue_token=page.token or None)
        except KubeError as exc:
            if exc.status == EXPIRED and page.token:
                page.token, page.notice = "", "The list changed too much to continue; back on the first page."
                page.table = kube.table(resource.kind, namespace, label_selector=page.label or None,
                                        limit=page.limit)
            elif exc.status == 400 and page.label:
                page.label_error = f"The API does not accept this label selector: {exc.message}"
                page.table = {"columnDefinitions": kube.table(resource.kind, namespace, limit=1)
                              .get("columnDefinitions", []), "rows": []}
            else:
                raise
        page.next_token = (page.table.get("metadata") or {}).get("continue", "")
        return page

    @property
    def paginated(self):
        return bool(self.token or self.next_token)

    def filter_rows(self, rows):
        return filter_by_phase(rows, self.phase)

    def params(self):
        """The query parameters that describe this view (kept by sort links and the live table)."""
        params = {"label": self.label, "phase": self.phase}
        if self.limit != PAGE_SIZE:
            params["limit"] = str(self.limit)
        return params

    def live_params(self, rows):
        """The page's name range, so live updates stay on this page (the API pages in name order)."""
        params = self.params()
        names = sorted(r.name for r in rows)
        if self.paginated and names:
            if self.token:
                params["from"] = names[0]
            if self.next_token:
                params["to"] = names[-1]
        return params


def filter_by_phase(rows, phase):
    return [r for r in rows if (r.phase or "Pending") == phase] if phase else rows


def within(rows, first="", last=""):
    return [r for r in rows if (not first or r.name >= first) and (not last or r.name <= last)]


def phases_of(rows, chosen=""):
    return sorted({r.phase or "Pending" for r in rows} | ({chosen} if chosen else set()))


def decorate(user, project, resource, rows, columns, can_update):
    """Each row's link and cells, and the extras a kind adds (the VM list's operations menu:
    resource.extra["row_context"])."""
    cells = tables.CellRenderer(project, resource, columns, can_update)
    for row in rows:
        cells.decorate(row)
    row_context = resource.extra.get("row_context")
    if row_context:
        row_context(user, project, rows)
    return rows


def _page_size(value):
    try:
        return max(1, min(int(value), MAX_PAGE_SIZE))
    except (TypeError, ValueError):
        return PAGE_SIZE

