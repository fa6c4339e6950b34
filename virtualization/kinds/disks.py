"""VM Disks (VirtualDisk): list, detail, "Create Disk" (blank, from an image or a snapshot), resize, storage class."""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.htmx import is_partial
from portal.kube import KubeError, kinds, quantity
from projects.access import can, get_project, kube_for

from django_htmx.http import HttpResponseClientRedirect

from .. import registry
from ..downloads import download_context, download_routes
from ..forms import NameField, SizeField, apply_api_error
from ..generic.create import create_view, image_choice_label, images_for_disks, storage_classes, upload_context
from ..generic.detail import TabState, get_object
from ..registry import Action, Column, CreateChoice, Resource, Route, Tab, register


SOURCE_CHOICES = [("project", "Project"), ("cluster", "Cluster"), ("snapshot", "Snapshots"), ("blank", "Empty disk"),
                  ("upload", "Upload from computer")]
FIELD_MAP = {
    "metadata.name": "name",
    "spec.dataSource": "source",
    "spec.persistentVolumeClaim.size": "size",
    "spec.persistentVolumeClaim.storageClassName": "storage_class",
}
WFFC_HELP = ("A storage class with volumeBindingMode WaitForFirstConsumer creates the volume only when a VM using "
             "the disk is scheduled: the disk stays in WaitForFirstConsumer until then, and can be chosen for a VM.")


def _unpacked_bytes(obj):
    if obj.get("kind") == "VirtualDiskSnapshot":
        return None
    return int(((obj.get("status") or {}).get("size") or {}).get("unpackedBytes") or 0) or None


