"""Disk Snapshots (VirtualDiskSnapshot): list, detail and "Create Disk Snapshot"."""
from django import forms

from portal.kube import kinds
from projects.access import get_project, kube_for

from .. import registry
from ..downloads import download_context, download_routes
from ..forms import NameField
from ..registry import CreateChoice, Resource, register
from ..generic.create import create_view

FIELD_MAP = {"metadata.name": "name", "spec.virtualDiskName": "disk", "spec.requiredConsistency": "consistent"}

class DiskSnapshotForm(forms.Form):
    name = NameField(label="Disk Snapshot Name")
    disk = forms.ChoiceField(label="Disk Name")
    consistent = forms.BooleanField(
        label="Consistency Guarantee", required=False, initial=True,
        widget=forms.CheckboxInput(attrs={"role": "switch"}),
        help_text="A disk of a running VM is then snapshotted only if the guest agent can freeze its file systems; "
                  "otherwise the snapshot waits until the agent is ready or the VM stops.")

    def __init__(self, *args, user=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        disks = kube_for(user).list(kinds.DISK, project)
        self.fields["disk"].choices = [("", "— choose a disk —")] + [
            (d["metadata"]["name"], f"{d['metadata']['name']} ({(d.get('status') or {}).get('phase') or 'Pending'})")
            for d in sorted(disks, key=lambda d: d["metadata"]["name"])]

    def manifest(self):
        data = self.cleaned_data
        return {"metadata": {"name": data["name"]},
                "spec": {"virtualDiskName": data["disk"], "requiredConsistency": bool(data["consistent"])}}


def create(request, project):
    project = get_project(request.user, project)
    form = DiskSnapshotForm(request.POST or None, user=request.user, project=project.name,
                            initial={"disk": request.GET.get("disk", "")})
    return create_view(request, project, resource, form, "virtualization/disk-snapshots/create.html", FIELD_MAP)


def detail_context(user, project, snapshot):
    return download_context(user, project, snapshot, registry.get("disk-snapshots"))


resource = register(Resource(
    slug="disk-snapshots", kind=kinds.DISK_SNAPSHOT, title="Disk Snapshots", noun="disk snapshot",
    create_label="Create Disk Snapshot",
    create=(CreateChoice("Create Disk Snapshot", "", create, "disk-snapshot-create"),),
    routes=download_routes("disk-snapshots"),
    detail_context=detail_context, nav_order=40,
))
