"""Render the API server's Table responses (kubectl's columns) for the templates."""
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from portal.kube import quantity

NAME_SLOT = "row-name-slot"  # reversed once per page, then filled per row


@dataclass
class Column:
    name: str
    type: str
    format: str
    priority: int
    description: str
    label: str = ""  # the header shown, when the kind names the column otherwise (registry.Column.label)

    @property
    def title(self):
        return self.label or self.name

    @property
    def key(self):
        return self.name.lower().replace(" ", "-")


@dataclass
class Row:
    name: str
    cells: dict         # column name -> display text
    values: dict        # column name -> the Table's cell as the API sent it
    object: dict
    phase: str
    progress: str


def humanize_age(timestamp, now=None):
    """kubectl's age format: 45s, 12m, 5h40m, 3d, 2y."""
    if not timestamp:
        return ""
    try:
        then = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return str(timestamp)
    seconds = int(((now or datetime.now(timezone.utc)) - then).total_seconds())
    if seconds < 0:
        seconds = 0
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h{minutes % 60}m" if hours < 8 and minutes % 60 else f"{hours}h"
    days = hours // 24
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y"


def _display(value, column):
    if value is None:
        return ""
    if column.type == "date" or column.format == "date":
        return humanize_age(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def columns_of(table, wide=False):
    columns = [Column(c.get("name", ""), c.get("type", "string"), c.get("format", ""), int(c.get("priority", 0)),
                      c.get("description", "")) for c in table.get("columnDefinitions", [])]
    return [c for c in columns if wide or c.priority == 0]


def rows_of(table, resource, wide=False):
    all_columns = columns_of(table, wide=True)
    rows = []
    for raw in table.get("rows", []):
        cells, values = {}, {}
        for column, value in zip(all_columns, raw.get("cells", [])):
            if wide or column.priority == 0:
                cells[column.name] = _display(value, column)
                values[column.name] = value
        obj = raw.get("object") or {}
        name = (obj.get("metadata") or {}).get("name") or cells.get("Name", "")
        status = obj.get("status") or {}
        rows.append(Row(name=name, cells=cells, values=values, object=obj,
                        phase=cells.get(resource.column_shown_as("phase")) or status.get("phase", ""),
                        progress=cells.get(resource.column_shown_as("progress")) or status.get("progress", "")))
    return rows


def sort_type(name, resource, columns):
    """How a column sorts: as the kind declares it, else by the Table's column type."""
    declared = resource.column(name)
    if declared and declared.sort:
        return declared.sort
    column = next((c for c in columns if c.name == name), None)
    if name == "Age" or (column and (column.type == "date" or column.format == "date")):
        return "date"
    if column and column.type in ("integer", "number"):
        return "number"
    return "text"


def sort_rows(rows, key, descending=False, resource=None, columns=()):
    """Rows ordered by a column's value (sizes as sizes, numbers as numbers, ages by time), kubectl-like.

    Rows without a value of that type (empty cells, "<none>") come last either way.
    """
    kind = "text" if key == "Name" or resource is None else sort_type(key, resource, columns)

    def value(row):
        if key == "Name":
            return row.name
        raw = row.values.get(key) if key in row.values else row.cells.get(key)
        if kind == "date":
            return str(raw or (row.object.get("metadata") or {}).get("creationTimestamp") or "") or None
        if kind == "quantity":
            return quantity.parse(raw)
        if kind == "number":
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
        return str(row.cells.get(key, ""))

    # Age sorts by timestamp: ascending age means newest first.
    reverse = (not descending) if kind == "date" else descending
    valued = [(value(row), row) for row in rows]
    present = sorted([pair for pair in valued if pair[0] not in (None, "")], key=lambda p: p[0], reverse=reverse)
    return [row for _, row in present] + [row for v, row in valued if v in (None, "")]


def filter_rows(rows, query):
    query = (query or "").strip().lower()
    if not query:
        return rows
    return [r for r in rows if query in r.name.lower() or any(query in str(v).lower() for v in r.cells.values())]


class CellRenderer:
    """The <td> cells of a list's rows, built here rather than in the template: a page renders hundreds of
    cells, and per-cell template tags and URL reversing cost ten times the API call."""

    def __init__(self, project, resource, columns, can_update):
        self.resource, self.columns = resource, columns
        self.phase_column, self.progress_column = resource.column_shown_as("phase"), resource.column_shown_as("progress")
        self.detail_url = reverse("virtualization:detail", args=[project, resource.slug, NAME_SLOT])
        edits = resource.inline_edits if can_update else {}
        back = reverse("virtualization:list", args=[project, resource.slug])
        self.edit_urls = {name: reverse(f"virtualization:{column.edit}", args=[project, NAME_SLOT]) + f"?next={back}"
                          for name, column in edits.items()}

    def decorate(self, row):
        name = quote(row.name)
        row.url = self.detail_url.replace(NAME_SLOT, name)
        row.cells_html = mark_safe("".join(format_html('<td data-column="{}">{}</td>', column.name,
                                                       self._cell(row, column, name)) for column in self.columns))

    def _cell(self, row, column, name):
        value = row.cells.get(column.name, "")
        if column.name == self.phase_column:
            phase = value or "Pending"
            return format_html('<span class="phase phase-{}" data-phase="{}">{}</span>', phase.lower(), phase, phase)
        if column.name in self.edit_urls:
            url = self.edit_urls[column.name].replace(NAME_SLOT, name)
            return format_html(
                '{} <a href="{}" class="inline-edit" hx-get="{}" hx-target="#inline-edit-body" '
                'data-open-dialog="resize-dialog" aria-label="Change {} of {}" title="Change {}">✎</a>',
                value, url, url, column.title, row.name, column.title.lower())
        if column.name == self.progress_column and value:
            return format_html('<span class="progress-cell"><progress value="{}" max="100" aria-label="Progress {}">'
                               '</progress> {}</span>', value.replace("%", ""), value, value)
        return conditional_escape(value)
