"""Disk Images (VirtualImage): list, detail and "Create Image" → "Load data from link (HTTP)"."""
from django import forms

from portal.kube import kinds
from projects.access import get_project

from ..forms import NameField
from ..registry import CreateChoice, Resource, register
from .common import create_view, sample_images, storage_classes

resource = register(Resource(
    slug="images", kind=kinds.get("VirtualImage"), title="Disk Images", noun="image",
    create_label="Create Image", detail_template="virtualization/images/detail.html",
    create=(CreateChoice("Load data from link (HTTP)", "image-create-http"),), create_menu=True,
))

STORAGE_CHOICES = [("ContainerRegistry", "ContainerRegistry"), ("PersistentVolumeClaim", "PersistentVolumeClaim")]
FIELD_MAP = {
    "metadata.name": "name",
    "spec.storage": "storage",
    "spec.persistentVolumeClaim": "storage_class",
    "spec.dataSource": "url",
}


class HTTPImageForm(forms.Form):
    name = NameField(label="Image Name")
    storage = forms.ChoiceField(label="Storage", choices=STORAGE_CHOICES, initial="ContainerRegistry",
                                widget=forms.RadioSelect)
    storage_class = forms.ChoiceField(label="Storage class", required=False)
    url = forms.URLField(label="URL", assume_scheme="https", max_length=2048,
                         widget=forms.URLInput(attrs={"list": "sample-images", "placeholder": "https://…"}))

    def __init__(self, *args, storage_class_choices=(), default_storage_class="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_class"].choices = [("", f"Default ({default_storage_class or 'cluster default'})")] + \
            list(storage_class_choices)

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// links can be loaded.")
        return url

    def manifest(self):
        data = self.cleaned_data
        spec = {"storage": data["storage"], "dataSource": {"type": "HTTP", "http": {"url": data["url"]}}}
        if data["storage"] == "PersistentVolumeClaim" and data["storage_class"]:
            spec["persistentVolumeClaim"] = {"storageClassName": data["storage_class"]}
        return {"metadata": {"name": data["name"]}, "spec": spec}


def create_http(request, project):
    project = get_project(request.user, project)
    sc_choices, sc_default = storage_classes(request.user)
    form = HTTPImageForm(request.POST or None, storage_class_choices=sc_choices, default_storage_class=sc_default)
    return create_view(request, project, resource, form, "virtualization/images/create_http.html", FIELD_MAP,
                       samples=sample_images())
