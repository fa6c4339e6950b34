"""The VM's "USB" tab (DVP Enterprise Edition): the USB devices of `spec.usbDevices` with what the VM reports of
each (attached, ready, its address in the guest, hot-plugged), and Attach / Detach of the project's USBDevices.

A change of `spec.usbDevices` applies at once (DVP's vmchange: ApplyImmediate): a running VM hot-plugs the device.
The spec is changed by the tabs' merge patch guarded by the resourceVersion the tab was made from (vms.edit): a
change someone else made meanwhile is shown, not lost. A USBDevice exists in the project only while an operator
has the node's device assigned to it (System → USB devices)."""
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import KubeError, kinds
from projects.access import kube_for

from ....generic.detail import TabState
from .. import edit as edit_module

KEYS = ("usbDevices",)
MAX_DEVICES = 8  # the CRD's maxItems


def _url(project, name):
    return reverse("virtualization:detail-tab", args=[project, "vms", name, "usb"])


def project_devices(user, project):
    """{name: USBDevice} of the project, or None when they cannot be listed as the user."""
    try:
        return {d["metadata"]["name"]: d for d in kube_for(user).list(kinds.USB_DEVICE, project)}
    except KubeError:
        return None


def _used_elsewhere(user, project, vm_name):
    """{device name: VM name} of the devices other VMs of the project name in their spec."""
    try:
        vms = kube_for(user).list(kinds.VM, project)
    except KubeError:
        return {}
    return {ref.get("name"): vm["metadata"]["name"] for vm in vms if vm["metadata"]["name"] != vm_name
            for ref in (vm.get("spec") or {}).get("usbDevices") or []}


def _label(device):
    attributes = (device.get("status") or {}).get("attributes") or {}
    words = " ".join(x for x in (attributes.get("manufacturer"), attributes.get("product")) if x)
    ids = ":".join(x for x in (attributes.get("vendorID"), attributes.get("productID")) if x)
    return " ".join(x for x in (words, f"({ids})" if ids else "") if x)


def context(user, project, obj, state):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    devices = project_devices(user, project.name)
    reported = {s.get("name"): s for s in status.get("usbDevices") or []}
    rows = []
    for ref in spec.get("usbDevices") or []:
        seen = reported.get(ref.get("name"), {})
        rows.append({"name": ref.get("name"), "label": _label((devices or {}).get(ref.get("name")) or {}),
                     "exists": devices is None or ref.get("name") in devices,
                     "attached": bool(seen.get("attached")), "ready": bool(seen.get("ready")),
                     "hotplugged": bool(seen.get("hotplugged")), "address": seen.get("address")})
    named = {r["name"] for r in rows}
    used = _used_elsewhere(user, project.name, obj["metadata"]["name"])
    available = [{"name": name, "label": _label(d), "node": (d.get("status") or {}).get("nodeName", "")}
                 for name, d in sorted((devices or {}).items()) if name not in named and name not in used]
    return {"usb_rows": rows, "usb_available": available, "usb_listed": devices is not None,
            "usb_used_elsewhere": sorted(used.items()), "usb_full": len(rows) >= MAX_DEVICES,
            "usb_errors": state.errors, "usb_posted": state.posted,
            "edit": state.edit or edit_module.Edit(user, obj, KEYS)}


def _error(request, message, edit=None):
    return TabState(posted=request.POST, errors={"usb_device": message}, edit=edit)


def _save(request, project, obj, edit, devices):
    """Save the list as the user; a TabState with the reason on the field, or None when saved."""
    try:
        saved = edit.save(project.name, {"usbDevices": devices or None})
    except KubeError as exc:
        return _error(request, exc.summary(), edit)
    if saved is None:
        return _error(request, "Someone else changed this VM's USB devices meanwhile; check the list and try again.",
                      edit)
    return None


def attach(request, project, obj):
    name = request.POST.get("usb_device", "").strip()
    if not name:
        return _error(request, "Choose a USB device of the project.")
    devices = project_devices(request.user, project.name)
    if devices is not None and name not in devices:
        return _error(request, f"The project has no USB device named {name}: an operator assigns devices to it "
                               "(System → USB devices).")
    edit = edit_module.Edit(request.user, obj, KEYS, request.POST)
    current = list(edit.base.get("usbDevices") or [])
    if any(ref.get("name") == name for ref in current):
        return _error(request, f"{name} is already in this VM's USB devices.", edit)
    if len(current) >= MAX_DEVICES:
        return _error(request, f"A virtual machine takes at most {MAX_DEVICES} USB devices.", edit)
    refused = _save(request, project, obj, edit, current + [{"name": name}])
    if refused:
        return refused
    messages.success(request, f"USB device {name} added to {obj['metadata']['name']}: a running VM gets it at once "
                              "(hot plug), a stopped one when it starts.")
    return redirect(_url(project.name, obj["metadata"]["name"]))


def detach(request, project, obj):
    name = request.POST.get("usb_device", "").strip()
    edit = edit_module.Edit(request.user, obj, KEYS, request.POST)
    current = list(edit.base.get("usbDevices") or [])
    if not any(ref.get("name") == name for ref in current):
        return _error(request, f"{name or 'That device'} is not among this VM's USB devices.", edit)
    refused = _save(request, project, obj, edit, [ref for ref in current if ref.get("name") != name])
    if refused:
        return refused
    messages.success(request, f"USB device {name} detached from {obj['metadata']['name']}.")
    return redirect(_url(project.name, obj["metadata"]["name"]))
