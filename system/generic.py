"""The generic pages of every System kind: list, detail (Overview, the kind's tabs, YAML, Events), delete,
the create view its forms share and the POST view of each tab action. Cluster-scoped objects, read and
changed as the user; the page is opened only to whom `access.require` lets in."""
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.kube import AlreadyExists, KubeError, NotFound, kinds
from projects.access import can, kube_for
from virtualization.forms import apply_api_error
from virtualization.generic import tables, yamls
from virtualization.generic.detail import STATUS_BLOCK, TabState, _without_managed_fields
from virtualization.registry import EVENTS, OVERVIEW, YAML, action_url_name

from . import access, registry


@dataclass(frozen=True)
class Scope:
    """What the project pages call `project`, for the shared kind code: a System page has no namespace."""
    name: str = ""


SYSTEM = Scope()


def page_context(request, resource, **context):
    return {"resource": resource, "system_nav": access.sidebar(request), **context}


def get_object(user, resource, name):
    """A cluster-scoped object of the page; the generic detail pages serve no namespaced kind (their lists link
    to the project pages)."""
    if resource.kind.namespaced:
        raise Http404("No such page")
    try:
        return kube_for(user).get(resource.kind, name)
    except NotFound:
        raise Http404(f"No {resource.noun} named {name}")


def list_context(user, resource, query):
    """What a list page shows this user for this query (the page, and what its live socket pushes)."""
    if resource.list_context:
        return resource.list_context(user, resource, query)
    q = query.get("q", "").strip()
    table = kube_for(user).table(resource.kind)
    rows = tables.sort_rows(tables.filter_rows(tables.rows_of(table, resource), q), "Name")
    columns = [c for c in tables.columns_of(table) if c.name != "Name"]
    for row in rows:
        row.url = reverse("system:detail", args=[resource, row.name])
        row.cell_list = [(c.name, row.cells.get(c.name, "")) for c in columns]
        row.extra = {}
    extra = resource.list_extra(user, rows) if resource.list_extra else ()
    return {"rows": rows, "columns": columns, "extra_columns": extra, "q": q,
            "can_create": can(user, "create", resource.kind), "can_delete": can(user, "delete", resource.kind)}


def open_object(request, slug, kind, namespace, name):
    """(the System page `slug`, one of its namespaced objects read as the user) for a page's own view of an object
    of a project (Migrate a VM, Cancel a migration); a 404 to whom the page is not open, or for no such object."""
    resource = registry.by_slug(slug)
    access.require(request.user, resource)
    try:
        return resource, kube_for(request.user).get(kind, name, namespace)
    except NotFound:
        raise Http404(f"No {resource.noun} named {namespace}/{name}")


@login_required
@require_GET
def list_view(request, resource):
    access.require(request.user, resource)
    return render(request, resource.list_template, page_context(
        request, resource, live_query=request.GET.urlencode(), **list_context(request.user, resource, request.GET)))


def detail_context(user, resource, obj, tab=OVERVIEW):
    context = {"resource": resource, "obj": obj, "name": obj["metadata"]["name"], "tab": tab,
               "status": obj.get("status") or {}, "spec": obj.get("spec") or {},
               "layout": "system/base.html", "status_template": resource.template() + "#status",
               "can_delete": can(user, "delete", resource.kind), "can_update": can(user, "patch", resource.kind)}
    if resource.detail_context:
        context.update(resource.detail_context(user, SYSTEM, obj))
    return context


def events_of(user, obj):
    """The object's Events, wherever they were recorded (those of cluster-scoped objects go to `default`)."""
    if not can(user, "list", kinds.EVENT):
        return None
    uid, name, kind = obj["metadata"].get("uid"), obj["metadata"]["name"], obj.get("kind")
    events = [e for e in kube_for(user).list(kinds.EVENT)
              if (e.get("involvedObject") or {}).get("name") == name
              and (e.get("involvedObject") or {}).get("kind") in (None, "", kind)
              and (e.get("involvedObject") or {}).get("uid") in (None, "", uid)]
    return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime")
                  or e["metadata"].get("creationTimestamp") or "", reverse=True)


