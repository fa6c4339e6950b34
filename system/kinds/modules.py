"""System → Deckhouse → Modules (ModuleConfig): the modules' configurations, and the admin guide's
virtualization → Configuration: its settings as a form whose field names are the YAML parameters, an
"Advanced settings" switch, Save; enabling and disabling (the allow-disabling annotation, after the guide's
warning); virtualMachineCIDRs checked (a subnet whose addresses VMs hold is not removed, and they are named);
the image storage's garbage-collection schedule (`dvcr.gc.schedule`)."""
import copy
import ipaddress
import re

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Conflict, Forbidden, Invalid, KubeError, kinds
from portal.kube.kinds import Kind
from projects.access import can, kube_for
from virtualization.generic.detail import TabState
from virtualization.registry import Action, Tab

from ..registry import SystemResource, register

MODULE_CONFIG = Kind("ModuleConfig", "deckhouse.io", "v1alpha1", "moduleconfigs", namespaced=False)
ALLOW_DISABLING = "modules.deckhouse.io/allow-disabling"
CRON_FIELD = re.compile(r"^[0-9*,/-]+$")
DISABLE_WARNING = ("After you disable the virtualization module, all services that create and run virtual machines "
                   "will stop. If module resources are not deleted, disabling the module may result in data loss.")


