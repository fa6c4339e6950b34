"""Disk Images (VirtualImage): list, detail, "Create Image" with every source of the user guide, edit of .spec."""
from django import forms

from portal.kube import kinds
from projects.access import kube_for

from .. import registry
from ..forms import NameField
from ..generic.create import create_choices_by_source, storage_classes, upload_context
from ..generic.spec import spec_tab
from ..registry import Resource, register


SOURCES = {
    # URL segment: the guide's menu label
    "http": "Load data from link (HTTP)",
    "container-image": "Upload data from container image",
    "upload": "Upload from computer",
    "disk": "Write data from disk",
    "disk-snapshot": "Write data from disk snapshot",
}

STORAGE_CHOICES = [("ContainerRegistry", "ContainerRegistry"), ("PersistentVolumeClaim", "PersistentVolumeClaim")]
FIELD_MAP = {
    "metadata.name": "name",
    "spec.storage": "storage",
    "spec.persistentVolumeClaim": "storage_class",
    "spec.dataSource.http": "url",
    "spec.dataSource.containerImage.image": "image",
    "spec.dataSource.containerImage.imagePullSecret": "image_pull_secret",
    "spec.dataSource.containerImage.caBundle": "ca_bundle",
    "spec.dataSource.objectRef": "source_name",
    "spec.dataSource.upload": "sha256",
}


class ImageForm(forms.Form):
    """What every source shares: the name and where the image is stored."""

    name = NameField(label="Image Name")
    storage = forms.ChoiceField(label="Storage", choices=STORAGE_CHOICES, initial="ContainerRegistry",
                                widget=forms.RadioSelect)
    storage_class = forms.ChoiceField(label="Storage class", required=False)

    def __init__(self, *args, user=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.project = user, project
        sc_choices, sc_default = storage_classes(user)
        self.fields["storage_class"].choices = [("", f"Default ({sc_default or 'cluster default'})")] + \
            list(sc_choices)

    def data_source(self):
        raise NotImplementedError

    def manifest(self):
        data = self.cleaned_data
        spec = {"storage": data["storage"], "dataSource": self.data_source()}
        if data["storage"] == "PersistentVolumeClaim" and data["storage_class"]:
            spec["persistentVolumeClaim"] = {"storageClassName": data["storage_class"]}
        return {"metadata": {"name": data["name"]}, "spec": spec}


class HTTPImageForm(ImageForm):
    url = forms.URLField(label="URL", assume_scheme="https", max_length=2048,
                         widget=forms.URLInput(attrs={"list": "sample-images", "placeholder": "https://…"}))
    sha256 = forms.RegexField(label="SHA-256 checksum (optional)", required=False, regex=r"^[0-9a-fA-F]{64}$",
                              error_messages={"invalid": "A SHA-256 checksum is 64 hexadecimal digits."},
                              help_text="The import fails if the file does not match.")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// links can be loaded.")
        return url

    def data_source(self):
        http = {"url": self.cleaned_data["url"]}
        if self.cleaned_data.get("sha256"):
            http["checksum"] = {"sha256": self.cleaned_data["sha256"].lower()}
        return {"type": "HTTP", "http": http}


class ContainerImageForm(ImageForm):
    image = forms.RegexField(
        label="Image in Container Registry", max_length=512, regex=r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                                              r"(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
        error_messages={"invalid": "Give a container image reference: registry/path[:tag][@digest]."},
        widget=forms.TextInput(attrs={"placeholder": "registry.example.com/images/ubuntu:24.04",
                                      "list": "sample-images"}))
    image_pull_secret = forms.CharField(label="Image pull secret (optional)", required=False, max_length=253,
                                        help_text="A Secret in this project with the registry credentials.")
    ca_bundle = forms.CharField(label="CA bundle (optional, base64 PEM)", required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))

    def data_source(self):
        data = self.cleaned_data
        container_image = {"image": data["image"]}
        if data.get("image_pull_secret"):
            container_image["imagePullSecret"] = {"name": data["image_pull_secret"]}
        if data.get("ca_bundle"):
            container_image["caBundle"] = data["ca_bundle"].strip()
        return {"type": "ContainerImage", "containerImage": container_image}


class UploadImageForm(ImageForm):
    sha256 = forms.RegexField(label="SHA-256 checksum (optional)", required=False, regex=r"^[0-9a-fA-F]{64}$",
                              error_messages={"invalid": "A SHA-256 checksum is 64 hexadecimal digits."},
                              help_text="The upload fails if the file does not match.")

    def data_source(self):
        if self.cleaned_data.get("sha256"):
            return {"type": "Upload", "upload": {"checksum": {"sha256": self.cleaned_data["sha256"].lower()}}}
        return {"type": "Upload"}


def disk_usable_for_image(disk):
    """None if an image can be written from the disk now, else why not."""
    status = disk.get("status") or {}
    if status.get("phase") != "Ready":
        return f"the disk is {status.get('phase') or 'Pending'}, not Ready"
    mounted = [a["name"] for a in status.get("attachedToVirtualMachines") or [] if a.get("mounted")]
    if mounted:
        return f"attached to the running VM {', '.join(mounted)}: stop it first"
    return None


class ObjectRefImageForm(ImageForm):
    source_name = forms.ChoiceField(label="Disk")

    ref_kind = kinds.DISK

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources = {o["metadata"]["name"]: o for o in kube_for(self.user).list(self.ref_kind, self.project)}
        self.fields["source_name"].choices = [("", "— choose —")] + [
            (name, self.choice_label(obj)) for name, obj in sorted(self.sources.items())]

    def choice_label(self, obj):
        reason = disk_usable_for_image(obj)
        capacity = (obj.get("status") or {}).get("capacity") or ""
        return f"{obj['metadata']['name']} ({capacity or '—'}{'; ' + reason if reason else ''})"

    def clean_source_name(self):
        name = self.cleaned_data["source_name"]
        reason = disk_usable_for_image(self.sources[name]) if name in self.sources else "it does not exist"
        if reason:
            raise forms.ValidationError(f"An image cannot be written from {name} now: {reason}.")
        return name

    def data_source(self):
        return {"type": "ObjectRef",
                "objectRef": {"kind": self.ref_kind.kind, "name": self.cleaned_data["source_name"]}}


class SnapshotImageForm(ObjectRefImageForm):
    ref_kind = kinds.DISK_SNAPSHOT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_name"].label = "Disk snapshot"

    def choice_label(self, obj):
        status = obj.get("status") or {}
        return f"{obj['metadata']['name']} (of {(obj.get('spec') or {}).get('virtualDiskName')}, " \
               f"{status.get('phase') or 'Pending'})"

    def clean_source_name(self):
        name = self.cleaned_data["source_name"]
        phase = ((self.sources.get(name) or {}).get("status") or {}).get("phase")
        if phase != "Ready":
            raise forms.ValidationError(f"The snapshot {name} is {phase or 'missing'}, not Ready.")
        return name


FORMS = {"http": HTTPImageForm, "container-image": ContainerImageForm, "upload": UploadImageForm,
         "disk": ObjectRefImageForm, "disk-snapshot": SnapshotImageForm}



def detail_context(user, project, obj):
    return upload_context(user, project, obj, registry.get("images"))


resource = register(Resource(
    slug="images", kind=kinds.IMAGE, title="Disk Images", noun="image", create_label="Create Image",
    create=create_choices_by_source("images", FORMS, SOURCES, FIELD_MAP), create_menu=True,
    tabs=(spec_tab("images"),), detail_context=detail_context, nav_order=10,
    also_create=("disk-snapshots",),  # the guide's "Create Disk Snapshot" starts at "Disk Images"
))
