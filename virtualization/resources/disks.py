"""VM Disks (VirtualDisk): list, detail and "Create Disk" (blank, or from a project or cluster image)."""
from django import forms

from portal.kube import kinds
from projects.access import get_project

from ..forms import NameField, SizeField
from ..registry import CreateChoice, Resource, register
from .common import create_view, image_choice_label, images_for_disks, storage_classes

resource = register(Resource(
    slug="disks", kind=kinds.get("VirtualDisk"), title="VM Disks", noun="disk",
    create_label="Create Disk", detail_template="virtualization/disks/detail.html",
    create=(CreateChoice("Create Disk", "disk-create"),),
))

SOURCE_CHOICES = [("project", "Project"), ("cluster", "Cluster"), ("blank", "Empty disk")]
FIELD_MAP = {
    "metadata.name": "name",
    "spec.dataSource": "source",
    "spec.persistentVolumeClaim.size": "size",
    "spec.persistentVolumeClaim.storageClassName": "storage_class",
}


class DiskForm(forms.Form):
    """The fields of "Create Disk"; the VM form's "Create new disk" uses the same ones."""

    name = NameField(label="Disk Name")
    source = forms.ChoiceField(label="Source", choices=SOURCE_CHOICES, initial="project", widget=forms.RadioSelect)
    project_image = forms.ChoiceField(label="Project image", required=False)
    cluster_image = forms.ChoiceField(label="Cluster image", required=False)
    size = SizeField(label="Size", required=False, help_text="Leave empty to use the image's size.",
                     widget=forms.TextInput(attrs={"placeholder": "e.g. 5Gi"}))
    storage_class = forms.ChoiceField(label="StorageClass Name", required=False)

    def __init__(self, *args, user=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        project_images, cluster_images = images_for_disks(user, project)
        self.fields["project_image"].choices = [("", "— choose an image —")] + [
            (i["metadata"]["name"], image_choice_label(i)) for i in project_images]
        self.fields["cluster_image"].choices = [("", "— choose an image —")] + [
            (i["metadata"]["name"], image_choice_label(i)) for i in cluster_images]
        sc_choices, sc_default = storage_classes(user)
        self.fields["storage_class"].choices = [("", f"Default ({sc_default or 'cluster default'})")] + sc_choices

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == "project" and not data.get("project_image"):
            self.add_error("project_image", "Choose the project image to copy onto the disk.")
        if source == "cluster" and not data.get("cluster_image"):
            self.add_error("cluster_image", "Choose the cluster image to copy onto the disk.")
        if source == "blank" and not data.get("size"):
            self.add_error("size", "An empty disk needs a size.")
        return data

    def manifest(self):
        data = self.cleaned_data
        spec = {}
        if data["source"] in ("project", "cluster"):
            kind, name = ("VirtualImage", data["project_image"]) if data["source"] == "project" else \
                ("ClusterVirtualImage", data["cluster_image"])
            spec["dataSource"] = {"type": "ObjectRef", "objectRef": {"kind": kind, "name": name}}
        pvc = {}
        if data.get("size"):
            pvc["size"] = data["size"]
        if data.get("storage_class"):
            pvc["storageClassName"] = data["storage_class"]
        if pvc:
            spec["persistentVolumeClaim"] = pvc
        return {"metadata": {"name": data["name"]}, "spec": spec}


def create(request, project):
    project = get_project(request.user, project)
    form = DiskForm(request.POST or None, user=request.user, project=project.name)
    return create_view(request, project, resource, form, "virtualization/disks/create.html", FIELD_MAP)
