"""Edit any registered kind as YAML: a server-side dry run and a diff first, then the save.

The text carries the resourceVersion it was made on. When the server has moved on (409), the
page shows what changed there and keeps the user's text; "Rebase" puts the edit on the latest
version so it can be reviewed and saved again.
"""
import difflib

import yaml
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.kube import Conflict, Invalid, KubeError
from projects.access import can, get_project, kube_for

from ..registry import Resource
from .detail import get_object
from .yamls import to_yaml

# Fields the server owns: not offered for editing, not compared.
SERVER_FIELDS = ("managedFields", "creationTimestamp", "uid", "generation")


class YamlForm(forms.Form):
    text = forms.CharField(label="YAML", strip=False, widget=forms.Textarea(attrs={
        "rows": 28, "spellcheck": "false", "class": "yaml-editor", "autocapitalize": "off"}))
    # The object as it was when the edit began: on a 409 the page compares it with the server's version.
    base = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args, kind=None, name=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.name = kind, name

    def clean_text(self):
        obj = parse_mapping(self.cleaned_data["text"], "The object")
        if obj.get("kind") != self.kind.kind or obj.get("apiVersion") != self.kind.api_version:
            raise forms.ValidationError(f"Keep apiVersion: {self.kind.api_version} and kind: {self.kind.kind}.")
        if (obj.get("metadata") or {}).get("name") != self.name:
            raise forms.ValidationError(f"Keep metadata.name: {self.name} (renaming means creating a new object).")
        return obj


def parse_mapping(text, what):
    """The YAML mapping in `text`, or a ValidationError naming `what` must be one."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise forms.ValidationError(f"This is not valid YAML: {exc}")
    if not isinstance(value, dict):
        raise forms.ValidationError(f"{what} must be a YAML mapping (key: value lines).")
    return value


def editable(obj):
    """The object as the user edits it: no status, no fields only the server sets."""
    obj = {k: v for k, v in obj.items() if k != "status"}
    obj["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    return obj


def diff_lines(before, after, before_label, after_label):
    """A unified diff of two objects' editable YAML, as (css class, line) pairs."""
    def comparable(obj):
        obj = editable(obj)
        obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
        return to_yaml(obj).splitlines()
    lines = []
    for line in difflib.unified_diff(comparable(before), comparable(after), before_label, after_label, lineterm=""):
        css = "add" if line.startswith("+") and not line.startswith("+++") else \
              "del" if line.startswith("-") and not line.startswith("---") else \
              "hunk" if line.startswith("@@") else "ctx"
        lines.append((css, line))
    return lines


def _page(request, project, resource, name, action=None):
    """The editor; `action` is the POST being answered ("review", "save" or "rebase")."""
    project = get_project(request.user, project)
    namespace = project.name if resource.kind.namespaced else None
    current = get_object(request.user, project, resource, name)
    may_update = can(request.user, "update", resource.kind, namespace, name)
    form = YamlForm(request.POST if action else None, kind=resource.kind, name=name,
                    initial={"text": to_yaml(editable(current)), "base": to_yaml(editable(current))})
    context = {"project": project, "resource": resource, "name": name, "obj": current, "form": form,
               "may_update": may_update, "step": "edit"}
    if action and not may_update:
        form.add_error(None, f"You may not change {resource.noun}s here (needs update on {resource.kind.plural}).")
    elif action == "rebase" and form.is_valid():
        context["form"] = form = _rebased(request, form, current, resource, name)
    elif action in ("review", "save") and form.is_valid():
        if _replace(request, resource, name, namespace, form, current, context, dry_run=action == "review"):
            messages.success(request, f"The {resource.noun} {name} was saved.")
            return redirect(reverse("virtualization:detail-tab", args=[project.name, resource, name, "yaml"]))
    return render(request, "virtualization/yaml_edit.html", context, status=422 if form.errors else 200)


def _rebased(request, form, current, resource, name):
    """A new form with the user's edit put on the server's latest version: only the resourceVersion changes."""
    edited = form.cleaned_data["text"]
    edited["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    messages.info(request, "Your edit now applies to the latest version; review it again before saving.")
    return YamlForm(initial={"text": to_yaml(edited), "base": to_yaml(editable(current))},
                    kind=resource.kind, name=name)


def _replace(request, resource, name, namespace, form, current, context, dry_run):
    """Replace the object as the user (a dry run for a review); True once saved. A refusal goes on the form,
    a review's diff or a conflict's server diff into the page's context."""
    edited = form.cleaned_data["text"]
    try:
        # Strict like kubectl: a misspelled field is named, not silently dropped by the server.
        result = kube_for(request.user).replace(resource.kind, name, edited, namespace, dry_run=dry_run, strict=True)
    except Conflict:
        context.update(step="conflict", server_diff=diff_lines(
            _base(form.cleaned_data.get("base"), edited), current, "the version you edited", "the server now"))
        form.add_error(None, "The object changed on the server since you started editing. Your edit is kept "
                             "below; see what changed, then rebase your edit on the latest version.")
    except Invalid as exc:
        for cause in exc.causes or [{"message": exc.message}]:
            form.add_error("text", f"{cause.get('field') or ''}: {cause.get('message')}".lstrip(": "))
    except KubeError as exc:
        form.add_error("text" if "unknown field" in exc.message else None, exc.message)
    else:
        if not dry_run:
            return True
        context.update(step="review", diff=diff_lines(current, result, "current", "after saving"))
    return False


@require_GET
def edit(request, project, resource: Resource, name):
    return _page(request, project, resource, name)


@require_POST
def review(request, project, resource: Resource, name):
    """A server-side dry run of the edit and its diff."""
    return _page(request, project, resource, name, "review")


@require_POST
def save(request, project, resource: Resource, name):
    return _page(request, project, resource, name, "save")


@require_POST
def rebase(request, project, resource: Resource, name):
    """The edit moved onto the server's latest version after a conflict (nothing is written)."""
    return _page(request, project, resource, name, "rebase")


def _base(base_text, edited):
    """The version the edit began from (the form carries it); the edit itself if that is unreadable."""
    try:
        base = yaml.safe_load(base_text or "")
    except yaml.YAMLError:
        base = None
    return base if isinstance(base, dict) else edited