def tab_context(request, resource, obj, tab_key, state=None):
    state = state or TabState()
    user, name = request.user, obj["metadata"]["name"]
    context = {**detail_context(user, resource, obj, tab_key), "system_nav": access.sidebar(request)}
    if tab_key == EVENTS:
        context["events"] = events_of(user, obj)
    elif tab_key == YAML:
        context["yaml"] = yamls.to_yaml(_without_managed_fields(obj))
    elif tab_key != OVERVIEW:
        tab = resource.tab(tab_key)
        context["tab_template"] = resource.tab_template(tab)
        context["tab_actions"] = {action.name.replace("-", "_"): reverse(
            f"system:{action_url_name(resource, tab, action)}", args=[name]) for action in tab.actions}
        context["tab_error"] = state.error
        if tab.context:
            context.update(tab.context(user, SYSTEM, obj, state))
    return context


def render_tab(request, resource, obj, tab_key, state=None):
    return render(request, resource.template(), tab_context(request, resource, obj, tab_key, state),
                  status=state.status if state else 200)


@login_required
@require_GET
def detail(request, resource, name, tab=OVERVIEW):
    access.require(request.user, resource)
    if tab not in resource.tab_keys:
        raise Http404("No such tab")
    return render_tab(request, resource, get_object(request.user, resource, name), tab)


@login_required
@require_GET
def status(request, resource, name):
    """The status block of a detail page (htmx fragment: what the page polls while its live socket is closed)."""
    access.require(request.user, resource)
    obj = get_object(request.user, resource, name)
    return render(request, STATUS_BLOCK, detail_context(request.user, resource, obj))


def action_view(resource, tab, action):
    """The POST view of one tab action: `action.handle(request, SYSTEM, obj)` returns a response or a TabState."""
    @login_required
    @require_POST
    def view(request, name):
        access.require(request.user, resource)
        obj = get_object(request.user, resource, name)
        try:
            result = action.handle(request, SYSTEM, obj)
        except KubeError as exc:
            result = TabState(posted=request.POST, error=exc.message)
        if isinstance(result, TabState):
            return render_tab(request, resource, get_object(request.user, resource, name), tab.key, result)
        return result
    view.__name__ = f"system_{resource.slug}_{tab.key}_{action.name}".replace("-", "_")
    return view


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, resource, name):
    access.require(request.user, resource)
    obj = get_object(request.user, resource, name)
    error = ""
    if request.method == "POST":
        try:
            kube_for(request.user).delete(resource.kind, name)
        except KubeError as exc:
            error = exc.message
        else:
            messages.success(request, f"The {resource.noun} {name} is being deleted.")
            return redirect(reverse("system:detail", args=[resource, name]) if resource.keep_after_delete
                            else reverse("system:list", args=[resource]))
    context = resource.delete_context(request.user, obj) if resource.delete_context else {}
    return render(request, "system/delete.html", page_context(request, resource, obj=obj, name=name, error=error,
                                                              **context), status=422 if error else 200)


def create_view(request, resource, form, template, field_map, **context):
    """A System create form: on a valid POST the object is created as the user (a preview only shows its YAML);
    a refusal is put on the form's fields in the API's words, the input kept."""
    if request.method == "POST" and request.POST.get("preview"):
        if form.is_valid():
            context["yaml_preview"] = yamls.preview([yamls.document(resource.kind, form.manifest(), None)])
    elif request.method == "POST" and form.is_valid():
        try:
            created = kube_for(request.user).create(resource.kind, form.manifest())
        except AlreadyExists:
            form.add_error("name", f"The cluster already has a {resource.noun} with this name.")
        except KubeError as exc:
            if not apply_api_error(form, exc, field_map, resource.noun):
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"The {resource.noun} {created['metadata']['name']} was created.")
            return redirect(reverse("system:detail", args=[resource, created["metadata"]["name"]]))
    return render(request, template, page_context(request, resource, form=form, **context),
                  status=422 if form.errors else 200)
