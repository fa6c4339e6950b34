"""The VM's "Configuration" tab: everything of Create, editable, with the changes listed (and
whether each needs a restart) before saving; after saving, `restartAwaitingChanges` with Restart."""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import KubeError, kinds
from projects.access import get_project, kube_for

from .... import registry, sizing
from ....forms import SizeField, apply_api_error
from ....generic.detail import TabState, get_object
from .. import edit as edit_module
from . import disks as disks_tab
from . import placement as placement_tab
from ..spec_form import BOOTLOADERS, MIGRATION_POLICIES, OS_TYPES, RUN_POLICIES, USERDATA_LIMIT

KEYS = ("virtualMachineClassName", "cpu", "memory", "provisioning", "runPolicy", "disruptions", "osType",
        "bootloader", "liveMigrationPolicy", "enableParavirtualization")
FIELD_MAP = {
    "spec.virtualMachineClassName": "vm_class", "spec.cpu.cores": "cores", "spec.cpu.coreFraction": "core_fraction",
    "spec.cpu": "cores", "spec.memory": "memory", "spec.provisioning": "cloud_init", "spec.runPolicy": "run_policy",
    "spec.disruptions": "auto_apply", "spec.osType": "os_type", "spec.bootloader": "bootloader",
    "spec.liveMigrationPolicy": "live_migration_policy", "spec.enableParavirtualization": "paravirtualization",
}


class ConfigurationForm(forms.Form):
    vm_class = forms.ChoiceField(label="VM class")
    cores = forms.IntegerField(label="Cores", min_value=1, max_value=248)
    core_fraction = forms.ChoiceField(label="CPU Share")
    memory = SizeField(label="Size", help_text="Memory, e.g. 1Gi or 512Mi.")
    cloud_init_enabled = forms.BooleanField(label="Cloud-init", required=False)
    cloud_init = forms.CharField(label="Cloud-init data", required=False, strip=False,
                                 widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}))
    run_policy = forms.ChoiceField(label="Startup Policy", choices=RUN_POLICIES)
    auto_apply = forms.BooleanField(label="Auto-apply changes", required=False,
                                    help_text="Restart the VM by itself when a change needs a restart "
                                              "(restartApprovalMode: Automatic).")
    os_type = forms.ChoiceField(label="OS type", choices=OS_TYPES)
    bootloader = forms.ChoiceField(label="Bootloader", choices=BOOTLOADERS)
    live_migration_policy = forms.ChoiceField(label="Live migration policy", choices=MIGRATION_POLICIES)
    paravirtualization = forms.BooleanField(label="Paravirtualization", required=False)

    def __init__(self, *args, vm, user, **kwargs):
        self.vm = vm
        spec = vm.get("spec") or {}
        provisioning = spec.get("provisioning") or {}
        self.cloud_init_ref = provisioning if provisioning and provisioning.get("type") != "UserData" else None
        # The Secret that holds the provisioning data (UserDataRef or SysprepRef), named for the page.
        self.provisioning_secret = ((provisioning.get("userDataRef") or provisioning.get("sysprepRef") or {})
                                    .get("name", "")) if self.cloud_init_ref else ""
        kwargs.setdefault("initial", {
            "vm_class": spec.get("virtualMachineClassName", ""),
            "cores": (spec.get("cpu") or {}).get("cores"),
            "core_fraction": (spec.get("cpu") or {}).get("coreFraction", ""),
            "memory": (spec.get("memory") or {}).get("size", ""),
            "cloud_init_enabled": provisioning.get("type") == "UserData",
            "cloud_init": provisioning.get("userData", ""),
            "run_policy": spec.get("runPolicy", "AlwaysOnUnlessStoppedManually"),
            "auto_apply": (spec.get("disruptions") or {}).get("restartApprovalMode") == "Automatic",
            "os_type": spec.get("osType", "Generic"),
            "bootloader": spec.get("bootloader", "BIOS"),
            "live_migration_policy": spec.get("liveMigrationPolicy", "PreferSafe"),
            "paravirtualization": spec.get("enableParavirtualization", True),
        })
        super().__init__(*args, **kwargs)
        class_choices, fractions, self.classes = _classes(user)
        current_class = spec.get("virtualMachineClassName")
        if current_class and current_class not in dict(class_choices):
            class_choices = [(current_class, current_class)] + class_choices
        self.fields["vm_class"].choices = class_choices
        fraction_choices = fractions or ["5%", "10%", "20%", "50%", "100%"]
        current_fraction = (spec.get("cpu") or {}).get("coreFraction")
        if current_fraction and current_fraction not in fraction_choices:
            fraction_choices = [current_fraction] + fraction_choices
        self.fields["core_fraction"].choices = [(f, f) for f in fraction_choices]

    def clean(self):
        data = super().clean()
        if data.get("cloud_init_enabled") and not self.cloud_init_ref:
            text = data.get("cloud_init") or ""
            size = len(text.replace("\r\n", "\n").encode())
            if not text.strip():
                self.add_error("cloud_init", "Enter the cloud-init data, or switch Cloud-init off.")
            elif size > USERDATA_LIMIT:
                self.add_error("cloud_init", f"Cloud-init data is {size} bytes; at most {USERDATA_LIMIT} bytes fit "
                                             "inline (use a Secret for larger data).")
        vmclass = self.classes.get(data.get("vm_class"))
        if vmclass is not None and data.get("cores") and data.get("memory"):
            # The class's sizing policy, checked here so that a refusal lands on its field before anything is sent.
            for field, message in sizing.ClassRules(vmclass).errors(
                    data["cores"], data["memory"], data.get("core_fraction")).items():
                self.add_error(field, message)
        if data.get("os_type") == "Legacy" and data.get("bootloader") not in (None, "BIOS"):
            self.add_error("bootloader", "The Legacy OS type requires the BIOS bootloader.")
        return data

    def wanted(self, base):
        """The edited spec fields as the form wants them (starting from `base`, so untouched keys stay)."""
        data = self.cleaned_data
        spec = {k: v for k, v in base.items()}
        spec["virtualMachineClassName"] = data["vm_class"]
        spec["cpu"] = {**(base.get("cpu") or {}), "cores": data["cores"], "coreFraction": data["core_fraction"]}
        spec["memory"] = {**(base.get("memory") or {}), "size": data["memory"]}
        if not self.cloud_init_ref:
            if data.get("cloud_init_enabled"):
                spec["provisioning"] = {"type": "UserData", "userData": data["cloud_init"].replace("\r\n", "\n")}
            else:
                spec.pop("provisioning", None)
        spec["runPolicy"] = data["run_policy"]
        spec["disruptions"] = {**(base.get("disruptions") or {}),
                               "restartApprovalMode": "Automatic" if data["auto_apply"] else "Manual"}
        spec["osType"] = data["os_type"]
        spec["bootloader"] = data["bootloader"]
        spec["liveMigrationPolicy"] = data["live_migration_policy"]
        spec["enableParavirtualization"] = data["paravirtualization"]
        return spec


