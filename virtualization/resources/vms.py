"""Virtual Machines: list, detail with operations and TTY, and "Create" as the user guide describes it."""
import base64
import json
import re

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from portal.kube import AlreadyExists, KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from .. import manifests, meta_edit, sizing
from .. import views as generic
from ..forms import NameField, SizeField, apply_api_error
from ..registry import CreateChoice, Resource, register
from . import disks as disk_resource
from . import vm_config, vm_consoles, vm_disks, vm_network, vm_placement

VM = kinds.get("VirtualMachine")
VMOP = kinds.get("VirtualMachineOperation")
VMCLASS = kinds.get("VirtualMachineClass")
DISK = kinds.get("VirtualDisk")
DEFAULT_CLASS_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"
USERDATA_LIMIT = 2048

# The operations the console offers: (VMOP type, the VM phases and run policies in which DVP applies it).
# "Migrate" in the web interface creates an Evict operation, as `d8 v evict` does.
OPERATIONS = {
    "Start": ("Start", ("Stopped", "Stopping"), ("Manual", "AlwaysOnUnlessStoppedManually")),
    "Stop": ("Stop", ("Running", "Degraded", "Starting", "Pause", "Pending"),
             ("Manual", "AlwaysOnUnlessStoppedManually")),
    "Restart": ("Restart", ("Running", "Degraded", "Starting", "Pause"),
                ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn")),
    "Migrate": ("Evict", ("Running",), ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn")),
}
RUN_POLICY_WHY = {
    "AlwaysOff": "the run policy AlwaysOff keeps it off",
    "AlwaysOn": "the run policy AlwaysOn keeps it running",
}
MIGRATION_TYPES = ("Evict", "Migrate")
VMOP_FINISHED = ("Completed", "Failed", "Superseded")
CONSOLE_PHASES = ("Running", "Migrating")
# What the guide's "Virtual Machine Life Cycle" says can hold a VM in a phase, and where to look.
PHASE_DIAGNOSTICS = {
    "Pending": ("Resources the VM depends on are not ready: its disks and images, its VM class or its IP address.",
                "Look at the conditions ending in Ready below (BlockDevicesReady, VirtualMachineClassReady, "
                "VirtualMachineIPAddressReady)."),
    "Starting": ("No suitable node, not enough CPU or memory on suitable nodes, or the project's quotas are "
                 "exceeded.", "Look at the Running condition below."),
    "Migrating": ("The VM moves to another node (live migration). It can fail on incompatible processor "
                  "instructions, different hypervisor kernels, too little CPU or memory on eligible nodes, or "
                  "exceeded quotas.", "Look at the Migrating condition and the migration state below."),
}
CONDITION_HINTS = {
    ("SizingPolicyMatched", "False"): "The VM's cores, memory or CPU share do not match the sizing policy of its "
                                      "class: configuration changes cannot be saved until they do.",
    ("ConfigurationApplied", "False"): "The configuration is not applied to the running VM yet.",
    ("AwaitingRestartToApplyConfiguration", "True"): "Some changes only take effect after a restart.",
    ("FirmwareUpToDate", "False"): "The VM's firmware needs an update (it is migrated to apply it).",
    ("Migratable", "False"): "The VM cannot be live-migrated (for example it uses local disks).",
    ("AgentReady", "False"): "The guest agent (qemu-guest-agent) is not running in the guest.",
}


def operation_choices(vm, can_operate=True):
    """The menu of operations for one VM: which apply now, and why the others do not."""
    phase = (vm.get("status") or {}).get("phase") or "Pending"
    policy = (vm.get("spec") or {}).get("runPolicy") or "AlwaysOnUnlessStoppedManually"
    migratable = next((c for c in (vm.get("status") or {}).get("conditions") or [] if c.get("type") == "Migratable"),
                      None)
    choices = []
    for label, (vmop_type, phases, policies) in OPERATIONS.items():
        if not can_operate:
            why = "You may not run operations here (needs create on virtualmachineoperations)."
        elif policy not in policies:
            why = f"{label} is not possible: {RUN_POLICY_WHY.get(policy, f'the run policy is {policy}')}."
        elif phase not in phases:
            why = f"Not applicable while the VM is {phase}."
        elif label == "Migrate" and (migratable or {}).get("status") == "False":
            why = f"The VM cannot be live-migrated: {migratable.get('message') or migratable.get('reason')}."
        else:
            why = ""
        choices.append({"type": label, "vmop_type": vmop_type, "applicable": not why, "why": why})
    return choices


def operations_of(user, project, vm_name=None):
    """VirtualMachineOperations of the project (of one VM), newest first."""
    ops = [op for op in kube_for(user).list(VMOP, project)
           if vm_name is None or (op.get("spec") or {}).get("virtualMachineName") == vm_name]
    return sorted(ops, key=lambda op: op["metadata"].get("creationTimestamp", ""), reverse=True)


def condition_notes(status):
    notes = []
    for c in status.get("conditions") or []:
        hint = CONDITION_HINTS.get((c.get("type"), c.get("status")))
        if hint:
            notes.append({"type": c["type"], "hint": hint})
    return notes


def vm_detail_context(request, project, obj):
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    can_operate = can(request.user, "create", VMOP, project.name)
    recent = operations_of(request.user, project.name, name)
    migration = next((op for op in recent if op["spec"].get("type") in MIGRATION_TYPES
                      and (op.get("status") or {}).get("phase") not in VMOP_FINISHED), None)
    return {
        "operations": operation_choices(obj, can_operate), "can_operate": can_operate,
        "recent_operations": recent[:5], "migration": migration,
        "can_cancel_migration": can(request.user, "delete", VMOP, project.name),
        "diagnostics": PHASE_DIAGNOSTICS.get(status.get("phase") or "Pending"),
        "condition_notes": condition_notes(status),
    }


def vm_timeline(request, project, obj, events):
    """The Events tab of a VM: its events, its operations and their events, newest first."""
    name = obj["metadata"]["name"]
    ops = operations_of(request.user, project.name, name)
    op_names = {op["metadata"]["name"] for op in ops}
    items = []
    for op in ops:
        completed = next((c for c in (op.get("status") or {}).get("conditions") or [] if c.get("type") == "Completed"),
                         {})
        items.append({"kind": "operation", "time": op["metadata"].get("creationTimestamp", ""), "name":
                      op["metadata"]["name"], "type": op["spec"].get("type", ""),
                      "reason": (op.get("status") or {}).get("phase") or "Pending",
                      "progress": (op.get("status") or {}).get("progress", ""), "message": completed.get("message", "")})
    if events is not None:
        related = [e for e in kube_for(request.user).list(kinds.get("Event"), project.name)
                   if (e.get("involvedObject") or {}).get("kind") == VMOP.kind
                   and (e.get("involvedObject") or {}).get("name") in op_names]
        for event in list(events) + related:
            involved = event.get("involvedObject") or {}
            items.append({"kind": "event", "time": event.get("lastTimestamp") or event.get("eventTime")
                          or event["metadata"].get("creationTimestamp", ""),
                          "about": f"Operation {involved['name']}" if involved.get("kind") == VMOP.kind else "",
                          "type": event.get("type", ""), "reason": event.get("reason", ""),
                          "message": event.get("message", ""), "count": event.get("count", 1)})
    return sorted(items, key=lambda item: item["time"], reverse=True)


def vm_row_context(user, project, rows):
    """The list's per-row menu: which operations apply to each VM now, and why not."""
    can_operate = can(user, "create", VMOP, project)
    for row in rows:
        row.operations = operation_choices(row.object, can_operate)


BULK_ACTIONS = ("Start", "Stop", "Restart", "Migrate", "Delete")


def bulk_blocked(user, project):
    """{bulk action: the missing permission} for the list's bulk buttons."""
    blocked = {}
    if not can(user, "create", VMOP, project):
        blocked.update({a: "needs create on virtualmachineoperations" for a in BULK_ACTIONS if a != "Delete"})
    if not can(user, "delete", VM, project):
        blocked["Delete"] = "needs delete on virtualmachines"
    return blocked

resource = register(Resource(
    slug="vms", kind=VM, title="Virtual Machines", noun="virtual machine", create_label="Create",
    detail_template="virtualization/vms/detail.html",
    tabs=(("overview", "Overview"), ("configuration", "Configuration"), ("disks", "Disks and Images"),
          ("placement", "Placement"), ("network", "Network"), ("tty", "TTY"), ("vnc", "VNC"), ("meta", "Meta"),
          ("yaml", "YAML"), ("events", "Events")),
    create=(CreateChoice("Create", "vm-create"),),
    extra={"detail_context": vm_detail_context,
           "row_context": vm_row_context, "row_actions": "virtualization/vms/_row_actions.html",
           "events_timeline": vm_timeline,
           "live_related": ((VMOP, lambda op, vm: (op.get("spec") or {}).get("virtualMachineName") == vm),),
           "list_template": "virtualization/vms/_list_dialog.html",
           "bulk_actions": BULK_ACTIONS, "bulk_url": "vm-bulk", "bulk_blocked": bulk_blocked,
           "tab_context": {"configuration": vm_config.configuration_tab, "disks": vm_disks.disks_tab,
                           "placement": vm_placement.placement_tab, "network": vm_network.network_tab,
                           "tty": vm_consoles.tab_context("tty"), "vnc": vm_consoles.tab_context("vnc"),
                           "meta": meta_edit.meta_tab_context}},
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
    "spec.runPolicy": "run_policy",
    "spec.osType": "os_type",
}
RUN_POLICIES = (
    ("AlwaysOnUnlessStoppedManually", "Always on unless stopped manually"),
    ("AlwaysOn", "Always on"),
    ("Manual", "Manual"),
    ("AlwaysOff", "Always off"),
)
OS_TYPES = (("Generic", "Generic (Linux and others)"), ("Windows", "Windows"), ("Legacy", "Legacy"))
SECRET = kinds.get("Secret")
CLOUD_INIT_SECRET_TYPE = "provisioning.virtualization.deckhouse.io/cloud-init"
SYSPREP_SECRET_TYPE = "provisioning.virtualization.deckhouse.io/sysprep"
# cloud-init keys that carry a password (plain or hashed): such data is kept in a Secret, not in the VM spec.
PASSWORD_KEYS = re.compile(r"^\s*-?\s*(passwd|password|plain_text_passwd|hashed_passwd|chpasswd)\s*:", re.MULTILINE)


def vm_classes(user):
    """(choices, default class name, {name: ClassRules}) of the cluster's VM classes, read as the user."""
    try:
        items = kube_for(user).list(VMCLASS)
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
    return [d for d in kube_for(user).list(DISK, project)
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
            try:
                kube.create(SECRET, secret, project.name)
            except AlreadyExists:
                field = "cloud_init" if secret["type"] == CLOUD_INIT_SECRET_TYPE else "sysprep"
                form.add_error(field, f"A Secret named {secret['metadata']['name']} already exists in the project; "
                                      "it would hold this data. Rename the VM or remove that Secret.")
                return None
            made.append((SECRET, secret["metadata"]["name"]))
        for disk in boot_disks:
            if disk.mode == "new":
                kube.create(DISK, disk.manifest, project.name)
                made.append((DISK, disk.name))
        vm = kube.create(VM, form.manifest([d.name for d in boot_disks]), project.name)
    except KubeError as exc:
        for kind, name in made:
            try:
                kube.delete(kind, name, project.name)
            except KubeError:
                pass
        if not apply_api_error(form, exc, FIELD_MAP, "virtual machine"):
            form.add_error(None, exc.message)
        return None
    if secret:
        owner = {"apiVersion": VM.api_version, "kind": VM.kind, "name": vm["metadata"]["name"],
                 "uid": vm["metadata"]["uid"]}
        try:
            kube.patch(SECRET, secret["metadata"]["name"], {"metadata": {"ownerReferences": [owner]}}, project.name)
        except KubeError as exc:
            messages.warning(request, f"The Secret {secret['metadata']['name']} could not be tied to the VM "
                                      f"({exc.message}); delete it yourself when you delete the VM.")
    return vm


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
            secret = form.secret_manifest()
            if secret:  # the preview never shows secret data
                documents.insert(0, manifests.document(SECRET, {**secret, "data": {
                    key: "<hidden>" for key in secret["data"]}}, project.name))
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


@require_http_methods(["GET", "POST"])
def operation(request, project, name):
    """GET: the confirmation (a dialog under htmx, a page without it); POST: create the VirtualMachineOperation."""
    project = get_project(request.user, project)
    label = request.POST.get("type") or request.GET.get("type")
    if label not in OPERATIONS:
        raise Http404("No such operation")
    vm = generic.get_object(request, project, resource, name)
    if request.method == "GET":
        choice = next(c for c in operation_choices(vm, can(request.user, "create", VMOP, project.name))
                      if c["type"] == label)
        return render(request, "virtualization/vms/operation_confirm.html" + ("#dialog" if request.htmx else ""), {
            "project": project, "resource": resource, "name": name, "vm": vm, "choice": choice,
            "force_choice": force_choice(vm) if label == "Migrate" else None, "next": _next_url(request),
        })
    run_operation(request, project.name, vm, label, force=request.POST.get("force"))
    if _next_url(request):
        return redirect(_next_url(request))
    if request.htmx:
        return _status_with_messages(request, project, name)
    return redirect(reverse("virtualization:detail", args=[project.name, resource, name]))


def _next_url(request):
    """Where to go back to after a confirmation opened from elsewhere (the list): a path on this site only."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()) else ""


def force_choice(vm):
    """The AutoConverge switch a migration offers under the VM's liveMigrationPolicy (None: fixed by the policy)."""
    policy = (vm.get("spec") or {}).get("liveMigrationPolicy") or "PreferSafe"
    if policy == "PreferSafe":
        return {"default": False, "label": "Force (slow the CPU down with AutoConverge so the migration completes)"}
    if policy == "PreferForced":
        return {"default": True, "label": "Force (keep AutoConverge: the CPU may be slowed down to complete)"}
    return None


def run_operation(request, project, vm, label, force=None):
    """Create the VMOP for one VM as the user; the outcome goes to the messages. True when created."""
    name = vm["metadata"]["name"]
    vmop_type = OPERATIONS[label][0]
    spec = {"type": vmop_type, "virtualMachineName": name}
    if label == "Migrate" and force_choice(vm) is not None:
        spec["force"] = force == "on"
    try:
        kube_for(request.user).create(VMOP, {"metadata": {"generateName": f"{name}-{label.lower()}-"},
                                             "spec": spec}, project)
    except KubeError as exc:
        messages.error(request, f"{label} of {name} was refused: {exc.message}")
        return False
    messages.success(request, f"{label} requested for {name}.")
    return True


def _status_with_messages(request, project, name):
    obj = generic.get_object(request, project, resource, name)
    context = generic.detail_context(request, project, resource, obj)
    status = render(request, resource.detail_template + "#status", context)
    flash = render(request, "includes/messages.html", {"oob": True})
    status.content += flash.content
    return status


@require_POST
def bulk(request, project):
    """One operation (or Delete) for the VMs checked in the list: a confirmation naming them, then the action."""
    project = get_project(request.user, project)
    list_url = reverse("virtualization:list", args=[project.name, resource])
    action = request.POST.get("action")
    names = sorted(set(request.POST.getlist("names")))
    if action not in BULK_ACTIONS:
        raise Http404("No such action")
    if not names:
        messages.error(request, f"Select the virtual machines to {action.lower()} first.")
        return redirect(list_url)
    can_operate = can(request.user, "create", VMOP, project.name)
    can_delete = can(request.user, "delete", VM, project.name)
    targets = []
    for name in names:
        try:
            vm = kube_for(request.user).get(VM, name, project.name)
        except NotFound:
            targets.append({"name": name, "vm": None, "why": "It no longer exists."})
            continue
        if action == "Delete":
            why = "" if can_delete else "You may not delete virtual machines here (needs delete on virtualmachines)."
        else:
            why = next(c["why"] for c in operation_choices(vm, can_operate) if c["type"] == action)
        targets.append({"name": name, "vm": vm, "why": why})
    ready = [t for t in targets if not t["why"]]
    if not request.POST.get("confirmed"):
        return render(request, "virtualization/vms/bulk_confirm.html", {
            "project": project, "resource": resource, "action": action, "targets": targets, "ready": ready,
            "list_url": list_url})
    for target in ready:
        if action == "Delete":
            try:
                kube_for(request.user).delete(VM, target["name"], project.name)
                messages.success(request, f"The virtual machine {target['name']} is being deleted.")
            except KubeError as exc:
                messages.error(request, f"Deleting {target['name']} was refused: {exc.message}")
        else:
            run_operation(request, project.name, target["vm"], action)
    return redirect(list_url)


@require_http_methods(["GET", "POST"])
def cancel_migration(request, project, name, operation_name):
    """Cancel a live migration: delete its VirtualMachineOperation (confirmed first)."""
    project = get_project(request.user, project)
    try:
        op = kube_for(request.user).get(VMOP, operation_name, project.name)
    except NotFound:
        raise Http404("No such operation")
    if op["spec"].get("virtualMachineName") != name or op["spec"].get("type") not in MIGRATION_TYPES:
        raise Http404("No such migration")
    if request.method == "GET":
        return render(request, "virtualization/vms/cancel_migration.html" + ("#dialog" if request.htmx else ""),
                      {"project": project, "resource": resource, "name": name, "op": op})
    try:
        kube_for(request.user).delete(VMOP, operation_name, project.name)
        messages.success(request, f"The migration of {name} is being canceled.")
    except NotFound:
        messages.info(request, f"The migration {operation_name} has already finished.")
    except KubeError as exc:
        messages.error(request, f"Canceling the migration was refused: {exc.message}")
    if request.htmx:
        return _status_with_messages(request, project, name)
    return redirect(reverse("virtualization:detail", args=[project.name, resource, name]))


def tty(request, project, name):
    return generic.resource_detail(request, project, resource, name, tab="tty")