class DiskForm(forms.Form):
    """The fields of "Create Disk"; the VM form's "Create new disk" uses the same ones."""

    name = NameField(label="Disk Name")
    source = forms.ChoiceField(label="Source", choices=SOURCE_CHOICES, initial="project", widget=forms.RadioSelect)
    project_image = forms.ChoiceField(label="Project image", required=False)
    cluster_image = forms.ChoiceField(label="Cluster image", required=False)
    snapshot = forms.ChoiceField(label="Disk snapshot", required=False)
    size = SizeField(label="Size", required=False,
                     help_text="With its unit, e.g. 100Mi or 10Gi. From an image: at least its unpacked size "
                               "(leave empty to use exactly that size).",
                     widget=forms.TextInput(attrs={"placeholder": "e.g. 5Gi"}))
    storage_class = forms.ChoiceField(label="StorageClass Name", required=False, help_text=WFFC_HELP)

    def __init__(self, *args, user=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        project_images, cluster_images = images_for_disks(user, project)
        self.images = {("project", i["metadata"]["name"]): i for i in project_images}
        self.images.update({("cluster", i["metadata"]["name"]): i for i in cluster_images})
        # The guide's empty disk is made with the default source (Project) and no image chosen: just a size.
        self.fields["project_image"].choices = [("", "— none: an empty disk —")] + [
            (i["metadata"]["name"], image_choice_label(i)) for i in project_images]
        self.fields["cluster_image"].choices = [("", "— choose an image —")] + [
            (i["metadata"]["name"], image_choice_label(i)) for i in cluster_images]
        snapshots = kube_for(user).list(kinds.DISK_SNAPSHOT, project) if can(user, "list", kinds.DISK_SNAPSHOT, project) else []
        self.fields["snapshot"].choices = [("", "— choose a snapshot —")] + [
            (s["metadata"]["name"], f"{s['metadata']['name']} (of {(s.get('spec') or {}).get('virtualDiskName')}, "
                                    f"{(s.get('status') or {}).get('phase') or 'Pending'})") for s in snapshots]
        sc_choices, sc_default = storage_classes(user)
        self.fields["storage_class"].choices = [("", f"Default ({sc_default or 'cluster default'})")] + sc_choices

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == "project" and not data.get("project_image") and not data.get("size") \
                and not self.has_error("size"):
            self.add_error("project_image", "Choose the project image to copy onto the disk, or give a Size "
                                            "for an empty disk.")
        if source == "cluster" and not data.get("cluster_image"):
            self.add_error("cluster_image", "Choose the cluster image to copy onto the disk.")
        if source == "snapshot" and not data.get("snapshot"):
            self.add_error("snapshot", "Choose the disk snapshot to restore onto the disk.")
        if source == "blank" and not data.get("size"):
            self.add_error("size", "An empty disk needs a size.")
        if source in ("project", "cluster") and data.get("size"):
            image = self.images.get((source, data.get(f"{source}_image")))
            unpacked = _unpacked_bytes(image) if image else None
            wanted = quantity.to_bytes(data["size"])
            if unpacked and wanted is not None and wanted < unpacked:
                size = (image.get("status") or {}).get("size") or {}
                self.add_error("size", f"The disk must be at least as large as the unpacked image: "
                                       f"{size.get('unpacked')} ({unpacked} bytes). Leave the size empty to use it.")
        return data

    def manifest(self):
        data = self.cleaned_data
        spec = {}
        refs = {"project": ("VirtualImage", "project_image"), "cluster": ("ClusterVirtualImage", "cluster_image"),
                "snapshot": ("VirtualDiskSnapshot", "snapshot")}
        if data["source"] in refs and data.get(refs[data["source"]][1]):
            kind, field = refs[data["source"]]
            spec["dataSource"] = {"type": "ObjectRef", "objectRef": {"kind": kind, "name": data[field]}}
        if data["source"] == "upload":
            spec["dataSource"] = {"type": "Upload"}
        pvc = {}
        if data.get("size"):
            pvc["size"] = data["size"]
        if data.get("storage_class"):
            pvc["storageClassName"] = data["storage_class"]
        if pvc:
            spec["persistentVolumeClaim"] = pvc
        return {"metadata": {"name": data["name"]}, "spec": spec}


class BootDiskForm(DiskForm):
    """The VM form's "Create new disk": the same fields; the guide's quick start calls the storage class
    "Storage Class" there."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_class"].label = "Storage Class"


def create(request, project):
    project = get_project(request.user, project)
    form = DiskForm(request.POST or None, user=request.user, project=project.name)
    return create_view(request, project, registry.get("disks"), form, "virtualization/disks/create.html", FIELD_MAP)


# ---- changes to an existing disk: size (grow only) and storage class -------------------------------


class ResizeForm(forms.Form):
    size = SizeField(label="Size", widget=forms.TextInput(attrs={"placeholder": "e.g. 20Gi"}))

    def __init__(self, *args, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current

    def clean_size(self):
        size = self.cleaned_data["size"]
        if self.current and quantity.to_bytes(size) <= quantity.to_bytes(self.current):
            raise forms.ValidationError(f"Disks can only grow: give more than the current {self.current}.")
        return size


class StorageClassForm(forms.Form):
    storage_class = forms.ChoiceField(label="New StorageClass")

    def __init__(self, *args, user=None, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices, _ = storage_classes(user)
        self.fields["storage_class"].choices = [(name, label) for name, label in choices if name != current]


def _current_size(disk):
    return (disk.get("status") or {}).get("capacity") or \
        ((disk.get("spec") or {}).get("persistentVolumeClaim") or {}).get("size")


def _patch_disk(request, project, name, form, field, pvc_patch):
    """Patch spec.persistentVolumeClaim as the user; True on success, else the refusal is on the form."""
    try:
        kube_for(request.user).patch(kinds.DISK, name, {"spec": {"persistentVolumeClaim": pvc_patch}}, project.name)
    except KubeError as exc:
        if not apply_api_error(form, exc, {"spec.persistentVolumeClaim": field}, "disk"):
            form.add_error(field, exc.message)
        return False
    return True


@require_http_methods(["GET", "POST"])
def resize(request, project, name):
    """The pencil of the Capacity column (a dialog on the list) and the Configuration tab's resize form."""
    project = get_project(request.user, project)
    resource = registry.get("disks")
    disk = get_object(request.user, project, resource, name)
    current = _current_size(disk)
    form = ResizeForm(request.POST or None, current=current, initial={"size": current})
    back = request.POST.get("next") or request.GET.get("next") or \
        reverse("virtualization:detail-tab", args=[project.name, resource, name, "configuration"])
    if not back.startswith("/"):
        back = "/"
    if request.method == "POST" and form.is_valid() and \
            _patch_disk(request, project, name, form, "size", {"size": form.cleaned_data["size"]}):
        messages.success(request, f"The disk {name} is being resized to {form.cleaned_data['size']}.")
        return HttpResponseClientRedirect(back) if is_partial(request) else redirect(back)
    template = "virtualization/disks/resize.html" + ("#form" if is_partial(request) else "")
    return render(request, template, {"project": project, "resource": resource, "name": name, "disk": disk,
                                      "form": form, "current": current, "next": back},
                  status=422 if form.errors else 200)


def change_storage_class(request, project, disk):
    name = disk["metadata"]["name"]
    current = (disk.get("status") or {}).get("storageClassName")
    form = StorageClassForm(request.POST, user=request.user, current=current)
    if form.is_valid() and _patch_disk(request, project, name, form, "storage_class",
                                       {"storageClassName": form.cleaned_data["storage_class"]}):
        messages.success(request, f"The disk {name} is moving to the storage class "
                                  f"{form.cleaned_data['storage_class']}.")
        return redirect(reverse("virtualization:detail-tab", args=[project.name, "disks", name, "configuration"]))
    return TabState(form=form)


def configuration_context(user, project, disk, state):
    current_sc = (disk.get("status") or {}).get("storageClassName")
    return {
        "resize_form": ResizeForm(current=_current_size(disk), initial={"size": _current_size(disk)}),
        "sc_form": state.form or StorageClassForm(user=user, current=current_sc),
        "may_change": can(user, "patch", kinds.DISK, project.name, disk["metadata"]["name"]),
    }


def detail_context(user, project, disk):
    resource = registry.get("disks")
    return {**upload_context(user, project, disk, resource), **download_context(user, project, disk, resource)}


resource = register(Resource(
    slug="disks", kind=kinds.DISK, title="VM Disks", noun="disk", create_label="Create Disk",
    create=(CreateChoice("Create Disk", "", create, "disk-create"),),
    tabs=(Tab("configuration", "Configuration", configuration_context,
              actions=(Action("storage-class", change_storage_class),)),),
    # The guide's list has a "Status" column and a pencil in the "Size" column (the API's Phase and Capacity).
    columns=(Column("Phase", show="phase", label="Status"), Column("Progress", show="progress"),
             Column("Capacity", sort="quantity", edit="disk-resize", edit_title="Change disk size", label="Size")),
    routes=(Route("<str:name>/resize/", resize, "disk-resize"),
            *download_routes("disks")),
    detail_context=detail_context, nav_order=30,
))
