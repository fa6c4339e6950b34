"""System → Virtualization → Cluster Images (ClusterVirtualImage): list, detail and the admin guide's three
"Create Image" procedures, with the project pages' forms (virtualization/kinds/cluster_images.py).

Every user may read cluster images (they pick them for disks, in the project's pages), so this page is an
operator's by its gate: create on clustervirtualimages.
"""
from django import forms
from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_http_methods

from portal.htmx import ws_path
from portal.kube import kinds
from projects.access import can
from virtualization.generic.create import sample_choices
from virtualization.kinds.cluster_images import (FIELD_MAP, ClusterContainerImageForm, ClusterHTTPImageForm,
                                                 ClusterUploadImageForm)
from virtualization.registry import CreateChoice

from .. import access, generic
from ..registry import SystemResource, by_slug, register

# The admin guide's menu labels ("Create Image" →)
SOURCES = {
    "http": "Load data from link (HTTP)",
    "container-image": "Load data from container image",
    "upload": "Upload from Computer",
}


class SystemContainerImageForm(ClusterContainerImageForm):
    """A cluster image's pull secret lives in a namespace the operator names (no project to default to)."""

    image_pull_secret_namespace = forms.CharField(
        label="Image pull secret namespace", required=False, max_length=63,
        help_text="The namespace of the Secret named above.")

    def clean(self):
        data = super().clean()
        if data.get("image_pull_secret") and not data.get("image_pull_secret_namespace"):
            self.add_error("image_pull_secret_namespace", "Name the namespace of the image pull secret.")
        return data

    def manifest(self):
        self.project = self.cleaned_data.get("image_pull_secret_namespace") or ""
        return super().manifest()


FORMS = {"http": ClusterHTTPImageForm, "container-image": SystemContainerImageForm,
         "upload": ClusterUploadImageForm}


def _create_view(source):
    @login_required
    @require_http_methods(["GET", "POST"])
    def view(request):
        resource = by_slug("cluster-images")
        access.require(request.user, resource)
        form = FORMS[source](request.POST or None, user=request.user, project="")
        return generic.create_view(request, resource, form, "system/cluster-images/create.html", FIELD_MAP,
                                   source_label=SOURCES[source], samples=sample_choices(source))
    view.__name__ = f"create_system_cluster_image_{source.replace('-', '_')}"
    return view


def detail_context(user, scope, obj):
    """The upload widget of an image made for "Upload from Computer" (the System upload socket)."""
    if ((obj.get("spec") or {}).get("dataSource") or {}).get("type") != "Upload":
        return {}
    name = obj["metadata"]["name"]
    return {"upload": {"urls": (obj.get("status") or {}).get("imageUploadURLs") or {},
                       "socket_path": ws_path("system-upload", slug="cluster-images", name=name),
                       "may_upload": can(user, "update", kinds.CLUSTER_IMAGE, None, name)}}


resource = register(SystemResource(
    slug="cluster-images", kind=kinds.CLUSTER_IMAGE, title="Cluster Images", noun="cluster image",
    section="virtualization", section_title="Virtualization", gate="create", nav_order=10,
    create_label="Create Image", create_menu=True,
    create=tuple(CreateChoice(label, f"{source}/", _create_view(source), f"cluster-image-create-{source}")
                 for source, label in SOURCES.items()),
    detail_context=detail_context,
))
