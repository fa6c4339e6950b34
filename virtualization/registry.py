"""One declaration per kind is its screen: list columns, detail tabs and their actions, create forms,
row and bulk actions, live relations and its place in the sidebar. The URL patterns and the sidebar
are generated from these declarations (`urlpatterns()`, `nav()`); the kinds are declared in
`virtualization/kinds/`, imported once by `VirtualizationConfig.ready()`.
"""
from dataclasses import dataclass
from typing import Callable

from django.urls import path

from portal.kube.kinds import Kind

# Tabs every detail page has; the generic detail view fills them.
OVERVIEW, YAML, EVENTS = "overview", "yaml", "events"


@dataclass(frozen=True)
class Route:
    """A page of a kind beyond list/detail/delete: `path` is relative to /projects/<project>/<slug>/."""
    path: str
    view: Callable
    name: str


@dataclass(frozen=True)
class CreateChoice:
    label: str       # as the user guide names it, e.g. "Load data from link (HTTP)"
    path: str        # under <slug>/_new/ ("" for the kind's only form)
    view: Callable
    name: str        # URL name inside the "virtualization" namespace


@dataclass(frozen=True)
class Action:
    """One mutation of a tab: a small POST-only view on its own path <slug>/<name>/<tab>/<action>/.

    `handle(request, project, obj)` returns a response (a redirect after success) or a TabState:
    the tab is then shown again with what the state keeps (the user's input, the errors).
    """
    name: str
    handle: Callable


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    # (user, project, obj, state) -> dict for the tab's template; state is a generic.detail.TabState.
    context: Callable | None = None
    template: str = ""  # default: virtualization/<slug>/tabs/<key>.html
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Column:
    """How the list treats one column of the API's Table (the columns themselves come from the API)."""
    name: str
    sort: str = ""             # "quantity", "number", "date" or "" (the Table's own type decides)
    show: str = ""             # "phase" (a badge), "progress" (a bar) or "" (text)
    edit: str = ""             # URL name of the dialog that changes it in place (the pencil)
    edit_title: str = ""       # that dialog's title
    label: str = ""            # the header the guide gives it, when not the API's column name


@dataclass(frozen=True)
class ExtraColumn:
    """A list column the API's Table lacks (the VMs behind a Service): `fill(user, project, objects)` returns
    {object name: text} for the objects of the page, read as the user."""
    name: str
    fill: Callable
    description: str = ""


@dataclass(frozen=True)
class RowActions:
    template: str                               # the menu of one row
    decorate: Callable | None = None            # (user, project, rows): what the menu needs on each row


@dataclass(frozen=True)
class BulkActions:
    actions: tuple[str, ...]
    url_name: str                               # the POST view that confirms and runs them
    blocked: Callable | None = None             # (user, project) -> {action: missing permission}


@dataclass(frozen=True)
class DeleteExtra:
    """What a kind's delete confirmation adds: `context(user, project, obj)` for the page, `template` shown inside
    its form, and `after(request, project, obj)`, run once the object is deleted (each outcome a message)."""
    context: Callable
    template: str
    after: Callable


@dataclass(frozen=True)
class LiveRelation:
    """Objects of another kind whose changes show on a detail page (a VM's operations)."""
    kind: Kind
    refers: Callable                            # (other object, this object's name) -> bool


