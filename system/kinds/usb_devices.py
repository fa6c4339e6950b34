"""System → Virtualization → USB devices (NodeUSBDevice, the admin guide's "USB devices"; DVP Enterprise Edition):
the USB devices found on the nodes labelled `virtualization.deckhouse.io/usbip=true`, with their node, vendor and
product, serial, the project each is assigned to and whether a VM uses it; "Assign to project" and "Unassign".

Assigning sets the device's `spec.assignedNamespace`, as the user: DVP then makes a USBDevice of the same name in
that project, which the project's users attach to a VM (the VM's USB tab); unassigning removes it (and so detaches
it from a VM using it). Only operators may list NodeUSBDevices (the page's gate); changing one takes `patch`.
"""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Conflict, KubeError, kinds
from projects.access import can, kube_for
from virtualization.generic.detail import TabState
from virtualization.registry import Action, Tab

from ..registry import SystemResource, register

SPEEDS = {1: "Low speed (1.5 Mbit/s)", 12: "Full speed (12 Mbit/s)", 480: "High speed (480 Mbit/s)",
          5000: "SuperSpeed (5 Gbit/s)", 10000: "SuperSpeed+ (10 Gbit/s)", 20000: "SuperSpeed+ (20 Gbit/s)"}


def condition(obj, type_):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


def vendor_product(attributes):
    """ "0951:1666 Kingston DataTraveler 3.0", as lsusb names a device."""
    ids = ":".join(x for x in (attributes.get("vendorID"), attributes.get("productID")) if x)
    words = " ".join(x for x in (attributes.get("manufacturer"), attributes.get("product")) if x)
    return " ".join(x for x in (ids, words) if x) or "—"


def projects_of(user):
    """The names of the projects the user may list (where a device can be assigned)."""
    try:
        return sorted(p["metadata"]["name"] for p in kube_for(user).list(kinds.PROJECT))
    except KubeError:
        return []


class AssignForm(forms.Form):
    project = forms.ChoiceField(label="Project", help_text="The project whose virtual machines may use the device "
                                                           "(spec.assignedNamespace).")
    resource_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Choose a project")] + [(p, p) for p in projects]


def list_extra(user, rows):
    for row in rows:
        attributes = (row.object.get("status") or {}).get("attributes") or {}
        row.extra = {"Vendor/Product": vendor_product(attributes), "Serial": attributes.get("serial") or "—"}
    return ("Vendor/Product", "Serial")


def detail_context(user, scope, obj):
    status = obj.get("status") or {}
    attributes = status.get("attributes") or {}
    attached = condition(obj, "Attached")
    name = obj["metadata"]["name"]
    return {
        "attributes": attributes, "vendor_product": vendor_product(attributes),
        "speed": SPEEDS.get(attributes.get("speed"), attributes.get("speed")),
        "assigned_namespace": (obj.get("spec") or {}).get("assignedNamespace") or "",
        "attached": attached.get("status") == "True", "attached_message": attached.get("message", ""),
        "device_ready": condition(obj, "Ready").get("status") == "True",
        "may_assign": can(user, "patch", kinds.NODE_USB_DEVICE, None, name),
        "assign_tab_url": reverse("system:detail-tab", args=[resource, name, "project"]),
        "unassign_url": reverse("system:usb-devices-project-unassign", args=[name]),
    }


def project_context(user, scope, obj, state):
    return {"assign_form": state.form or AssignForm(projects=projects_of(user), initial={
        "project": (obj.get("spec") or {}).get("assignedNamespace") or "",
        "resource_version": obj["metadata"]["resourceVersion"]})}


def _save(request, obj, namespace):
    """Patch spec.assignedNamespace as the user, guarded by the resourceVersion the page was made from: a device
    someone else changed meanwhile is not overwritten. Returns why it was not saved, or ""."""
    version = request.POST.get("resource_version") or obj["metadata"]["resourceVersion"]
    try:
        kube_for(request.user).patch(kinds.NODE_USB_DEVICE, obj["metadata"]["name"], {
            "metadata": {"resourceVersion": version}, "spec": {"assignedNamespace": namespace}})
    except Conflict:
        now = (obj.get("spec") or {}).get("assignedNamespace") or "no project"
        return f"Someone else changed this device meanwhile (it is now assigned to {now}): check, then try again."
    except KubeError as exc:
        return exc.message
    return ""


def assign(request, scope, obj):
    projects = projects_of(request.user)
    form = AssignForm(request.POST, projects=projects)
    if not form.is_valid():
        return TabState(form=form, posted=request.POST)
    project = form.cleaned_data["project"]
    refused = _save(request, obj, project)
    if refused:
        # The choice is kept; the form now carries the device's current version, so that Assign applies to it.
        data = request.POST.copy()
        data["resource_version"] = obj["metadata"]["resourceVersion"]
        form = AssignForm(data, projects=projects)
        form.is_valid()
        form.add_error("project", refused)
        return TabState(form=form, posted=data)
    messages.success(request, f"The USB device {obj['metadata']['name']} is assigned to the project {project}: its "
                              "users can attach it to a virtual machine there.")
    return redirect(reverse("system:detail", args=[resource, obj["metadata"]["name"]]))


def unassign(request, scope, obj):
    name = obj["metadata"]["name"]
    refused = _save(request, obj, "")
    if refused:
        messages.error(request, f"The USB device {name} was not unassigned: {refused}")
    else:
        messages.success(request, f"The USB device {name} is no longer assigned to a project.")
    return redirect(reverse("system:detail", args=[resource, name]))


resource = register(SystemResource(
    slug="usb-devices", kind=kinds.NODE_USB_DEVICE, title="USB devices", noun="USB device", section="virtualization",
    section_title="Virtualization", gate="list", nav_order=40, columns=(),
    tabs=(Tab("project", "Project", context=project_context, template="system/usb-devices/tabs/project.html",
              actions=(Action("assign", assign), Action("unassign", unassign))),),
    list_extra=list_extra, detail_context=detail_context,
))
