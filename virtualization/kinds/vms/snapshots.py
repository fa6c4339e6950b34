"""The VM's "Snapshots" tab: its VirtualMachineSnapshots, "Create" as the user guide describes it, and per
snapshot Restore (a DryRun first, then Strict or BestEffort), "Create VM from snapshot" and Delete.

Every call is made as the user (kube_for); the API's refusals land on the form or in the messages.
"""
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.htmx import is_partial
from portal.kube import KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from ... import registry
from ...forms import NameField, validate_name
from ...generic import yamls
from ...generic.create import save_or_report
from ...generic.detail import get_object


FIELD_MAP = {"metadata.name": "name", "spec.keepIPAddress": "keep_ip", "spec.requiredConsistency": "consistent"}
KEEP_IP_CHOICES = (
    ("Always", "Always: the VM's automatic IP address becomes static and is saved with the snapshot"),
    ("Never", "Never: the IP address is not saved"),
)
MODES = (
    ("Strict", "Strict: exactly as in the snapshot; missing images or classes leave the VM Pending"),
    ("BestEffort", "BestEffort: references to missing images (VirtualImage, ClusterVirtualImage) are removed"),
)
# What keeps a VM snapshot from being Ready, in words (reasons of the VirtualMachineSnapshotReady condition, §4.11).
REASON_WORDS = {
    "WaitingForTheVirtualMachine": "The VM must be Running or Stopped to be snapshotted.",
    "BlockDevicesNotReady": "The VM's disks are not ready (for example a disk is being resized).",
    "PotentiallyInconsistent": "The VM runs without a guest agent, so its file systems cannot be frozen: install and "
                               "start qemu-guest-agent, stop the VM, or take the snapshot without the consistency "
                               "guarantee.",
    "VirtualDiskSnapshotLost": "A disk snapshot of this VM snapshot was deleted: it can no longer be used.",
    "FileSystemFreezing": "The guest's file systems are being frozen.",
    "FileSystemUnfreezing": "The guest's file systems are being thawed.",
    "Snapshotting": "The disks are being snapshotted.",
    "VirtualMachineSnapshotFailed": "The snapshot failed; the message says why. Delete it and take a new one.",
}


def tab_url(project, name):
    return reverse("virtualization:detail-tab", args=[project, "vms", name, "snapshots"])


def snapshots_of(user, project, vm_name):
    """The VM's snapshots, newest first."""
    items = [s for s in kube_for(user).list(kinds.VM_SNAPSHOT, project)
             if (s.get("spec") or {}).get("virtualMachineName") == vm_name]
    return sorted(items, key=lambda s: s["metadata"].get("creationTimestamp", ""), reverse=True)


def not_ready_notes(snapshot):
    """[(condition type, reason, message, words)] of the conditions that hold a snapshot back (not when Ready)."""
    status = snapshot.get("status") or {}
    if status.get("phase") == "Ready":
        return []
    notes = []
    for c in status.get("conditions") or []:
        if c.get("status") != "True":
            notes.append({"type": c.get("type"), "reason": c.get("reason", ""), "message": c.get("message", ""),
                          "words": REASON_WORDS.get(c.get("reason") or "", "")})
    return notes


def permissions(user, project):
    """(allowed, why not) of what the tab offers, from the user's own RBAC."""
    def need(verb, kind):
        return "" if can(user, verb, kind, project) else \
            f"You may not do this here (needs {verb} on {kind.plural})."
    return {"create": need("create", kinds.VM_SNAPSHOT), "delete": need("delete", kinds.VM_SNAPSHOT),
            "restore": need("create", kinds.VMOP), "create_vm": need("create", kinds.VMSOP)}


# ---- Create ----------------------------------------------------------------------------------------------------