def _classes(user):
    """(class choices, CPU shares their sizing policies offer, {name: class}), read as the user."""
    try:
        items = kube_for(user).list(kinds.VM_CLASS)
    except KubeError:
        return [], [], {}
    fractions = set()
    for vmclass in items:
        for policy in (vmclass.get("spec") or {}).get("sizingPolicies") or []:
            fractions.update(str(f) if str(f).endswith("%") else f"{f}%" for f in policy.get("coreFractions") or [])
    choices = sorted((c["metadata"]["name"], c["metadata"]["name"]) for c in items)
    return choices, sorted(fractions, key=lambda f: int(f.rstrip("%"))), {c["metadata"]["name"]: c for c in items}


def _section(user, project, obj, state, tab_key, tab_context):
    """Another tab's part, shown as a section of this one (the guide's "Placement" and "Disks and Images"):
    its context with the names it shares with this tab (edit, changes, its actions' URLs) set apart."""
    resource = registry.get("vms")
    tab = resource.tab(tab_key)
    own = tab_context(user, project, obj, state if state.origin == tab_key else TabState())
    shared = {key: own.pop(key, None) for key in ("edit", "changes", "patch_command")}
    shared["actions"] = {action.name.replace("-", "_"): reverse(
        f"virtualization:{registry.action_url_name(resource, tab, action)}", args=[project.name, obj["metadata"]["name"]])
        for action in tab.actions}
    shared["url"] = reverse("virtualization:detail-tab", args=[project.name, "vms", obj["metadata"]["name"], tab_key])
    shared["error"] = state.error if state.origin == tab_key else ""
    return own, shared


def context(user, project, obj, state):
    placement, placement_section = _section(user, project, obj, state, "placement", placement_tab.context)
    disks, disks_section = _section(user, project, obj, state, "disks", disks_tab.context)
    own = state if state.origin in ("", "configuration") else TabState()
    return {**placement, **disks, "placement_section": placement_section, "disks_section": disks_section,
            **_own_context(user, obj, own), "tab_error": own.error}


def _own_context(user, obj, state):
    form = state.form or ConfigurationForm(vm=obj, user=user)
    edit = state.edit or edit_module.Edit(user, obj, KEYS)
    phase = (obj.get("status") or {}).get("phase", "")
    wanted = form.wanted(edit.base) if form.is_bound and form.is_valid() else None
    changes = edit_module.describe_changes(edit.base, wanted, phase) if wanted is not None else []
    patch = edit_module.merge_patch(edit.base, wanted) if changes else None
    return {"config_form": form, "edit": edit, "changes": changes,
            "patch_command": edit_module.patch_command(obj["metadata"]["name"], patch) if patch else "",
            "restart_needed": any(c["restart"] for c in changes), "userdata_limit": USERDATA_LIMIT}


def _posted(request, obj):
    return TabState(form=ConfigurationForm(request.POST, vm=obj, user=request.user),
                    edit=edit_module.Edit(request.user, obj, KEYS, request.POST))


def review(request, project, obj):
    """The changed parameters and when each applies, before saving."""
    state = _posted(request, obj)
    state.status = 200 if state.form.is_valid() else 422
    return state


def save(request, project, obj):
    state = _posted(request, obj)
    form, edit = state.form, state.edit
    if not form.is_valid():
        return state
    try:
        saved = edit.save(project.name, form.wanted(edit.base))
    except KubeError as exc:
        if not apply_api_error(form, exc, FIELD_MAP, "virtual machine"):
            form.add_error(None, exc.message)
        return state
    if saved is None:
        return state
    messages.success(request, f"The configuration of {obj['metadata']['name']} is saved.")
    return redirect(reverse("virtualization:detail-tab",
                            args=[project.name, "vms", obj["metadata"]["name"], "configuration"]))


@require_POST
def changes(request, project, name):
    """The list of changed parameters, refreshed as the user edits (htmx)."""
    project = get_project(request.user, project)
    obj = get_object(request.user, project, registry.get("vms"), name)
    tab = _own_context(request.user, obj, _posted(request, obj))
    return render(request, "virtualization/vms/tabs/configuration.html#changes",
                  {**tab, "project": project, "obj": obj, "name": name})
