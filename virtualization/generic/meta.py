"""The Meta tab: labels and annotations, added, changed and removed with a merge patch as the user.

The patch carries the resourceVersion the page was made from and only the keys the user touched.
On a 409 the page comes back with the user's edit kept and what the server holds now, on the
latest version: saving again applies the same changes there.
"""
import re

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Conflict, Invalid, KubeError
from projects.access import can, kube_for

from .. import registry
from ..registry import Action, Tab
from .detail import TabState

MAPS = (("labels", "Labels"), ("annotations", "Annotations"))
NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
KEY_RE = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{NAME}$")
LABEL_VALUE_RE = re.compile(rf"^({NAME})?$")


def _context(user, project, obj, resource, entries=None, errors=None, server=None, resource_version=None,
             original=None):
    name = obj["metadata"]["name"]
    namespace = project.name if resource.kind.namespaced else None
    metadata = obj.get("metadata") or {}
    current = {key: sorted((metadata.get(key) or {}).items()) for key, _ in MAPS}
    entries = entries or current
    return {
        "meta_rows": [{"key": key, "label": label, "entries": entries[key], "original": (original or current)[key],
                       "errors": {k.split(":", 1)[1]: v for k, v in (errors or {}).items()
                                  if k.startswith(f"{key}:")},
                       "server": server[key] if server else None} for key, label in MAPS],
        "meta_error": (errors or {}).get("_", ""),
        "meta_resource_version": resource_version or metadata.get("resourceVersion", ""),
        "may_patch": can(user, "patch", resource.kind, namespace, name),
        "meta_changed": bool(errors) or server is not None,  # sent back edited: its Save stays shown
    }


def _posted(post, key):
    """(entries the user wants, {key: error}) for one map from the posted rows."""
    entries, errors = [], {}
    count = int(post.get(f"{key}-count") or 0)
    rows = [(post.get(f"{key}-key-{i}", ""), post.get(f"{key}-value-{i}", ""), post.get(f"{key}-remove-{i}"))
            for i in range(count)]
    rows.append((post.get(f"{key}-key-new", ""), post.get(f"{key}-value-new", ""), None))
    seen = set()
    for name, value, remove in rows:
        name = name.strip()
        if not name or remove:
            continue
        if not KEY_RE.match(name) or len(name) > 316:
            errors[name] = "A key is an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.', " \
                           "starting and ending with a letter or digit."
        elif key == "labels" and not LABEL_VALUE_RE.match(value):
            errors[name] = "A label value is empty or up to 63 letters, digits, '-', '_' or '.', starting and ending " \
                           "with a letter or digit."
        elif name in seen:
            errors[name] = "This key is listed twice."
        seen.add(name)
        entries.append((name, value))
    return entries, errors


def _save(request, project, obj, resource):
    name = obj["metadata"]["name"]
    namespace = project.name if resource.kind.namespaced else None
    wanted, errors = {}, {}
    for key, _ in MAPS:
        wanted[key], map_errors = _posted(request.POST, key)
        errors.update({f"{key}:{k}": v for k, v in map_errors.items()})
    server = None
    if not errors:
        original = {key: dict(_posted_original(request.POST, key)) for key, _ in MAPS}
        patch = {"metadata": {"resourceVersion": request.POST.get("resourceVersion") or None}}
        for key, _ in MAPS:
            changes = {k: v for k, v in wanted[key] if original[key].get(k) != v}
            changes.update({k: None for k in original[key] if k not in dict(wanted[key])})
            if changes:
                patch["metadata"][key] = changes
        tab_url = reverse("virtualization:detail-tab", args=[project.name, resource.slug, name, "meta"])
        if len(patch["metadata"]) == 1:
            messages.info(request, "Nothing changed.")
            return redirect(tab_url)
        try:
            kube_for(request.user).patch(resource.kind, name, patch, namespace)
            messages.success(request, f"Labels and annotations of {name} saved.")
            return redirect(tab_url)
        except Conflict:
            server = {key: sorted((obj["metadata"].get(key) or {}).items()) for key, _ in MAPS}
            errors["_"] = "The object changed on the server since you opened this tab. Your edit is kept below " \
                          "and now applies to the latest version; compare it with the server's values and save again."
        except Invalid as exc:
            errors["_"] = exc.summary()
        except KubeError as exc:
            errors["_"] = exc.message
    # The form keeps the values the user started from, so saving again sends exactly the user's
    # changes; after a conflict it moves to the latest version, after a refusal it stays.
    conflict = server is not None
    return TabState(posted=request.POST, status=409 if conflict else 422, form={
        "entries": wanted, "errors": errors, "server": server,
        "resource_version": None if conflict else request.POST.get("resourceVersion"),
        "original": {key: _posted_original(request.POST, key) for key, _ in MAPS}})


def meta_tab(slug):
    """The Meta tab: labels and annotations of any kind."""
    def context(user, project, obj, state):
        return _context(user, project, obj, registry.get(slug), **(state.form or {}))

    def save(request, project, obj):
        return _save(request, project, obj, registry.get(slug))
    return Tab("meta", "Meta", context=context, template="virtualization/includes/tab_meta.html",
               actions=(Action("save", save),))


def _posted_original(post, key):
    count = int(post.get(f"{key}-original-count") or 0)
    return [(post.get(f"{key}-original-key-{i}", ""), post.get(f"{key}-original-value-{i}", ""))
            for i in range(count)]
