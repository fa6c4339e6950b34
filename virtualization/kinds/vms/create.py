"""Create of a virtual machine as the user guide describes it: the VM form, its Boot Disks (existing or new
disks), the provisioning Secret for cloud-init holding passwords or too large to go inline, and the YAML preview."""
import base64
import json
import re

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from portal.kube import AlreadyExists, KubeError, NotFound, kinds
from projects.access import get_project, kube_for

from ... import registry, sizing
from ...forms import NameField, SizeField, apply_api_error
from ...generic import yamls
from .. import disks as disk_kind
from .spec_form import OS_TYPES, RUN_POLICIES, USERDATA_LIMIT

DEFAULT_CLASS_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"

FIELD_MAP = {
    "metadata.name": "name",
    "spec.virtualMachineClassName": "vm_class",
    "spec.cpu.cores": "cores",
    "spec.cpu.coreFraction": "core_fraction",
    "spec.cpu": "cores",
    "spec.memory": "memory",
    "spec.blockDeviceRefs": "boot_disks",
    "spec.provisioning": "cloud_init",
    "spec.runPolicy": "run_policy",
    "spec.osType": "os_type",
}
CLOUD_INIT_SECRET_TYPE = "provisioning.virtualization.deckhouse.io/cloud-init"
SYSPREP_SECRET_TYPE = "provisioning.virtualization.deckhouse.io/sysprep"
# cloud-init keys that carry a password (plain or hashed): such data is kept in a Secret, not in the VM spec.
PASSWORD_KEYS = re.compile(r"^\s*-?\s*(passwd|password|plain_text_passwd|hashed_passwd|chpasswd)\s*:", re.MULTILINE)


