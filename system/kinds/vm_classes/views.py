"""The create and edit pages of a VM class: the form shown again after Add/remove, the API's refusals on the
blocks they are about, the input kept; the edit sent with the resourceVersion it was made on (409: said so,
the input kept, Save again applies it)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.kube import AlreadyExists, Conflict, KubeError, kinds
from projects.access import can, kube_for
from virtualization.generic import yamls

from ... import access
from ...generic import get_object, page_context
from ...registry import by_slug
from .form import (CPU_TYPES, EFFECTS, FRACTIONS, OPERATORS, ROW_FIELDS, TOLERATION_OPERATORS, ClassForm, blank_row,
                   node_cpu)


def _nodes(user):
    try:
        return kube_for(user).list(kinds.NODE)
    except KubeError:
        return []


def _render(request, form, *, editing=None, status=200, **context):
    resource = by_slug("vm-classes")
    models, features = node_cpu(_nodes(request.user))
    blocks = {block: [{"i": i, "n": i + 1, "row": row, "error": form.errors.get(f"{block}-{i}", ""),
                       "cores_error": form.errors.get(f"{block}-{i}-cores", ""),
                       "memory_error": form.errors.get(f"{block}-{i}-memory", ""),
                       "fractions_error": form.errors.get(f"{block}-{i}-fractions", "")}
                      for i, row in enumerate(rows)] for block, rows in form.rows.items()}
    # What static/js/vm_class_form.js copies for a row it adds in place (__i__: its index, __n__: its number).
    row_templates = {block: {"i": "__i__", "n": "__n__", "row": blank_row(block), "error": "", "cores_error": "",
                             "memory_error": "", "fractions_error": ""} for block in ROW_FIELDS}
    context.setdefault("may_edit", True)
    context.setdefault("yaml_preview", None)
    return render(request, "system/vm-classes/form.html", page_context(
        request, resource, form=form, editing=editing, blocks=blocks, cpu_types=CPU_TYPES, operators=OPERATORS,
        toleration_operators=TOLERATION_OPERATORS, effects=EFFECTS, fractions=[str(f) for f in FRACTIONS],
        models=models, features=features, row_blocks=list(ROW_FIELDS), row_templates=row_templates,
        **context), status=status)


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    resource = by_slug("vm-classes")
    access.require(request.user, resource)
    if request.method == "GET":
        return _render(request, ClassForm())
    form = ClassForm.from_post(request.POST)
    if request.POST.get("add") or request.POST.get("remove"):
        return _render(request, form)
    if not form.validate():
        return _render(request, form, status=422)
    if request.POST.get("preview"):
        return _render(request, form, yaml_preview=yamls.preview([yamls.document(resource.kind, form.manifest())]))
    try:
        kube_for(request.user).create(resource.kind, form.manifest())
    except AlreadyExists:
        form.errors["name"] = "The cluster already has a VM class with this name."
    except KubeError as exc:
        if not form.place_api_error(exc):
            form.errors["form"] = exc.message
    else:
        messages.success(request, f"The VM class {form.name} was created.")
        return redirect(reverse("system:detail", args=[resource, form.name]))
    return _render(request, form, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, name):
    resource = by_slug("vm-classes")
    access.require(request.user, resource)
    obj = get_object(request.user, resource, name)
    may_edit = can(request.user, "update", resource.kind, None, name)
    if request.method == "GET":
        return _render(request, ClassForm.from_object(obj), editing=obj, may_edit=may_edit)
    form = ClassForm.from_post(request.POST)
    form.name, locked = name, ClassForm.from_object(obj)
    form.cpu_type, form.cpu_model, form.cpu_features = locked.cpu_type, locked.cpu_model, locked.cpu_features
    form.rows["discovery"] = locked.rows["discovery"]  # part of .spec.cpu: shown, never sent changed
    if request.POST.get("add") or request.POST.get("remove"):
        return _render(request, form, editing=obj, may_edit=may_edit)
    if not form.validate(locked_cpu=True):
        return _render(request, form, editing=obj, may_edit=may_edit, status=422)
    body = {**obj, "spec": form.spec(cpu=(obj.get("spec") or {}).get("cpu")),
            "metadata": {**obj["metadata"], "resourceVersion": form.resource_version,
                         "annotations": form.annotations(obj["metadata"].get("annotations"))}}
    try:
        kube_for(request.user).replace(resource.kind, name, body)
    except Conflict:
        current = get_object(request.user, resource, name)
        form.resource_version = current["metadata"].get("resourceVersion", "")
        form.errors["form"] = ("The class was changed by someone else while you edited it. Your edit is kept; "
                               "Save again to apply it over the current class.")
        return _render(request, form, editing=current, may_edit=may_edit, status=409)
    except KubeError as exc:
        if not form.place_api_error(exc):
            form.errors["form"] = exc.message
        return _render(request, form, editing=obj, may_edit=may_edit, status=422)
    messages.success(request, f"The VM class {name} was updated.")
    return redirect(reverse("system:detail", args=[resource, name]))
