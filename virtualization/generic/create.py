"""Create forms of any kind: the generic create view (YAML preview, the API's refusals on the fields), one view per
data source, and what the forms share (storage classes, images to pick from, sample image URLs)."""
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.htmx import ws_path
from portal.kube import Forbidden, KubeError, Unavailable, fetch, kinds
from projects.access import can, get_project, kube_for

from .. import registry
from ..forms import apply_api_error
from ..registry import CreateChoice
from . import yamls

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
        samples = fetch.json_document(url, timeout=2)
    except Unavailable:
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
            context["yaml_preview"] = yamls.preview([yamls.document(resource.kind, form.manifest(), project.name)])
    elif request.method == "POST" and form.is_valid():
        created = save_or_report(
            form, lambda: kube_for(request.user).create(resource.kind, form.manifest(), project.name),
            field_map, resource.noun)
        if created:
            return redirect(reverse("virtualization:detail", args=[project.name, resource, created["metadata"]["name"]]))
    return render(request, template, {"project": project, "resource": resource, "form": form, **context},
                  status=422 if form.errors else 200)


def create_choices_by_source(slug, forms, labels, field_map, template="virtualization/images/create.html"):
    """One create form per data source ("Create Image" → "Load data from link (HTTP)", …)."""
    def view_for(source):
        def view(request, project):
            project = get_project(request.user, project)
            form = forms[source](request.POST or None, user=request.user, project=project.name)
            return create_view(request, project, registry.get(slug), form, template, field_map,
                               source_label=labels[source], samples=sample_choices(source))
        view.__name__ = f"create_{slug.replace('-', '_')}_{source.replace('-', '_')}"
        return view
    singular = slug.rstrip("s")
    return tuple(CreateChoice(label, f"{source}/", view_for(source), f"{singular}-create-{source}")
                 for source, label in labels.items())


def upload_context(user, project, obj, resource):
    """The upload widget and URLs of an object made by an upload (VirtualImage, ClusterVirtualImage, VirtualDisk)."""
    if ((obj.get("spec") or {}).get("dataSource") or {}).get("type") != "Upload":
        return {}
    namespace = project.name if resource.kind.namespaced else None
    name = obj["metadata"]["name"]
    return {
        "upload": {
            "urls": (obj.get("status") or {}).get("imageUploadURLs") or {},
            "socket_path": ws_path("upload", project=project.name, slug=resource.slug, name=name),
            "may_upload": can(user, "update", resource.kind, namespace, name),
        },
    }
