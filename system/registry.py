"""The System section's registry: the operator's cluster-scoped screens, declared like the project's kinds.

A System page is a `virtualization.registry.Resource` (the same Tab, Action, CreateChoice, Route and Column)
with two things a project kind does not have: its place in the System tree (`section`, which is also the URL
segment: /system/<section>/<slug>/) and the right that makes the page an operator's (`gate`). The generic
project views cannot serve these pages: they resolve a project first and name it in every URL; so the System
views (system/generic.py) are their own, on the same declarations.

A page is shown, and served, only to a user whom an access review made as the user allows `gate` on its kind
(cluster-wide). Every authenticated user may *read* cluster images and VM classes (they pick them in their
forms), so for those the gate is the operator's right (create), not read.
"""
from dataclasses import dataclass
from typing import Callable

from virtualization.registry import Resource, routes_of


@dataclass(frozen=True)
class SystemResource(Resource):
    section: str = "virtualization"   # URL segment and sidebar group: /system/<section>/<slug>/
    section_title: str = "Virtualization"
    gate: str = "list"                # the verb on the kind (cluster-wide) that opens the page
    template_dir: str = ""            # default: system/<slug>/
    list_extra: Callable | None = None    # (user, rows) -> names of extra columns, set on each row's .extra
    delete_context: Callable | None = None    # (user, obj) -> what the delete page says (what uses it)
    keep_after_delete: bool = False   # back to the object after Delete (it may stay while something uses it)
    # A list page of its own (namespaced objects of every project): (user, resource, query) -> its template's context.
    list_context: Callable | None = None
    list_template: str = "system/list.html"   # its `live` partial is what the live socket pushes (system/live.py)
    live_watch: tuple = ()            # kinds besides its own whose changes show on its pages (watched cluster-wide)

    @property
    def path(self):
        return f"{self.section}/{self.slug}"

    def template(self):
        return self.detail_template or f"system/{self.template_dir or self.slug}/detail.html"

    def tab_template(self, tab):
        return tab.template or f"system/{self.template_dir or self.slug}/tabs/{tab.key}.html"


SYSTEM: dict[str, SystemResource] = {}


def register(resource: SystemResource) -> SystemResource:
    SYSTEM[resource.path] = resource
    return resource


def get(path_) -> SystemResource:
    return SYSTEM[path_]


def by_slug(slug) -> SystemResource:
    return next(r for r in SYSTEM.values() if r.slug == slug)


def urlpatterns():
    """Each System page's own routes (create forms, extra pages, tab actions), inside the `system` namespace."""
    from .generic import action_view

    return routes_of(SYSTEM.values(), lambda resource: resource.path, action_view)


def nav(may_open):
    """The System sidebar: [(section title, [SystemResource, ...])] of the pages `may_open(resource)` allows."""
    sections: dict[str, list] = {}
    for resource in sorted(SYSTEM.values(), key=lambda r: (r.section, r.nav_order)):
        if resource.nav_section and may_open(resource):
            sections.setdefault(resource.section_title, []).append(resource)
    return list(sections.items())
