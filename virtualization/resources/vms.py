"""Virtual Machines: list, detail with operations and TTY, and "Create" as the user guide describes it."""
import json

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from .. import manifests
from .. import views as generic
from ..forms import NameField, SizeField, apply_api_error
from ..registry import CreateChoice, Resource, register
from . import disks as disk_resource

VM = kinds.get("VirtualMachine")
VMOP = kinds.get("VirtualMachineOperation")
VMCLASS = kinds.get("VirtualMachineClass")
DISK = kinds.get("VirtualDisk")
DEFAULT_CLASS_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"
USERDATA_LIMIT = 2048

# VirtualMachineOperation types and the VM phases in which DVP applies them.
OPERATIONS = {
    "Start": ("Stopped", "Stopping"),
    "Stop": ("Running", "Degraded", "Starting", "Pause", "Pending"),
    "Restart": ("Running", "Degraded", "Starting", "Pause"),
}
CONSOLE_PHASES = ("Running", "Migrating")


def vm_detail_context(request, project, obj):
    name = obj["metadata"]["name"]
    phase = (obj.get("status") or {}).get("phase", "")
    can_operate = can(request.user, "create", VMOP, project.name)
    operations = [{"type": t, "applicable": phase in phases,
                   "why": "" if phase in phases else f"Not applicable while the VM is {phase or 'Pending'}."}
                  for t, phases in OPERATIONS.items()]
    recent = [op for op in kube_for(request.user).list(VMOP, project.name)
              if (op.get("spec") or {}).get("virtualMachineName") == name]
    recent.sort(key=lambda op: op["metadata"].get("creationTimestamp", ""), reverse=True)
    return {
        "operations": operations, "can_operate": can_operate, "recent_operations": recent[:5],
        "console_ready": phase in CONSOLE_PHASES,
        "can_console": can(request.user, "get", None, project.name, name, "console",
                           group=kinds.SUBRESOURCES, resource="virtualmachines"),
    }


resource = register(Resource(
    slug="vms", kind=VM, title="Virtual Machines", noun="virtual machine", create_label="Create",
    detail_template="virtualization/vms/detail.html",
    tabs=(("overview", "Overview"), ("tty", "TTY"), ("yaml", "YAML"), ("events", "Events")),
    create=(CreateChoice("Create", "vm-create"),),
    extra={"detail_context": vm_detail_context},
))

FIELD_MAP = {
    "metadata.name": "name",
    "spec.virtualMachineClassName": "vm_class",
    "spec.cpu.cores": "cores",
    "spec.cpu.coreFraction": "core_fraction",
    "spec.cpu": "cores",
    "spec.memory": "memory",
    "spec.blockDeviceRefs": "boot_disks",
    "spec.provisioning": "cloud_init",
}


