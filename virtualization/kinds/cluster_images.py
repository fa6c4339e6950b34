"""Cluster Images (ClusterVirtualImage): read-only for project users, created and deleted by operators.

Shown under each project (it is where users pick images for disks); cluster-scoped, so every
right is asked without a namespace.
"""
from portal.kube import kinds

from .. import registry
from ..generic.create import create_choices_by_source, upload_context
from ..generic.spec import spec_tab
from ..registry import Resource, register
from .images import ContainerImageForm, HTTPImageForm, UploadImageForm


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




def detail_context(user, project, obj):
    return upload_context(user, project, obj, registry.get("cluster-images"))


resource = register(Resource(
    slug="cluster-images", kind=kinds.CLUSTER_IMAGE, title="Cluster Images", noun="cluster image",
    create_label="Create Cluster Image", detail_template="virtualization/images/detail.html",
    create=create_choices_by_source("cluster-images", FORMS, SOURCES, FIELD_MAP), create_menu=True,
    tabs=(spec_tab("cluster-images"),), detail_context=detail_context, nav_order=20,
))
