"""USB Devices (USBDevice; DVP Enterprise Edition): the USB devices an operator assigned to the project (System →
USB devices), which node each is plugged into, and the virtual machine using it. The project's users attach one
to a VM on the VM's USB tab (vms/tabs/usb.py); they neither create nor change USBDevices (DVP makes them)."""
from portal.kube import KubeError, kinds
from projects.access import kube_for

from ..registry import Resource, register


def condition(obj, type_):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


def vms_using(user, project, name):
    """The names of the project's VMs whose spec.usbDevices names the device."""
    try:
        vms = kube_for(user).list(kinds.VM, project)
    except KubeError:
        return []
    return [vm["metadata"]["name"] for vm in vms
            if any(ref.get("name") == name for ref in (vm.get("spec") or {}).get("usbDevices") or [])]


def detail_context(user, project, obj):
    attributes = (obj.get("status") or {}).get("attributes") or {}
    return {"attributes": attributes, "used_by": vms_using(user, project.name, obj["metadata"]["name"]),
            "attached": condition(obj, "Attached"), "device_ready": condition(obj, "Ready").get("status") == "True"}


resource = register(Resource(
    slug="usb-devices", kind=kinds.USB_DEVICE, title="USB Devices", noun="USB device", columns=(),
    detail_context=detail_context, nav_order=80,
    list_note="USB passthrough is a DVP Enterprise Edition feature: an operator assigns a node's USB devices to the "
              "project under System → USB devices; attach one to a VM on the VM's USB tab.",
))