class SnapshotForm(forms.Form):
    name = NameField(label="Snapshot name")
    keep_ip = forms.ChoiceField(label="IP address conversion policy", choices=KEEP_IP_CHOICES, initial="Always",
                                widget=forms.Select)
    consistent = forms.BooleanField(
        label="Consistency Guarantee", required=False, initial=True,
        widget=forms.CheckboxInput(attrs={"role": "switch"}),
        help_text="A running VM is then snapshotted only if the guest agent can freeze its file systems; "
                  "otherwise the snapshot waits until the agent is ready or the VM stops.")

    def manifest(self, vm_name):
        data = self.cleaned_data
        return {"metadata": {"name": data["name"]},
                "spec": {"virtualMachineName": vm_name, "requiredConsistency": bool(data["consistent"]),
                         "keepIPAddress": data["keep_ip"]}}


def _snapshot(request, project, vm_name, name):
    try:
        snapshot = kube_for(request.user).get(kinds.VM_SNAPSHOT, name, project.name)
    except NotFound:
        raise Http404(f"No VM snapshot named {name}")
    if (snapshot.get("spec") or {}).get("virtualMachineName") != vm_name:
        raise Http404(f"{name} is not a snapshot of {vm_name}")
    return snapshot


def _page(request, project, vm_name, template, status=200, **context):
    return render(request, f"virtualization/vms/{template}", {
        "project": project, "resource": registry.get("vms"), "name": vm_name,
        "tab_url": tab_url(project.name, vm_name), **context}, status=status)


@require_http_methods(["GET", "POST"])
def create(request, project, name):
    """The guide's "Create" of the Snapshots tab: name, IP address conversion policy, Consistency Guarantee."""
    project = get_project(request.user, project)
    get_object(request.user, project, registry.get("vms"), name)
    form = SnapshotForm(request.POST or None, initial={"name": f"{name[:50]}-snapshot"})
    yaml_preview = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("preview"):
            yaml_preview = yamls.preview([yamls.document(kinds.VM_SNAPSHOT, form.manifest(name), project.name)])
        else:
            created = save_or_report(form, lambda: kube_for(request.user).create(
                kinds.VM_SNAPSHOT, form.manifest(name), project.name), FIELD_MAP, "VM snapshot")
            if created:
                messages.success(request, f"The snapshot {created['metadata']['name']} of {name} is being taken.")
                return redirect(tab_url(project.name, name))
    return _page(request, project, name, "snapshot_create.html", status=422 if form.errors else 200,
                 form=form, yaml_preview=yaml_preview, cancel_url=tab_url(project.name, name),
                 can_create=can(request.user, "create", kinds.VM_SNAPSHOT, project.name))


# ---- Delete ----------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def delete(request, project, name, snapshot_name):
    project = get_project(request.user, project)
    snapshot = _snapshot(request, project, name, snapshot_name)
    if request.method == "POST":
        try:
            kube_for(request.user).delete(kinds.VM_SNAPSHOT, snapshot_name, project.name)
            messages.success(request, f"The snapshot {snapshot_name} is being deleted.")
        except NotFound:
            messages.info(request, f"The snapshot {snapshot_name} is already gone.")
        except KubeError as exc:
            messages.error(request, f"Deleting the snapshot {snapshot_name} was refused: {exc.message}")
        return redirect(tab_url(project.name, name))
    return _page(request, project, name, "snapshot_delete.html", snapshot=snapshot,
                 why=permissions(request.user, project.name)["delete"])


# ---- Restore ---------------------------------------------------------------------------------------------------

def _finished(op):
    return ((op or {}).get("status") or {}).get("phase") in ("Completed", "Failed", "Superseded")