def vm_classes(user):
    """(choices, default class name, {name: ClassRules}) of the cluster's VM classes, read as the user."""
    try:
        items = kube_for(user).list(kinds.VM_CLASS)
    except KubeError:
        return [], "", {}
    choices, default, rules = [], "", {}
    for vmclass in sorted(items, key=lambda c: c["metadata"]["name"]):
        name = vmclass["metadata"]["name"]
        if (vmclass["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            default = name
        choices.append((name, name))
        rules[name] = sizing.ClassRules(vmclass)
    return choices, default, rules


def _base64(text):
    return base64.b64encode(text.encode()).decode()


def needs_secret(user_data):
    return len(user_data.encode()) > USERDATA_LIMIT or bool(PASSWORD_KEYS.search(user_data))


class VMForm(forms.Form):
    name = NameField(label="Name")
    vm_class = forms.ChoiceField(label="VM class", required=False)
    cores = forms.IntegerField(label="Cores", min_value=1, max_value=sizing.MAX_CORES, initial=1)
    core_fraction = forms.ChoiceField(label="CPU Share", required=False)
    memory = SizeField(label="Size", initial="1Gi", help_text="Memory, e.g. 1Gi or 512Mi.")
    boot_disks = forms.CharField(required=False, widget=forms.HiddenInput)  # errors about the list land here
    run_policy = forms.ChoiceField(label="Startup Policy", choices=RUN_POLICIES, initial=RUN_POLICIES[0][0],
                                   required=False)
    auto_apply = forms.BooleanField(label="Auto-apply changes", required=False,
                                    help_text="Restart the VM by itself when a change needs a restart.")
    os_type = forms.ChoiceField(label="OS type", choices=OS_TYPES, initial="Generic", required=False)
    cloud_init_enabled = forms.BooleanField(label="Cloud-init", required=False)
    cloud_init = forms.CharField(label="Cloud-init", required=False, strip=False,
                                 widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false",
                                                              "placeholder": "#cloud-config"}))
    sysprep = forms.CharField(label="Sysprep (unattend.xml)", required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false",
                                                           "placeholder": "<?xml version=\"1.0\"?>"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        class_choices, default_class, self.class_rules = vm_classes(user)
        self.fields["vm_class"].choices = class_choices or [("", "Cluster default")]
        self.fields["vm_class"].initial = default_class
        chosen = (self.data.get("vm_class") if self.is_bound else None) or default_class
        self.rules = self.class_rules.get(chosen) or sizing.ClassRules(None)
        # Only the core counts the class and the CPU topology allow are offered.
        self.fields["cores"].widget = forms.Select(choices=[(n, n) for n in self.rules.valid_cores()])
        fractions = self.rules.core_fractions() or ["5%", "10%", "20%", "50%", "100%"]
        self.fields["core_fraction"].choices = [("", "Class default")] + [(f, f) for f in fractions]
        if self.rules.policies:
            self.fields["memory"].help_text = "Sizing policy of the class: " + \
                " · ".join(p.describe() for p in self.rules.policies)

    def sizing_hints(self):
        """The class's policies for the page's script: CPU shares and memory offered for the chosen cores."""
        return [{"min": p.min_cores, "max": p.max_cores, "fractions": p.core_fractions, "text": p.describe()}
                for p in self.rules.policies]

    def clean(self):
        data = super().clean()
        if data.get("vm_class") and data["vm_class"] in self.class_rules:
            self.rules = self.class_rules[data["vm_class"]]
        if data.get("cores") and data.get("memory"):
            for field, message in self.rules.errors(data["cores"], data["memory"], data.get("core_fraction")).items():
                self.add_error(field, message)
        if data.get("cloud_init_enabled"):
            text = data.get("cloud_init") or ""
            if not text.strip():
                self.add_error("cloud_init", "Enter the cloud-init data, or switch Cloud-init off.")
            elif data.get("os_type") == "Legacy":
                self.add_error("cloud_init", "A Legacy OS has no cloud-init: switch Cloud-init off.")
        if data.get("sysprep", "").strip() and data.get("os_type") != "Windows":
            self.add_error("sysprep", "Sysprep is for Windows: choose the Windows OS type or leave it empty.")
        if data.get("cloud_init_enabled") and data.get("sysprep", "").strip():
            self.add_error("sysprep", "A VM has either cloud-init or Sysprep, not both.")
        return data

    def user_data(self):
        return self.cleaned_data["cloud_init"].replace("\r\n", "\n") if self.cleaned_data.get("cloud_init_enabled") \
            else ""

    def secret_manifest(self):
        """The Secret the provisioning data goes into (large or password-holding cloud-init, Sysprep), or None."""
        name = self.cleaned_data["name"]
        user_data = self.user_data()
        if user_data and needs_secret(user_data):
            return {"metadata": {"name": f"{name}-cloud-init"}, "type": CLOUD_INIT_SECRET_TYPE,
                    "data": {"userData": _base64(user_data)}}
        sysprep = self.cleaned_data.get("sysprep", "").replace("\r\n", "\n")
        if sysprep.strip():
            return {"metadata": {"name": f"{name}-sysprep"}, "type": SYSPREP_SECRET_TYPE,
                    "data": {"unattend.xml": _base64(sysprep)}}
        return None

    def manifest(self, boot_disk_names):
        data = self.cleaned_data
        spec = {
            "runPolicy": data.get("run_policy") or RUN_POLICIES[0][0],
            "osType": data.get("os_type") or "Generic",
            "cpu": {"cores": data["cores"]},
            "memory": {"size": data["memory"]},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": n} for n in boot_disk_names],
        }
        if data.get("auto_apply"):
            spec["disruptions"] = {"restartApprovalMode": "Automatic"}
        if data.get("vm_class"):
            spec["virtualMachineClassName"] = data["vm_class"]
        if data.get("core_fraction"):
            spec["cpu"]["coreFraction"] = data["core_fraction"]
        secret = self.secret_manifest()
        if secret and secret["type"] == CLOUD_INIT_SECRET_TYPE:
            spec["provisioning"] = {"type": "UserDataRef",
                                    "userDataRef": {"kind": "Secret", "name": secret["metadata"]["name"]}}
        elif secret:
            spec["provisioning"] = {"type": "SysprepRef",
                                    "sysprepRef": {"kind": "Secret", "name": secret["metadata"]["name"]}}
        elif self.user_data():
            spec["provisioning"] = {"type": "UserData", "userData": self.user_data()}
        return {"metadata": {"name": data["name"]}, "spec": spec}


class BootDisk:
    """One entry of "Boot Disks": an existing disk, or a new one created with the VM."""

    def __init__(self, raw):
        self.raw = raw
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("mode") not in ("existing", "new") or not data.get("name"):
            raise ValueError(raw)
        self.mode = data["mode"]
        self.name = data["name"]
        self.manifest = data.get("manifest")
        self.label = data.get("label") or self.name

    @classmethod
    def existing(cls, name):
        return cls(json.dumps({"mode": "existing", "name": name, "label": name}))

    @classmethod
    def new(cls, manifest, label):
        return cls(json.dumps({"mode": "new", "name": manifest["metadata"]["name"], "manifest": manifest,
                               "label": label}))


def _posted_boot_disks(request):
    disks = []
    for raw in request.POST.getlist("boot_disk"):
        try:
            disks.append(BootDisk(raw))
        except ValueError:
            continue
    return disks


def _attachable_disks(user, project):
    return [d for d in kube_for(user).list(kinds.DISK, project)
            if not any(a.get("name") for a in (d.get("status") or {}).get("attachedToVirtualMachines") or [])]


def _create_vm(request, project, form, boot_disks):
    """Create the provisioning Secret and the new boot disks, then the VM, all as the user.

    If anything is refused, what was made for the VM is removed again; the Secret is then owned by
    the VM, so it goes when the VM is deleted.
    """
    kube = kube_for(request.user)
    made = []  # (kind, name) created for this VM, undone if the VM is refused
    secret = form.secret_manifest()
    try:
        if secret:
            if not _create_secret(kube, project, form, secret):
                return None
            made.append((kinds.SECRET, secret["metadata"]["name"]))
        for disk in boot_disks:
            if disk.mode == "new":
                kube.create(kinds.DISK, disk.manifest, project.name)
                made.append((kinds.DISK, disk.name))
        vm = kube.create(kinds.VM, form.manifest([d.name for d in boot_disks]), project.name)
    except KubeError as exc:
        _remove(kube, project, made)
        if not apply_api_error(form, exc, FIELD_MAP, "virtual machine"):
            form.add_error(None, exc.message)
        return None
    if secret:
        _give_secret_to_vm(request, kube, project, secret, vm)
    return vm


def _create_secret(kube, project, form, secret):
    """Create the provisioning Secret; False (with the message on the form's field) if its name is taken."""
    try:
        kube.create(kinds.SECRET, secret, project.name)
    except AlreadyExists:
        field = "cloud_init" if secret["type"] == CLOUD_INIT_SECRET_TYPE else "sysprep"
        form.add_error(field, f"A Secret named {secret['metadata']['name']} already exists in the project; "
                              "it would hold this data. Rename the VM or remove that Secret.")
        return False
    return True


def _remove(kube, project, made):
    for kind, name in made:
        try:
            kube.delete(kind, name, project.name)
        except KubeError:
            pass


def _give_secret_to_vm(request, kube, project, secret, vm):
    """Make the VM the Secret's owner, so the Secret is deleted with it; a warning if that is refused."""
    owner = {"apiVersion": kinds.VM.api_version, "kind": kinds.VM.kind, "name": vm["metadata"]["name"],
             "uid": vm["metadata"]["uid"]}
    try:
        kube.patch(kinds.SECRET, secret["metadata"]["name"], {"metadata": {"ownerReferences": [owner]}}, project.name)
    except KubeError as exc:
        messages.warning(request, f"The Secret {secret['metadata']['name']} could not be tied to the VM "
                                  f"({exc.message}); delete it yourself when you delete the VM.")


def create(request, project):
    project = get_project(request.user, project)
    form = VMForm(request.POST or None, user=request.user)
    boot_disks = _posted_boot_disks(request) if request.method == "POST" else []
    yaml_preview = None
    if request.method == "POST" and form.is_valid():
        if not boot_disks:
            form.add_error("boot_disks", "Add at least one boot disk.")
        elif len({d.name for d in boot_disks}) != len(boot_disks):
            form.add_error("boot_disks", "The same disk is listed twice.")
        elif request.POST.get("preview"):
            documents = [yamls.document(kinds.DISK, d.manifest, project.name) for d in boot_disks if d.mode == "new"]
            secret = form.secret_manifest()
            if secret:  # the preview never shows secret data
                documents.insert(0, yamls.document(kinds.SECRET, {**secret, "data": {
                    key: "<hidden>" for key in secret["data"]}}, project.name))
            documents.append(yamls.document(kinds.VM, form.manifest([d.name for d in boot_disks]), project.name))
            yaml_preview = yamls.preview(documents)
        else:
            created = _create_vm(request, project, form, boot_disks)
            if created:
                return redirect(reverse("virtualization:detail", args=[project.name, "vms", created["metadata"]["name"]]))
    return render(request, "virtualization/vms/create.html", {
        "yaml_preview": yaml_preview,
        "project": project, "resource": registry.get("vms"), "form": form, "boot_disks": boot_disks,
        "existing_disks": _attachable_disks(request.user, project.name), "userdata_limit": USERDATA_LIMIT,
        "disk_form": disk_kind.BootDiskForm(user=request.user, project=project.name, prefix="new"),
    }, status=422 if form.errors else 200)


@require_POST
def boot_disk(request, project):
    """The "Add" dialog of Boot Disks: returns a row for the list, or the dialog with its errors."""
    project = get_project(request.user, project)
    disk_form = disk_kind.BootDiskForm(request.POST if request.POST.get("mode") == "new" else None,
                                       user=request.user, project=project.name, prefix="new")
    context = {"project": project, "disk_form": disk_form,
               "existing_disks": _attachable_disks(request.user, project.name)}
    if request.POST.get("mode") == "existing":
        name = request.POST.get("existing", "")
        if not name:
            context["existing_error"] = "Choose a disk from the list."
        else:
            return render(request, "virtualization/vms/create.html#boot-disk-row",
                          {"disk": BootDisk.existing(name)})
    elif disk_form.is_valid():
        name = disk_form.cleaned_data["name"]
        try:
            kube_for(request.user).get(kinds.DISK, name, project.name)
            disk_form.add_error("name", "A disk with this name already exists in the project.")
        except NotFound:
            manifest = disk_form.manifest()
            source = disk_form.cleaned_data["source"]
            image = disk_form.cleaned_data.get("project_image") or disk_form.cleaned_data.get("cluster_image")
            label = f"{name} (new, from {image})" if source != "blank" else f"{name} (new, empty)"
            return render(request, "virtualization/vms/create.html#boot-disk-row",
                          {"disk": BootDisk.new(manifest, label)})
    response = render(request, "virtualization/vms/create.html#boot-disk-dialog-body", context)
    return reswap(retarget(response, "#boot-disk-dialog-body"), "innerHTML")

