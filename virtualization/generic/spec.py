"""The Configuration tab of an image: `.spec` as YAML, editable until the image is Ready.

The edit is sent with the resourceVersion it was made on; on a 409 the page comes back with the
user's text untouched beside what changed, so nothing typed is lost.
"""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Conflict, Forbidden, Invalid, KubeError
from projects.access import can, kube_for

from .. import registry
from ..registry import Action, Tab
from .detail import TabState, get_object, namespace_of
from .yaml_edit import parse_mapping
from .yamls import to_yaml

LOCKED_PHASES = ("Ready", "Terminating")


class SpecForm(forms.Form):
    spec = forms.CharField(label="Specification (.spec, YAML)", widget=forms.Textarea(attrs={
        "rows": 12, "spellcheck": "false", "class": "yaml-editor"}))
    resource_version = forms.CharField(widget=forms.HiddenInput)

    def clean_spec(self):
        return parse_mapping(self.cleaned_data["spec"], "The specification")


def _context(user, project, obj, state, resource):
    phase = (obj.get("status") or {}).get("phase")
    may_edit = can(user, "update", resource.kind, namespace_of(project, resource), obj["metadata"]["name"])
    form = state.form or SpecForm(initial={
        "spec": to_yaml(obj.get("spec") or {}),
        "resource_version": obj["metadata"].get("resourceVersion"),
    })
    return {"spec_form": form, "spec_locked": phase in LOCKED_PHASES, "may_edit_spec": may_edit,
            "current_spec": state.posted.get("current_spec")}


def _save(request, project, obj, resource):
    name = obj["metadata"]["name"]
    form = SpecForm(request.POST)
    if not form.is_valid():
        return TabState(form=form)
    body = {**obj, "spec": form.cleaned_data["spec"]}
    body["metadata"] = {**obj["metadata"], "resourceVersion": form.cleaned_data["resource_version"]}
    try:
        kube_for(request.user).replace(resource.kind, name, body, namespace_of(project, resource))
    except Conflict:
        current = get_object(request.user, project, resource, name)
        form.add_error(None, f"The {resource.noun} was changed by someone else while you edited it. Your text "
                             "is kept below; the current specification is shown beside it. Save again to "
                             "apply your text over it.")
        form.data = form.data.copy()
        form.data["resource_version"] = current["metadata"].get("resourceVersion")
        return TabState(form=form, status=409, posted={"current_spec": to_yaml(current.get("spec") or {})})
    except (Invalid, Forbidden) as exc:
        causes = getattr(exc, "causes", None) or []
        for cause in causes:
            form.add_error("spec", f"{cause.get('field') or ''}: {cause.get('message')}".lstrip(": "))
        if not causes:
            form.add_error("spec", exc.message)
        return TabState(form=form)
    except KubeError as exc:
        form.add_error(None, exc.message)
        return TabState(form=form)
    messages.success(request, f"The {resource.noun} {name} was updated.")
    return redirect(reverse("virtualization:detail-tab", args=[project.name, resource.slug, name, "configuration"]))


def spec_tab(slug):
    """The Configuration tab of a kind whose .spec is edited as YAML (images, cluster images)."""
    def context(user, project, obj, state):
        return _context(user, project, obj, state, registry.get(slug))

    def save(request, project, obj):
        return _save(request, project, obj, registry.get(slug))
    return Tab("configuration", "Configuration", context=context,
               template="virtualization/includes/tab_spec.html", actions=(Action("save", save),))
