"""Generic list / detail / delete views, driven by the registry (one entry per kind)."""
from urllib.parse import quote, urlencode

import yaml
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.kube import NotFound, kinds
from projects.access import can, get_project, kube_for

from . import listing, tables
from .registry import Resource



def list_context(request, project, resource: Resource):
    wide = request.GET.get("wide") == "1"
    page = listing.Page.read(request, resource, project.name)
    columns = tables.columns_of(page.table, wide=wide)
    rows = tables.rows_of(page.table, resource, wide=wide)
    phases = listing.phases_of(rows, page.phase)
    rows = page.filter_rows(tables.filter_rows(rows, request.GET.get("q")))
    sort = request.GET.get("sort") or "Name"
    descending = request.GET.get("dir") == "desc"
    can_update = can(request.user, "patch", resource.kind, namespace_of(project, resource))
    columns = [c for c in columns if c.name != "Name"]
    rows = listing.decorate(request.user, project.name, resource, tables.sort_rows(rows, sort, descending), columns,
                            can_update)
    view_params = {"q": request.GET.get("q", ""), "wide": "1" if wide else "", **page.params()}
    order = {"sort": sort, "dir": "desc" if descending else "asc"}
    return {
        "project": project, "resource": resource, "columns": columns,
        "rows": rows, "wide": wide, "sort": sort, "descending": descending, "q": request.GET.get("q", ""),
        "page": page, "phases": phases, "page_sizes": listing.PAGE_SIZES,
        "bulk_blocked": resource.extra["bulk_blocked"](request.user, project.name)
        if "bulk_blocked" in resource.extra else {},
        "next_query": urlencode({**view_params, **order, "continue": page.next_token}) if page.next_token else "",
        "first_query": urlencode({**view_params, **order}) if page.token else "",
        "live_query": urlencode({**view_params, **page.live_params(rows), **order}),
        "sort_query": "".join(f"{k}={quote(v)}&" for k, v in
                              {**view_params, "continue": page.token}.items() if v),
        "can_create": can(request.user, "create", resource.kind, namespace_of(project, resource)),
        "can_delete": can(request.user, "delete", resource.kind, namespace_of(project, resource)),
        "can_update": can_update,
    }


def namespace_of(project, resource):
    """The namespace a kind's objects live in for this project page (None for cluster-scoped kinds)."""
    return project.name if resource.kind.namespaced else None


def resource_list(request, project, resource: Resource):
    project = get_project(request.user, project)
    context = list_context(request, project, resource)
    template = "virtualization/list.html#table" if request.htmx and request.htmx.target == "live-table" else \
        "virtualization/list.html"
    return render(request, template, context)


def get_object(request, project, resource, name):
    try:
        return kube_for(request.user).get(resource.kind, name, project.name)
    except NotFound:
        raise Http404(f"No {resource.noun} named {name}")


def events_for(request, project, obj):
    if not can(request.user, "list", kinds.EVENT, project.name):
        return None
    uid = obj["metadata"].get("uid")
    name, kind = obj["metadata"]["name"], obj.get("kind")
    events = [e for e in kube_for(request.user).list(kinds.EVENT, project.name)
              if (e.get("involvedObject") or {}).get("name") == name
              and (e.get("involvedObject") or {}).get("kind") in (None, "", kind)
              and (e.get("involvedObject") or {}).get("uid") in (None, "", uid)]
    return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime")
                  or e["metadata"].get("creationTimestamp") or "", reverse=True)


def detail_context(request, project, resource, obj, tab="overview"):
    context = {
        "project": project, "resource": resource, "obj": obj, "name": obj["metadata"]["name"],
        "status": obj.get("status") or {}, "spec": obj.get("spec") or {}, "tab": tab,
        "can_delete": can(request.user, "delete", resource.kind, namespace_of(project, resource)),
        "can_update": can(request.user, "patch", resource.kind, namespace_of(project, resource)),
    }
    extra = resource.extra.get("detail_context")
    if extra:
        context.update(extra(request, project, obj))
    return context


def resource_detail(request, project, resource: Resource, name, tab="overview"):
    if tab not in resource.tab_keys:
        raise Http404("No such tab")
    project = get_project(request.user, project)
    obj = get_object(request, project, resource, name)
    context = detail_context(request, project, resource, obj, tab)
    if tab == "events":
        context["events"] = events_for(request, project, obj)
        timeline = resource.extra.get("events_timeline")  # a kind may merge related objects' events in
        if timeline:
            context["timeline"] = timeline(request, project, obj, context["events"])
    if tab == "yaml":
        context["yaml"] = yaml.safe_dump(_without_managed_fields(obj), sort_keys=False)
        context["can_edit_yaml"] = can(request.user, "update", resource.kind,
                                       project.name if resource.kind.namespaced else None, name)
    if tab not in ("overview", "yaml", "events"):
        context["tab_template"] = f"virtualization/{resource.slug}/tab_{tab}.html"
        tab_context = resource.extra.get("tab_context", {}).get(tab)
        if tab_context:
            context.update(tab_context(request, project, obj))
    return render(request, resource.detail_template, context)


def resource_status(request, project, resource: Resource, name):
    """The status block of a detail page (htmx fragment; live updates push the same partial)."""
    project = get_project(request.user, project)
    obj = get_object(request, project, resource, name)
    return render(request, resource.detail_template + "#status", detail_context(request, project, resource, obj))


def _without_managed_fields(obj):
    obj = dict(obj)
    obj["metadata"] = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return obj


@require_http_methods(["GET", "POST"])
def resource_delete(request, project, resource: Resource, name):
    project = get_project(request.user, project)
    obj = get_object(request, project, resource, name)
    if request.method == "POST":
        kube_for(request.user).delete(resource.kind, name, project.name)
        messages.success(request, f"The {resource.noun} {name} is being deleted.")
        url = reverse("virtualization:list", args=[project.name, resource])
        if request.htmx:
            response = render(request, "includes/empty.html")
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    return render(request, "virtualization/delete.html", {"project": project, "resource": resource, "obj": obj,
                                                          "name": name})
