"""The Configuration tab of an image: `.spec` as YAML, editable until the image is Ready.

The edit is sent with the resourceVersion it was made on; on a 409 the page comes back with the
user's text untouched beside what changed, so nothing typed is lost.
"""
import yaml
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import Conflict, Forbidden, Invalid, KubeError
from projects.access import can, get_project, kube_for

from .views import detail_context, get_object
from .yaml_edit import parse_mapping

LOCKED_PHASES = ("Ready", "Terminating")


class SpecForm(forms.Form):
    spec = forms.CharField(label="Specification (.spec, YAML)", widget=forms.Textarea(attrs={
        "rows": 12, "spellcheck": "false", "class": "yaml-editor"}))
    resource_version = forms.CharField(widget=forms.HiddenInput)

    def clean_spec(self):
        return parse_mapping(self.cleaned_data["spec"], "The specification")


def spec_tab_context(request, project, obj, resource, form=None):
    phase = (obj.get("status") or {}).get("phase")
    namespace = project.name if resource.kind.namespaced else None
    may_edit = can(request.user, "update", resource.kind, namespace, obj["metadata"]["name"])
    form = form or SpecForm(initial={
        "spec": yaml.safe_dump(obj.get("spec") or {}, sort_keys=False),
        "resource_version": obj["metadata"].get("resourceVersion"),
    })
    return {"spec_form": form, "spec_locked": phase in LOCKED_PHASES, "may_edit_spec": may_edit,
            "spec_url": reverse("virtualization:spec", args=[project.name, resource, obj["metadata"]["name"]])}


@require_POST
def edit_spec(request, project, resource, name):
    project = get_project(request.user, project)
    namespace = project.name if resource.kind.namespaced else None
    form = SpecForm(request.POST)
    conflict = None
    if form.is_valid():
        obj = get_object(request, project, resource, name)
        body = {**obj, "spec": form.cleaned_data["spec"]}
        body["metadata"] = {**obj["metadata"], "resourceVersion": form.cleaned_data["resource_version"]}
        try:
            kube_for(request.user).replace(resource.kind, name, body, namespace)
        except Conflict:
            conflict = yaml.safe_dump(obj.get("spec") or {}, sort_keys=False)
            form.add_error(None, f"The {resource.noun} was changed by someone else while you edited it. Your text "
                                 "is kept below; the current specification is shown beside it. Save again to "
                                 "apply your text over it.")
            form.data = form.data.copy()
            form.data["resource_version"] = obj["metadata"].get("resourceVersion")
        except (Invalid, Forbidden) as exc:
            causes = getattr(exc, "causes", None) or []
            for cause in causes:
                form.add_error("spec", f"{cause.get('field') or ''}: {cause.get('message')}".lstrip(": "))
            if not causes:
                form.add_error("spec", exc.message)
        except KubeError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The {resource.noun} {name} was updated.")
            return redirect(reverse("virtualization:detail-tab", args=[project.name, resource, name, "configuration"]))
    obj = get_object(request, project, resource, name)
    context = detail_context(request, project, resource, obj, "configuration")
    context["tab_template"] = f"virtualization/{resource.slug}/tab_configuration.html"
    context.update(spec_tab_context(request, project, obj, resource, form))
    context["current_spec"] = conflict
    return render(request, resource.detail_template, context, status=409 if conflict else 422)
