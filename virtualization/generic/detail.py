"""The detail page of any registered kind: Overview, the kind's own tabs, YAML and Events; its status
fragment (htmx and live updates); and the POST view of each tab action, which shows the tab again
with a TabState when the action did not go through.
"""
from dataclasses import dataclass, field

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.kube import KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from .. import registry
from ..registry import EVENTS, OVERVIEW, YAML, Resource
from .yamls import to_yaml

# The status block of every detail page; the fragment and the live updates render it alone.
STATUS_BLOCK = "virtualization/includes/status_block.html"


@dataclass
class TabState:
    """What a tab shows again after a POST that did not go through: the user's input and why."""
    posted: dict = field(default_factory=dict)   # the POSTed values, to fill the form again
    errors: dict = field(default_factory=dict)   # field (or form part) -> message
    form: object = None                          # a bound Django form, when the tab has one
    edit: object = None                          # an edit in progress (vms.edit.Edit: base and conflicts)
    error: str = ""                              # one line for the whole tab (an API refusal)
    status: int = 422                            # 409 after a conflict, 200 for a preview
    origin: str = ""                             # the tab whose action made it (set by the action's view)

    def with_error(self, key, message):
        self.errors[key] = message
        return self


def namespace_of(project, resource):
    """The namespace a kind's objects live in for this project page (None for cluster-scoped kinds)."""
    return project.name if resource.kind.namespaced else None


def get_object(user, project, resource, name):
    try:
        return kube_for(user).get(resource.kind, name, namespace_of(project, resource))
    except NotFound:
        raise Http404(f"No {resource.noun} named {name}")


def events_for(user, project, obj):
    if not can(user, "list", kinds.EVENT, project.name):
        return None
    uid = obj["metadata"].get("uid")
    name, kind = obj["metadata"]["name"], obj.get("kind")

    def about(event):
        involved = event.get("involvedObject") or {}
        return involved.get("name") == name and involved.get("kind") in (None, "", kind) \
            and involved.get("uid") in (None, "", uid)
    events = [e for e in kube_for(user).list(kinds.EVENT, project.name) if about(e)]
    return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime")
                  or e["metadata"].get("creationTimestamp") or "", reverse=True)


def detail_context(user, project, resource: Resource, obj, tab=OVERVIEW):
    """What every tab of a detail page shows (head, status block, tabs); the live updates use it too."""
    namespace = namespace_of(project, resource)
    context = {
        "project": project, "resource": resource, "obj": obj, "name": obj["metadata"]["name"],
        "status": obj.get("status") or {}, "spec": obj.get("spec") or {}, "tab": tab,
        "status_template": resource.template() + "#status",
        "can_delete": can(user, "delete", resource.kind, namespace),
        "can_update": can(user, "patch", resource.kind, namespace),
    }
    if resource.detail_context:
        context.update(resource.detail_context(user, project, obj))
    return context


def tab_context(user, project, resource, obj, tab_key, state=None):
    """The detail context with the chosen tab's own part."""
    state = state or TabState()
    context = detail_context(user, project, resource, obj, tab_key)
    name = obj["metadata"]["name"]
    if tab_key == EVENTS:
        context["events"] = events_for(user, project, obj)
        if resource.events_timeline:  # a kind may merge related objects' events in
            context["timeline"] = resource.events_timeline(user, project, obj, context["events"])
    elif tab_key == YAML:
        context["yaml"] = to_yaml(_without_managed_fields(obj))
        context["can_edit_yaml"] = can(user, "update", resource.kind, namespace_of(project, resource), name)
    elif tab_key != OVERVIEW:
        tab = resource.tab(tab_key)
        context["tab_template"] = resource.tab_template(tab)
        context["tab_actions"] = {  # {{ tab_actions.<name> }} in the tab's template ("-" as "_")
            action.name.replace("-", "_"): reverse(f"virtualization:{registry.action_url_name(resource, tab, action)}",
                                                   args=[project.name, name]) for action in tab.actions}
        context["tab_url"] = reverse("virtualization:detail-tab", args=[project.name, resource, name, tab.key])
        context["tab_error"] = state.error
        if tab.context:
            context.update(tab.context(user, project, obj, state))
    return context


def render_tab(request, project, resource, obj, tab_key, state=None):
    context = tab_context(request.user, project, resource, obj, tab_key, state)
    return render(request, resource.template(), context, status=state.status if state else 200)


@require_GET
def detail(request, project, resource: Resource, name, tab=OVERVIEW):
    if tab not in resource.tab_keys:
        raise Http404("No such tab")
    project = get_project(request.user, project)
    obj = get_object(request.user, project, resource, name)
    return render_tab(request, project, resource, obj, tab)


@require_GET
def status(request, project, resource: Resource, name):
    """The status block of a detail page (htmx fragment; live updates push the same partial)."""
    project = get_project(request.user, project)
    obj = get_object(request.user, project, resource, name)
    return render(request, STATUS_BLOCK, detail_context(request.user, project, resource, obj))


def action_view(resource, tab, action):
    """The POST view of one tab action: the object is read as the user, then `action.handle` runs."""
    @require_POST
    def view(request, project, name):
        project = get_project(request.user, project)
        obj = get_object(request.user, project, resource, name)
        try:
            result = action.handle(request, project, obj)
        except KubeError as exc:
            result = TabState(posted=request.POST, error=exc.message)
        # A tab may hold another tab's section (the VM's Configuration holds Placement and Disks and Images):
        # its forms name the tab they are shown on, and the user comes back there, at the section.
        shown_on = request.POST.get("shown_on", "")
        shown_on = shown_on if shown_on in resource.tab_keys and shown_on != tab.key else ""
        if isinstance(result, TabState):  # shown on the object as it is now, with the user's input kept
            result.origin = tab.key
            return render_tab(request, project, resource, get_object(request.user, project, resource, name),
                              shown_on or tab.key, result)
        own_url = reverse("virtualization:detail-tab", args=[project.name, resource, name, tab.key])
        if shown_on and isinstance(result, HttpResponseRedirect) and result.url == own_url:
            return HttpResponseRedirect(reverse("virtualization:detail-tab", args=[project.name, resource, name,
                                                                                    shown_on]) + f"#{tab.key}")
        return result
    view.__name__ = f"{resource.slug}_{tab.key}_{action.name}".replace("-", "_")
    return view


def _without_managed_fields(obj):
    obj = dict(obj)
    obj["metadata"] = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return obj