@dataclass(frozen=True)
class Resource:
    slug: str                   # URL segment: /projects/<project>/<slug>/
    kind: Kind
    title: str                  # section title: "Disk Images"
    noun: str                   # "image": used in messages and buttons
    create_label: str = "Create"
    create: tuple[CreateChoice, ...] = ()
    create_menu: bool = False   # show the choices as a menu under create_label ("Create Image" →)
    detail_template: str = ""   # default: virtualization/<slug>/detail.html (the facts of one object)
    tabs: tuple[Tab, ...] = ()  # between Overview and YAML/Events
    columns: tuple[Column, ...] = (Column("Phase", show="phase"), Column("Progress", show="progress"))
    extra_columns: tuple[ExtraColumn, ...] = ()  # after the API's columns, filled by the console
    detail_context: Callable | None = None      # (user, project, obj) -> dict for the detail page
    events_timeline: Callable | None = None     # (user, project, obj, events) -> items of the Events tab
    row_actions: RowActions | None = None
    bulk: BulkActions | None = None
    list_dialogs: str = ""      # a template the list page includes (dialogs its row menus open)
    list_note: str = ""         # one line under the list's title (what the user cannot do here, and where)
    delete_extra: DeleteExtra | None = None
    also_create: tuple[str, ...] = ()  # slugs of kinds whose Create its list also offers (where the guide starts)
    live_related: tuple[LiveRelation, ...] = ()
    routes: tuple[Route, ...] = ()
    nav_section: str = "Virtualization"         # "" keeps the kind out of the sidebar
    nav_order: int = 100

    @property
    def all_tabs(self):
        return (Tab(OVERVIEW, "Overview"), *self.tabs, Tab(YAML, "YAML"), Tab(EVENTS, "Events"))

    @property
    def tab_keys(self):
        return [tab.key for tab in self.all_tabs]

    def tab(self, key) -> Tab | None:
        return next((tab for tab in self.all_tabs if tab.key == key), None)

    def template(self):
        return self.detail_template or f"virtualization/{self.slug}/detail.html"

    def tab_template(self, tab: Tab):
        return tab.template or f"virtualization/{self.slug}/tabs/{tab.key}.html"

    def column(self, name) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def column_shown_as(self, show) -> str:
        return next((c.name for c in self.columns if c.show == show), "")

    @property
    def inline_edits(self):
        return {c.name: c for c in self.columns if c.edit}


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    REGISTRY[resource.slug] = resource
    return resource


def get(slug) -> Resource:
    return REGISTRY[slug]


def action_url_name(resource, tab, action):
    return f"{resource.slug}-{tab.key}-{action.name}"


def routes_of(resources, prefix, action_view):
    """The own routes of each resource (create forms, extra pages, tab actions) under `prefix(resource)`; the
    project pages and the System pages are generated by this one function."""
    patterns = []
    for resource in resources:
        base = prefix(resource)
        # Names of Kubernetes objects cannot contain "_", so "_new" never shadows an object.
        for choice in resource.create:
            patterns.append(path(f"{base}/_new/{choice.path}", choice.view, name=choice.name))
        for route in resource.routes:
            patterns.append(path(f"{base}/{route.path}", route.view, name=route.name))
        for tab in resource.tabs:
            for action in tab.actions:
                patterns.append(path(f"{base}/<str:name>/{tab.key}/{action.name}/",
                                     action_view(resource, tab, action),
                                     name=action_url_name(resource, tab, action)))
    return patterns


def urlpatterns():
    """Every kind's own pages; the generic pages come after them (virtualization/urls.py)."""
    from .generic import detail

    return routes_of(REGISTRY.values(), lambda resource: resource.slug, detail.action_view)


def nav():
    """The sidebar: [(section, [Resource, ...])], each section in the kinds' nav_order."""
    sections: dict[str, list] = {}
    for resource in sorted(REGISTRY.values(), key=lambda r: r.nav_order):
        if resource.nav_section:
            sections.setdefault(resource.nav_section, []).append(resource)
    return list(sections.items())


def sidebar(request):
    """Context processor: the project sidebar's entries, generated from the registry, and the System section's
    (system.access: access reviews as the user, asked only when a page shows them, once per request)."""
    from django.utils.functional import SimpleLazyObject

    from system.access import may_list_storage_classes, sidebar as system_sidebar
    return {"nav": nav(), "system_nav": SimpleLazyObject(lambda: system_sidebar(request)),
            "storage_nav": SimpleLazyObject(lambda: may_list_storage_classes(request))}


def converter(regex, lookup, key):
    """A URL converter class that matches a registered resource's key and hands the view the resource itself
    (`<resource:resource>` for the project pages, `<system:resource>` for the System pages)."""
    class Converter:
        def to_python(self, value):
            try:
                return lookup(value)
            except KeyError:
                raise ValueError(value)

        def to_url(self, value):
            return key(value) if isinstance(value, Resource) else str(value)
    Converter.regex = regex
    return Converter
