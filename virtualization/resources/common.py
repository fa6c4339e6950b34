"""Helpers the kinds' create views share: storage classes, images to pick from, API errors."""
import json
import logging
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.kube import Forbidden, KubeError, kinds
from projects.access import get_project, kube_for

from .. import manifests
from ..forms import apply_api_error

log = logging.getLogger(__name__)

DEFAULT_SC_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def storage_classes(user):
    """(choices, default name) of the cluster's StorageClasses, read as the user."""
    try:
        items = kube_for(user).list(kinds.STORAGE_CLASS)
    except Forbidden:
        return [], ""
    default = ""
    choices = []
    for sc in sorted(items, key=lambda s: s["metadata"]["name"]):
        name = sc["metadata"]["name"]
        is_default = (sc["metadata"].get("annotations") or {}).get(DEFAULT_SC_ANNOTATION) == "true"
        if is_default:
            default = name
        mode = sc.get("volumeBindingMode", "Immediate")
        choices.append((name, f"{name}{' (default)' if is_default else ''} · {mode}"))
    return choices, default


def images_for_disks(user, project):
    """Images a disk can be made from: the project's VirtualImages and the ClusterVirtualImages."""
    kube = kube_for(user)
    project_images = [i for i in kube.list(kinds.IMAGE, project)]
    try:
        cluster_images = kube.list(kinds.CLUSTER_IMAGE)
    except Forbidden:
        cluster_images = []
    return project_images, cluster_images


def image_choice_label(image):
    status = image.get("status") or {}
    phase = status.get("phase") or "Pending"
    size = (status.get("size") or {}).get("unpacked")
    extra = ", ".join(x for x in (phase, size and f"{size}", "ISO" if status.get("cdrom") else "") if x)
    return f"{image['metadata']['name']} ({extra})"


# Which field of a sample the "Create Image" form of a source suggests.
SAMPLE_FIELDS = {"http": "url", "container-image": "containerImage"}


def sample_choices(source):
    """[{value, description}] to suggest in the form of `source` (none for sources without a field)."""
    key = SAMPLE_FIELDS.get(source)
    return [{"value": s[key], "description": s.get("description") or s.get("name", "")}
            for s in sample_images() if key and s.get(key)]


def sample_images():
    """Image URLs and container image references suggested in "Create Image" (the embedded dvpsim serves a few)."""
    url = settings.DVP_SAMPLE_IMAGES_URL
    if not url:
        return []
    cached = cache.get("sample-images")
    if cached is not None:
        return cached
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            samples = json.load(response)
    except (OSError, ValueError) as exc:
        log.info("sample image index unavailable: %s", exc)
        samples = []
    cache.set("sample-images", samples, 300)
    return samples


def save_or_report(form, call, field_map, noun):
    """Run an API call for a form; on a refusal put the API's words on the form and return None."""
    try:
        return call()
    except KubeError as exc:
        if apply_api_error(form, exc, field_map, noun):
            return None
        form.add_error(None, exc.message)
        return None


def create_view(request, project, resource, form, template, field_map, **context):
    """Render a create form; on a valid POST create the object as the user and go to its page.

    With `preview` posted, nothing is created: the page comes back with the YAML it would apply.
    """
    if request.method == "POST" and request.POST.get("preview"):
        if form.is_valid():
            context["yaml_preview"] = manifests.preview([manifests.document(resource.kind, form.manifest(),
                                                                            project.name)])
    elif request.method == "POST" and form.is_valid():
        created = save_or_report(
            form, lambda: kube_for(request.user).create(resource.kind, form.manifest(), project.name),
            field_map, resource.noun)
        if created:
            return redirect(reverse("virtualization:detail", args=[project.name, resource, created["metadata"]["name"]]))
    return render(request, template, {"project": project, "resource": resource, "form": form, **context},
                  status=422 if form.errors else 200)


def create_views_by_source(resource, forms, labels, field_map, template="virtualization/images/create.html"):
    """One create view per data source ("Create Image" → "Load data from link (HTTP)", …)."""
    def view_for(source):
        def view(request, project):
            project = get_project(request.user, project)
            form = forms[source](request.POST or None, user=request.user, project=project.name)
            return create_view(request, project, resource, form, template, field_map, source_label=labels[source],
                               samples=sample_choices(source))
        view.__name__ = f"create_{resource.slug.replace('-', '_')}_{source.replace('-', '_')}"
        return view
    return view_for
