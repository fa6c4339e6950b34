"""Cluster Images (ClusterVirtualImage): read-only for project users, created and deleted by operators.

Shown under each project (it is where users pick images for disks); cluster-scoped, so every
right is asked without a namespace.
"""
from portal.kube import kinds

from ..registry import CreateChoice, Resource, register
from ..spec_edit import spec_tab_context
from .common import create_views_by_source
from .images import ContainerImageForm, HTTPImageForm, UploadImageForm, upload_context


SOURCES = {
    "http": "Load data from link (HTTP)",
    "container-image": "Upload data from container image",
    "upload": "Upload from computer",
}
FIELD_MAP = {
    "metadata.name": "name",
    "spec.dataSource.http": "url",
    "spec.dataSource.containerImage.image": "image",
    "spec.dataSource.containerImage.imagePullSecret": "image_pull_secret",
    "spec.dataSource.containerImage.caBundle": "ca_bundle",
    "spec.dataSource.upload": "sha256",
}


class ClusterImageFormMixin:
    """A cluster image is always stored in DVCR: no storage choice, and a namespace on pull secrets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["storage"]
        del self.fields["storage_class"]
        self.fields["name"].label = "Image Name"

    def manifest(self):
        source = self.data_source()
        secret = (source.get("containerImage") or {}).get("imagePullSecret")
        if secret:
            secret["namespace"] = self.project
        return {"metadata": {"name": self.cleaned_data["name"]}, "spec": {"dataSource": source}}


class ClusterHTTPImageForm(ClusterImageFormMixin, HTTPImageForm):
    pass


class ClusterContainerImageForm(ClusterImageFormMixin, ContainerImageForm):
    pass


class ClusterUploadImageForm(ClusterImageFormMixin, UploadImageForm):
    pass


FORMS = {"http": ClusterHTTPImageForm, "container-image": ClusterContainerImageForm,
         "upload": ClusterUploadImageForm}




def configuration_context(request, project, obj):
    return spec_tab_context(request, project, obj, resource)


def detail_extra(request, project, obj):
    return upload_context(request, project, obj, resource)


resource = register(Resource(
    slug="cluster-images", kind=kinds.CLUSTER_IMAGE, title="Cluster Images", noun="cluster image",
    create_label="Create Cluster Image", detail_template="virtualization/images/detail.html",
    create=tuple(CreateChoice(label, f"cluster-image-create-{slug}") for slug, label in SOURCES.items()),
    create_menu=True,
    tabs=(("overview", "Overview"), ("configuration", "Configuration"), ("yaml", "YAML"), ("events", "Events")),
    extra={"detail_context": detail_extra, "tab_context": {"configuration": configuration_context}},
))


create_view_for = create_views_by_source(resource, FORMS, SOURCES, FIELD_MAP)