def _completed_message(op):
    return next((c.get("message") or c.get("reason") or "" for c in (op.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Completed"), "")


def _restore_operation(kube, project, vm_name, snapshot_name, mode):
    return kube.create(kinds.VMOP, {"metadata": {"generateName": f"{vm_name[:40]}-restore-"}, "spec": {
        "type": "Restore", "virtualMachineName": vm_name,
        "restore": {"mode": mode, "virtualMachineSnapshotName": snapshot_name}}}, project)


@require_POST
def dry_run(request, project, name, snapshot_name):
    """A DryRun Restore; its page then follows it (polling) and shows the conflicts it finds."""
    project = get_project(request.user, project)
    _snapshot(request, project, name, snapshot_name)
    try:
        op = _restore_operation(kube_for(request.user), project.name, name, snapshot_name, "DryRun")
    except KubeError as exc:
        messages.error(request, f"The dry run of the restore was refused: {exc.message}")
        return redirect(tab_url(project.name, name))
    return redirect(reverse("virtualization:vm-snapshot-restore", args=[project.name, name, snapshot_name])
                    + f"?dry_run={op['metadata']['name']}")


@require_http_methods(["GET", "POST"])
def restore(request, project, name, snapshot_name):
    """GET: the restore page (?dry_run=<operation>: that dry run's conflicts, from status.resources, and the choice
    of Strict or BestEffort); POST: the restore in the chosen mode."""
    project = get_project(request.user, project)
    snapshot = _snapshot(request, project, name, snapshot_name)
    kube = kube_for(request.user)
    if request.method == "POST":
        return _request_restore(request, kube, project, name, snapshot_name)
    dry_run = _dry_run(kube, project, name, snapshot_name, request.GET.get("dry_run", ""))
    resources = ((dry_run or {}).get("status") or {}).get("resources") or []
    context = {
        "snapshot": snapshot, "snapshot_name": snapshot_name, "modes": MODES,
        "why": permissions(request.user, project.name)["restore"],
        "dry_run": dry_run, "dry_run_done": _finished(dry_run), "resources": resources,
        "conflicts": [r for r in resources if r.get("status") == "Failed"],
        "dry_run_failed": ((dry_run or {}).get("status") or {}).get("phase") == "Failed",
        "dry_run_message": _completed_message(dry_run) if dry_run else "",
    }
    template = "snapshot_restore.html#dry-run" if is_partial(request) and request.GET.get("fragment") else \
        "snapshot_restore.html"
    return _page(request, project, name, template, **context)


def _request_restore(request, kube, project, name, snapshot_name):
    mode = request.POST.get("mode")
    if mode not in dict(MODES):
        messages.error(request, "Choose Strict or BestEffort.")
        return redirect(reverse("virtualization:vm-snapshot-restore", args=[project.name, name, snapshot_name]))
    try:
        op = _restore_operation(kube, project.name, name, snapshot_name, mode)
    except KubeError as exc:
        messages.error(request, f"Restoring {name} from {snapshot_name} was refused: {exc.message}")
        return redirect(tab_url(project.name, name))
    messages.success(request, f"Restore of {name} from the snapshot {snapshot_name} requested ({mode}, operation "
                              f"{op['metadata']['name']}); its progress shows under Operations.")
    return redirect(tab_url(project.name, name))


def _dry_run(kube, project, name, snapshot_name, operation_name):
    """The named DryRun operation, if it exists and restores this VM from this snapshot; else None."""
    if not operation_name:
        return None
    try:
        op = kube.get(kinds.VMOP, operation_name, project.name)
    except NotFound:
        return None
    wanted = op["spec"].get("restore") or {}
    if wanted.get("virtualMachineSnapshotName") != snapshot_name or op["spec"].get("virtualMachineName") != name:
        return None
    return op


# ---- Create VM from snapshot (VirtualMachineSnapshotOperation CreateVirtualMachine, §4.12) ------------------------

def validate_affix(value):
    """A name prefix or suffix: 1–59 characters (the CRD's CEL) that keep names valid."""
    if len(value) > 59:
        raise forms.ValidationError("At most 59 characters.")
    validate_name(f"a{value}a")


class NewNamesForm(forms.Form):
    """customization.namePrefix / nameSuffix and the mode of a Clone or a CreateVirtualMachine."""
    name_prefix = forms.CharField(label="Name prefix", required=False, max_length=59, validators=[validate_affix],
                                  help_text="Put before the names of the new VM, its disks and its Secret.")
    name_suffix = forms.CharField(label="Name suffix", required=False, max_length=59, validators=[validate_affix],
                                  help_text="Put after those names, e.g. -clone.")
    mode = forms.ChoiceField(label="Mode", initial="Strict", choices=(
        ("Strict", "Strict"), ("BestEffort", "BestEffort (drop references to missing images)"),
        ("DryRun", "DryRun (only check for conflicts)")),
        help_text="Strict keeps references to missing images (the new VM then waits in Pending); DryRun creates "
                  "nothing and lists the conflicts under the operation.")

    def __init__(self, *args, source_name="", **kwargs):
        super().__init__(*args, **kwargs)
        self.source_name = source_name

    def clean(self):
        data = super().clean()
        prefix, suffix = data.get("name_prefix") or "", data.get("name_suffix") or ""
        if not prefix and not suffix and not self.errors:
            self.add_error("name_suffix", "Give a prefix or a suffix: the new resources need names of their own.")
        elif self.source_name and not self.errors and len(prefix + self.source_name + suffix) > 63:
            self.add_error("name_suffix", f"The new VM's name {prefix}{self.source_name}{suffix} would be longer "
                                          "than 63 characters.")
        return data

    def spec(self):
        data = self.cleaned_data
        customization = {k: v for k, v in (("namePrefix", data.get("name_prefix")),
                                           ("nameSuffix", data.get("name_suffix"))) if v}
        return {"mode": data["mode"], "customization": customization}

    def new_name(self):
        return f"{self.cleaned_data.get('name_prefix') or ''}{self.source_name}" \
               f"{self.cleaned_data.get('name_suffix') or ''}"


@require_http_methods(["GET", "POST"])
def create_vm(request, project, name, snapshot_name):
    project = get_project(request.user, project)
    snapshot = _snapshot(request, project, name, snapshot_name)
    initial = {k: request.GET[k] for k in FORM_KEYS if request.GET.get(k)} or {"name_suffix": "-from-snapshot"}
    form = NewNamesForm(request.POST or None, source_name=name, initial=initial)
    why = permissions(request.user, project.name)["create_vm"]
    if request.method == "POST" and form.is_valid():
        body = {"metadata": {"generateName": f"{snapshot_name[:40]}-create-vm-"}, "spec": {
            "type": "CreateVirtualMachine", "virtualMachineSnapshotName": snapshot_name,
            "createVirtualMachine": form.spec()}}
        created = save_or_report(form, lambda: kube_for(request.user).create(kinds.VMSOP, body, project.name),
                                 {"spec.createVirtualMachine.customization": "name_suffix",
                                  "spec.createVirtualMachine.mode": "mode"}, "operation")
        if created:
            op_name = created["metadata"]["name"]
            if form.cleaned_data["mode"] == "DryRun":  # its page follows the check and lists the conflicts
                return redirect(url_with_query(reverse("virtualization:vm-snapshot-create-vm",
                                                       args=[project.name, name, snapshot_name]),
                                               operation=op_name, **{k: request.POST.get(k, "") for k in FORM_KEYS}))
            messages.success(request, f"The virtual machine {form.new_name()} is being created from the snapshot "
                                      f"{snapshot_name} (operation {op_name}; its progress shows on the snapshot's "
                                      f"Create VM page).")
            return redirect(tab_url(project.name, name))
    op = _operation_of(request, project, snapshot_name) if request.method == "GET" else None
    context = {"snapshot": snapshot, "snapshot_name": snapshot_name, "form": form, "why": why, "op": op,
               "op_message": _completed_message(op) if op else "", "op_done": _finished(op)}
    if is_partial(request) and request.GET.get("fragment"):
        return _page(request, project, name, "snapshot_create_vm.html#operation-result", **context)
    return _page(request, project, name, "snapshot_create_vm.html", status=422 if form.errors else 200, **context)


FORM_KEYS = ("name_prefix", "name_suffix", "mode")


def url_with_query(url, **params):
    return f"{url}?{urlencode({k: v for k, v in params.items() if v})}"


def _operation_of(request, project, snapshot_name):
    """The CreateVirtualMachine operation named in ?operation=, if it is one of this snapshot's."""
    name = request.GET.get("operation", "")
    if not name:
        return None
    try:
        op = kube_for(request.user).get(kinds.VMSOP, name, project.name)
    except NotFound:
        return None
    return op if (op.get("spec") or {}).get("virtualMachineSnapshotName") == snapshot_name else None