def vm_classes(user):
    """(choices, default class name, sizing-policy core fractions) of the cluster's VM classes."""
    try:
        items = kube_for(user).list(VMCLASS)
    except KubeError:
        return [], "", []
    choices, default, fractions = [], "", set()
    for vmclass in sorted(items, key=lambda c: c["metadata"]["name"]):
        name = vmclass["metadata"]["name"]
        if (vmclass["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            default = name
        choices.append((name, name))
        for policy in (vmclass.get("spec") or {}).get("sizingPolicies") or []:
            fractions.update(str(f) if str(f).endswith("%") else f"{f}%" for f in policy.get("coreFractions") or [])
    return choices, default, sorted(fractions, key=lambda f: int(f.rstrip("%")))


class VMForm(forms.Form):
    name = NameField(label="Name")
    vm_class = forms.ChoiceField(label="VM class", required=False)
    cores = forms.IntegerField(label="Cores", min_value=1, max_value=248, initial=1)
    core_fraction = forms.ChoiceField(label="CPU Share", required=False)
    memory = SizeField(label="Size", initial="1Gi", help_text="Memory, e.g. 1Gi or 512Mi.")
    boot_disks = forms.CharField(required=False, widget=forms.HiddenInput)  # errors about the list land here
    cloud_init_enabled = forms.BooleanField(label="Cloud-init", required=False)
    cloud_init = forms.CharField(label="Cloud-init", required=False, strip=False,
                                 widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false",
                                                              "placeholder": "#cloud-config"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        class_choices, default_class, fractions = vm_classes(user)
        self.fields["vm_class"].choices = class_choices or [("", "Cluster default")]
        self.fields["vm_class"].initial = default_class
        self.fields["core_fraction"].choices = [("", "Class default")] + [(f, f) for f in fractions or
                                                                         ["5%", "10%", "20%", "50%", "100%"]]

    def clean(self):
        data = super().clean()
        if data.get("cloud_init_enabled"):
            text = data.get("cloud_init") or ""
            size = len(text.encode())
            if not text.strip():
                self.add_error("cloud_init", "Enter the cloud-init data, or switch Cloud-init off.")
            elif size > USERDATA_LIMIT:
                self.add_error("cloud_init", f"Cloud-init data is {size} bytes; at most {USERDATA_LIMIT} bytes fit "
                                             "inline (use a Secret for larger data).")
        return data

    def manifest(self, boot_disk_names):
        data = self.cleaned_data
        spec = {
            "cpu": {"cores": data["cores"]},
            "memory": {"size": data["memory"]},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": n} for n in boot_disk_names],
        }
        if data.get("vm_class"):
            spec["virtualMachineClassName"] = data["vm_class"]
        if data.get("core_fraction"):
            spec["cpu"]["coreFraction"] = data["core_fraction"]
        if data.get("cloud_init_enabled"):
            spec["provisioning"] = {"type": "UserData", "userData": data["cloud_init"].replace("\r\n", "\n")}
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
    return [d for d in kube_for(user).list(DISK, project)
            if not any(a.get("name") for a in (d.get("status") or {}).get("attachedToVirtualMachines") or [])]


def _create_vm(request, project, form, boot_disks):
    """Create the new boot disks, then the VM; if the VM is refused, remove the disks made for it."""
    kube = kube_for(request.user)
    created_disks = []
    try:
        for disk in boot_disks:
            if disk.mode == "new":
                kube.create(DISK, disk.manifest, project.name)
                created_disks.append(disk.name)
        return kube.create(VM, form.manifest([d.name for d in boot_disks]), project.name)
    except KubeError as exc:
        for name in created_disks:
            try:
                kube.delete(DISK, name, project.name)
            except KubeError:
                pass
        if not apply_api_error(form, exc, FIELD_MAP, "virtual machine"):
            form.add_error(None, exc.message)
        return None


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
            documents = [manifests.document(DISK, d.manifest, project.name) for d in boot_disks if d.mode == "new"]
            documents.append(manifests.document(VM, form.manifest([d.name for d in boot_disks]), project.name))
            yaml_preview = manifests.preview(documents)
        else:
            created = _create_vm(request, project, form, boot_disks)
            if created:
                return redirect(reverse("virtualization:detail", args=[project.name, resource, created["metadata"]["name"]]))
    return render(request, "virtualization/vms/create.html", {
        "yaml_preview": yaml_preview,
        "project": project, "resource": resource, "form": form, "boot_disks": boot_disks,
        "existing_disks": _attachable_disks(request.user, project.name),
        "disk_form": disk_resource.DiskForm(user=request.user, project=project.name, prefix="new"),
    }, status=422 if form.errors else 200)


@require_POST
def boot_disk(request, project):
    """The "Add" dialog of Boot Disks: returns a row for the list, or the dialog with its errors."""
    project = get_project(request.user, project)
    disk_form = disk_resource.DiskForm(request.POST if request.POST.get("mode") == "new" else None,
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
            kube_for(request.user).get(DISK, name, project.name)
            disk_form.add_error("name", "A disk with this name already exists in the project.")
        except NotFound:
            manifest = disk_form.manifest()
            source = disk_form.cleaned_data["source"]
            image = disk_form.cleaned_data.get("project_image") or disk_form.cleaned_data.get("cluster_image")
            label = f"{name} (new, from {image})" if source != "blank" else f"{name} (new, empty)"
            return render(request, "virtualization/vms/create.html#boot-disk-row",
                          {"disk": BootDisk.new(manifest, label)})
    response = render(request, "virtualization/vms/create.html#boot-disk-dialog-body", context)
    response["HX-Retarget"] = "#boot-disk-dialog-body"
    response["HX-Reswap"] = "innerHTML"
    return response


@require_POST
def operation(request, project, name):
    project = get_project(request.user, project)
    op_type = request.POST.get("type")
    if op_type not in OPERATIONS:
        raise Http404("No such operation")
    try:
        kube_for(request.user).create(VMOP, {
            "metadata": {"generateName": f"{name}-"},
            "spec": {"type": op_type, "virtualMachineName": name},
        }, project.name)
        messages.success(request, f"{op_type} requested for {name}.")
    except KubeError as exc:
        messages.error(request, f"{op_type} was refused: {exc.message}")
    if request.htmx:
        obj = generic.get_object(request, project, resource, name)
        context = generic.detail_context(request, project, resource, obj)
        status = render(request, resource.detail_template + "#status", context)
        flash = render(request, "includes/messages.html", {"oob": True})
        status.content += flash.content
        return status
    return redirect(reverse("virtualization:detail", args=[project.name, resource, name]))


def tty(request, project, name):
    return generic.resource_detail(request, project, resource, name, tab="tty")
