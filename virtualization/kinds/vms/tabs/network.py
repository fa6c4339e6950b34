"""The VM's "Network" tab: the Main network and additional networks in order with their MAC
addresses, and the VM's IP address (VirtualMachineIPAddress): request a static one, keep it
after the VM is deleted."""
import ipaddress
import time

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Forbidden, KubeError, NotFound, kinds
from projects.access import can, kube_for

from ....generic.detail import TabState
from .. import edit as edit_module

SDN_GROUP = "network.deckhouse.io"
NETWORK_TYPES = ("Network", "ClusterNetwork")
BIND_WAIT_SECONDS = 3.0


def _url(project, name):
    return reverse("virtualization:detail-tab", args=[project, "vms", name, "network"])


def sdn_available(user):
    """Whether the SDN module serves its API group (what additional networks need); discovery is open to all."""
    try:
        return SDN_GROUP in kube_for(user).groups()
    except KubeError:
        return False


def available_networks(user, project):
    """[(type, name)] of the Networks of the project and the ClusterNetworks the user may list, to suggest."""
    found = []
    for net_type, kind, namespace in (("Network", kinds.NETWORK, project),
                                      ("ClusterNetwork", kinds.CLUSTER_NETWORK, None)):
        try:
            items = kube_for(user).list(kind, namespace)
        except KubeError:
            continue  # not allowed to list them, or the module went away: the name can still be typed
        found += [(net_type, item["metadata"]["name"]) for item in items]
    return sorted(found)


def context(user, project, obj, state):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    declared = spec.get("networks") or [{"type": "Main"}]
    reported = status.get("networks") or []
    networks = []
    for index, net in enumerate(declared):
        seen = reported[index] if index < len(reported) and reported[index].get("type") == net.get("type") else {}
        networks.append({"order": index + 1, "type": net.get("type"), "name": net.get("name", ""),
                         "mac": seen.get("macAddress", ""), "id": net.get("id", "")})
    ip_name = status.get("virtualMachineIPAddressName") or spec.get("virtualMachineIPAddressName") or ""
    vmip, vmip_error = None, ""
    if ip_name:
        try:
            vmip = kube_for(user).get(kinds.VMIP, ip_name, project.name)
        except NotFound:
            vmip_error = f"The VirtualMachineIPAddress {ip_name} does not exist (yet)."
        except Forbidden:
            vmip_error = "You may not read VirtualMachineIPAddresses in this project."
    return {
        "networks": networks, "vmip": vmip, "vmip_name": ip_name, "vmip_error": vmip_error,
        "ip_kept": vmip is not None and not vmip["metadata"].get("ownerReferences"),
        "sdn": sdn_available(user),
        "available_networks": available_networks(user, project.name),
        "can_create_ip": can(user, "create", kinds.VMIP, project.name),
        "can_patch_ip": can(user, "patch", kinds.VMIP, project.name),
        "network_errors": state.errors, "network_posted": state.posted,
        "edit": state.edit or edit_module.Edit(user, obj, ("networks",)),
    }


def _error(request, field, message, edit=None):
    return TabState(posted=request.POST, errors={field: message}, edit=edit)


def request_static_ip(request, project, obj):
    """Create a Static VirtualMachineIPAddress and point the VM at it (the guide's "How to request a required ip
    address?"). If the address cannot be bound, the new object is removed again: nothing half-made."""
    text = request.POST.get("static_ip", "").strip()
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return _error(request, "static_ip", "Enter an IPv4 address, for example 10.66.20.77.")
    if (obj.get("status") or {}).get("ipAddress") == str(address):
        return _error(request, "static_ip", f"The virtual machine already has {address}.")
    kube, vm_name = kube_for(request.user), obj["metadata"]["name"]
    try:
        vmip = kube.create(kinds.VMIP, {"metadata": {"generateName": f"{vm_name[:50]}-"},
                                  "spec": {"type": "Static", "staticIP": str(address)}}, project.name)
    except KubeError as exc:
        return _error(request, "static_ip", exc.summary())
    ip_name = vmip["metadata"]["name"]
    refusal = _wait_for_binding(kube, ip_name, project.name)
    if refusal is None:
        try:
            kube.patch(kinds.VM, vm_name, {"spec": {"virtualMachineIPAddressName": ip_name}}, project.name)
        except KubeError as exc:
            refusal = exc.message
    if refusal is not None:
        try:
            kube.delete(kinds.VMIP, ip_name, project.name)
        except KubeError:
            pass
        return _error(request, "static_ip", refusal)
    messages.success(request, f"{address} is reserved as {ip_name} and assigned to {vm_name}.")
    return redirect(_url(project.name, vm_name))


def _wait_for_binding(kube, name, namespace):
    """None once the address is Bound, else the reason it is not (the Bound condition's message)."""
    deadline = time.monotonic() + BIND_WAIT_SECONDS
    while True:
        vmip = kube.get(kinds.VMIP, name, namespace)
        status = vmip.get("status") or {}
        if status.get("phase") in ("Bound", "Attached"):
            return None
        bound = next((c for c in status.get("conditions") or [] if c.get("type") == "Bound"), None)
        if bound and bound.get("status") == "False" and bound.get("reason") != "VirtualMachineIPAddressLeaseNotReady":
            return bound.get("message") or bound.get("reason")
        if time.monotonic() > deadline:
            return "The address was not bound in time; try again."
        time.sleep(0.1)


def keep_ip(request, project, obj):
    """Remove the ownerReferences of the VM's VirtualMachineIPAddress so it outlives the VM."""
    name = (obj.get("status") or {}).get("virtualMachineIPAddressName") or ""
    if not name:
        return _error(request, "keep", "The virtual machine has no IP address yet.")
    try:
        kube_for(request.user).patch(kinds.VMIP, name, {"metadata": {"ownerReferences": None}}, project.name)
    except KubeError as exc:
        return _error(request, "keep", exc.message)
    messages.success(request, f"The IP address {name} is kept when the virtual machine is deleted; "
                              f"give its name as the IP address of a new VM to reuse it.")
    return redirect(_url(project.name, obj["metadata"]["name"]))


def add_network(request, project, obj):
    if not sdn_available(request.user):
        return _error(request, "network", "Additional networks need the SDN module, which is not enabled in this "
                                          "cluster.")
    net_type, net_name = request.POST.get("network_type", ""), request.POST.get("network_name", "").strip()
    if net_type not in NETWORK_TYPES:
        return _error(request, "network", "Choose Network or ClusterNetwork.")
    if not net_name:
        return _error(request, "network", "Enter the name of the network.")
    edit = edit_module.Edit(request.user, obj, ("networks",), request.POST)
    networks = list(edit.base.get("networks") or [{"type": "Main"}])
    networks.append({"type": net_type, "name": net_name})  # new networks go last: interface order stays
    try:
        saved = edit.save(project.name, {"networks": networks})
    except KubeError as exc:
        return _error(request, "network", exc.summary(), edit)
    if saved is None:
        return _error(request, "network", "Someone else changed the networks meanwhile; check the list and add again.",
                      edit)
    messages.success(request, f"{net_type} {net_name} added; it is connected after a restart.")
    return redirect(_url(project.name, obj["metadata"]["name"]))