class VirtualizationSettingsForm(forms.Form):
    """Field labels are the YAML parameters (`settings.` omitted), as the guide says the form names them."""
    enabled = forms.BooleanField(label="enabled", required=False)
    allow_disabling = forms.BooleanField(label="I have deleted the module's resources: disable it", required=False)
    virtualMachineCIDRs = forms.CharField(label="virtualMachineCIDRs", widget=forms.Textarea(attrs={"rows": 3}),
                                          help_text="One subnet per line, e.g. 10.66.10.0/24.")
    dvcr_storage_type = forms.ChoiceField(label="dvcr.storage.type", choices=[
        ("PersistentVolumeClaim", "PersistentVolumeClaim"), ("ObjectStorage", "ObjectStorage")])
    dvcr_size = forms.CharField(label="dvcr.storage.persistentVolumeClaim.size", required=False)
    dvcr_storage_class = forms.CharField(label="dvcr.storage.persistentVolumeClaim.storageClassName", required=False)
    dvcr_gc_schedule = forms.CharField(label="dvcr.gc.schedule", required=False,
                                       help_text='Cleaning up image storage: a cron schedule such as "0 20 * * *"; '
                                                 "empty: never.")
    ingressClass = forms.CharField(label="ingressClass", required=False)
    # Advanced settings
    virtualImages_default = forms.CharField(label="virtualImages.defaultStorageClassName", required=False)
    virtualDisks_default = forms.CharField(label="virtualDisks.defaultStorageClassName", required=False)
    audit_enabled = forms.BooleanField(label="audit.enabled", required=False)
    resource_version = forms.CharField(widget=forms.HiddenInput)

    ADVANCED = ("virtualImages_default", "virtualDisks_default", "audit_enabled")

    def __init__(self, *args, in_use=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_use = in_use or {}   # address -> "project/vm" of the VMs that hold an address

    def clean_virtualMachineCIDRs(self):
        cidrs, networks = [], []
        for line in self.cleaned_data["virtualMachineCIDRs"].split():
            try:
                network = ipaddress.ip_network(line, strict=True)
            except ValueError as exc:
                raise forms.ValidationError(f"{line} is not a subnet in CIDR form ({exc}).")
            clash = next((n for n in networks if n.overlaps(network)), None)
            if clash:
                raise forms.ValidationError(f"{line} overlaps {clash}: subnets must not overlap.")
            networks.append(network)
            cidrs.append(str(network))
        if not cidrs:
            raise forms.ValidationError("Give at least one subnet: VMs get their addresses from these.")
        return cidrs

    def clean_dvcr_gc_schedule(self):
        schedule = " ".join(self.cleaned_data["dvcr_gc_schedule"].split())
        if schedule and (len(schedule.split()) != 5 or not all(CRON_FIELD.match(f) for f in schedule.split())):
            raise forms.ValidationError('A cron schedule has five fields: minute hour day month weekday, '
                                        'e.g. "0 20 * * *".')
        return schedule

    def check_removed(self, old_cidrs):
        """Name the VMs whose addresses are in a subnet the form removes (the API would refuse it too)."""
        kept = [ipaddress.ip_network(c) for c in self.cleaned_data.get("virtualMachineCIDRs") or []]
        for cidr in old_cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            if any(network == k for k in kept):
                continue
            holders = sorted(vm for address, vm in self.in_use.items() if ipaddress.ip_address(address) in network)
            if holders:
                self.add_error("virtualMachineCIDRs", f"{cidr} cannot be removed: its addresses are used by "
                                                      f"{', '.join(holders)}.")


def _initial(obj):
    spec = obj.get("spec") or {}
    settings = spec.get("settings") or {}
    dvcr = settings.get("dvcr") or {}
    storage = dvcr.get("storage") or {}
    pvc = storage.get("persistentVolumeClaim") or {}
    return {"enabled": spec.get("enabled") is not False, "virtualMachineCIDRs": "\n".join(
        settings.get("virtualMachineCIDRs") or []), "dvcr_storage_type": storage.get("type", "PersistentVolumeClaim"),
        "dvcr_size": pvc.get("size", ""), "dvcr_storage_class": pvc.get("storageClassName", ""),
        "dvcr_gc_schedule": (dvcr.get("gc") or {}).get("schedule", ""), "ingressClass": settings.get("ingressClass", ""),
        "virtualImages_default": (settings.get("virtualImages") or {}).get("defaultStorageClassName", ""),
        "virtualDisks_default": (settings.get("virtualDisks") or {}).get("defaultStorageClassName", ""),
        "audit_enabled": bool((settings.get("audit") or {}).get("enabled")),
        "resource_version": obj["metadata"].get("resourceVersion", "")}


def _set(mapping, path, value):
    """Set (or, for an empty value, remove) mapping[a][b]... = value; empty parents go too."""
    head, *rest = path
    if not rest:
        if value in ("", None, False):
            mapping.pop(head, None)
        else:
            mapping[head] = value
        return
    child = mapping.setdefault(head, {})
    _set(child, rest, value)
    if not child:
        mapping.pop(head)


def settings_from(form, settings):
    data, settings = form.cleaned_data, copy.deepcopy(settings)
    settings["virtualMachineCIDRs"] = data["virtualMachineCIDRs"]
    _set(settings, ("dvcr", "storage", "type"), data["dvcr_storage_type"])
    _set(settings, ("dvcr", "storage", "persistentVolumeClaim", "size"), data["dvcr_size"])
    _set(settings, ("dvcr", "storage", "persistentVolumeClaim", "storageClassName"), data["dvcr_storage_class"])
    _set(settings, ("dvcr", "gc", "schedule"), data["dvcr_gc_schedule"])
    _set(settings, ("ingressClass",), data["ingressClass"])
    _set(settings, ("virtualImages", "defaultStorageClassName"), data["virtualImages_default"])
    _set(settings, ("virtualDisks", "defaultStorageClassName"), data["virtualDisks_default"])
    _set(settings, ("audit", "enabled"), data["audit_enabled"])
    return settings


def addresses_in_use(user):
    try:
        vms = kube_for(user).list(kinds.VM)
    except KubeError:
        return {}
    return {vm["status"]["ipAddress"]: f'{vm["metadata"]["namespace"]}/{vm["metadata"]["name"]}'
            for vm in vms if (vm.get("status") or {}).get("ipAddress")}


def module_resources(user):
    """How many VMs, disks and images the module still has (the guide: delete them before disabling)."""
    kube, counts = kube_for(user), {}
    for label, kind in (("virtual machines", kinds.VM), ("disks", kinds.DISK), ("images", kinds.IMAGE),
                        ("cluster images", kinds.CLUSTER_IMAGE)):
        try:
            counts[label] = len(kube.list(kind))
        except KubeError:
            counts[label] = "?"
    return counts


def configuration_context(user, scope, obj, state):
    if obj["metadata"]["name"] != "virtualization":
        return {"module_form": None}
    form = state.form or VirtualizationSettingsForm(initial=_initial(obj))
    return {"module_form": form, "advanced_fields": [form[name] for name in form.ADVANCED],
            "basic_fields": [form[name] for name in ("virtualMachineCIDRs", "dvcr_storage_type", "dvcr_size",
                                                     "dvcr_storage_class", "dvcr_gc_schedule", "ingressClass")],
            "advanced_open": any(form[name].errors for name in form.ADVANCED), "disable_warning": DISABLE_WARNING,
            "module_resources": module_resources(user), "current_spec": state.posted.get("current_spec"),
            "may_configure": can(user, "update", MODULE_CONFIG, None, "virtualization")}


def save(request, scope, obj):
    form = VirtualizationSettingsForm(request.POST, in_use=addresses_in_use(request.user))
    if not form.is_valid():
        return TabState(form=form, posted=request.POST)
    spec = obj.get("spec") or {}
    form.check_removed((spec.get("settings") or {}).get("virtualMachineCIDRs") or [])
    disabling = spec.get("enabled") is not False and not form.cleaned_data["enabled"]
    if disabling and not form.cleaned_data["allow_disabling"]:
        form.add_error("allow_disabling", "Disabling the module needs your confirmation: " + DISABLE_WARNING)
    if form.errors:
        return TabState(form=form, posted=request.POST)
    annotations = dict(obj["metadata"].get("annotations") or {})
    if disabling:
        annotations[ALLOW_DISABLING] = "true"
    body = {**obj, "metadata": {**obj["metadata"], "annotations": annotations,
                                "resourceVersion": form.cleaned_data["resource_version"]},
            "spec": {**spec, "enabled": form.cleaned_data["enabled"],
                     "settings": settings_from(form, spec.get("settings") or {})}}
    try:
        kube_for(request.user).replace(MODULE_CONFIG, "virtualization", body)
    except Conflict:
        form.add_error(None, "The configuration was changed by someone else while you edited it. Your values are "
                             "kept; Save again to apply them over it.")
        current = kube_for(request.user).get(MODULE_CONFIG, "virtualization")
        form.data = form.data.copy()
        form.data["resource_version"] = current["metadata"].get("resourceVersion", "")
        return TabState(form=form, posted=request.POST, status=409)
    except (Forbidden, Invalid) as exc:
        field = "virtualMachineCIDRs" if "virtualMachineCIDRs" in exc.message else None
        form.add_error(field, exc.message)
        return TabState(form=form, posted=request.POST)
    messages.success(request, "The virtualization module's configuration was saved.")
    return redirect(reverse("system:detail-tab", args=[resource, "virtualization", "configuration"]))


resource = register(SystemResource(
    slug="modules", kind=MODULE_CONFIG, title="Modules", noun="module configuration", section="deckhouse",
    section_title="Deckhouse", gate="list", nav_order=10, columns=(),
    tabs=(Tab("configuration", "Configuration", context=configuration_context,
              template="system/modules/tabs/configuration.html", actions=(Action("save", save),)),),
))
