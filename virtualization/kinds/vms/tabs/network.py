"""The VM's "Network" tab: the Main network and additional networks in order with their MAC
addresses, and the VM's IP address (VirtualMachineIPAddress): request a static one, keep it
after the VM is deleted."""
import ipaddress

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Forbidden, KubeError, NotFound, kinds
from projects.access import can, kube_for

from ....generic.detail import TabState
from ... import services
from .. import edit as edit_module

SDN_GROUP = "network.deckhouse.io"
NETWORK_TYPES = ("Network", "ClusterNetwork")
# The label of an address requested from this tab and not yet assigned to its VM.
REQUESTED_FOR = "dvp-console.deckhouse.io/requested-for"
BOUND = ("Bound", "Attached")


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
        "requested": requested(user, project.name, obj["metadata"]["name"]),
        "edit": state.edit or edit_module.Edit(user, obj, ("networks",)),
        **services.reaching(user, project.name, obj),
    }


def _error(request, field, message, edit=None):
    return TabState(posted=request.POST, errors={field: message}, edit=edit)


def request_static_ip(request, project, obj):
    """Create a Static VirtualMachineIPAddress for the VM (the guide's "How to request a required ip address?").

    Nothing waits here: the address is labelled as requested for this VM, and the tab follows it. Once it is
    bound the tab assigns it to the VM (assign_ip); if it cannot be bound the tab removes it again and shows why
    (discard_ip): nothing half-made is left.
    """
    text = request.POST.get("static_ip", "").strip()
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return _error(request, "static_ip", "Enter an IPv4 address, for example 10.66.20.77.")
    if (obj.get("status") or {}).get("ipAddress") == str(address):
        return _error(request, "static_ip", f"The virtual machine already has {address}.")
    vm_name = obj["metadata"]["name"]
    try:
        vmip = kube_for(request.user).create(kinds.VMIP, {
            "metadata": {"generateName": f"{vm_name[:50]}-", "labels": {REQUESTED_FOR: vm_name}},
            "spec": {"type": "Static", "staticIP": str(address)}}, project.name)
    except KubeError as exc:
        return _error(request, "static_ip", exc.summary())
    messages.info(request, f"{address} is being reserved as {vmip['metadata']['name']}; it is assigned to {vm_name} "
                           "once bound.")
    return redirect(_url(project.name, vm_name))


def requested(user, project, vm_name):
    """The addresses requested for the VM from this tab and not assigned yet, with how each stands."""
    try:
        items = kube_for(user).list(kinds.VMIP, project, label_selector=f"{REQUESTED_FOR}={vm_name}")
    except KubeError:
        return []
    return [{"name": v["metadata"]["name"], "address": (v.get("spec") or {}).get("staticIP", ""),
             "bound": (v.get("status") or {}).get("phase") in BOUND, "refusal": _refusal(v)} for v in items]


def concerns(vmip, vm_name):
    """Whether a change of this address shows on the VM's page (its address, or one requested for it)."""
    return (vmip.get("status") or {}).get("virtualMachineName") == vm_name or \
        (vmip["metadata"].get("labels") or {}).get(REQUESTED_FOR) == vm_name


def _refusal(vmip):
    """Why the address cannot be bound (the Bound condition's message), or "" while it may still be."""
    bound = next((c for c in (vmip.get("status") or {}).get("conditions") or [] if c.get("type") == "Bound"), None)
    if bound and bound.get("status") == "False" and bound.get("reason") != "VirtualMachineIPAddressLeaseNotReady":
        return bound.get("message") or bound.get("reason")
    return ""


def _requested_vmip(request, project, vm_name):
    try:
        vmip = kube_for(request.user).get(kinds.VMIP, request.POST.get("vmip", ""), project.name)
    except NotFound:
        return None
    return vmip if (vmip["metadata"].get("labels") or {}).get(REQUESTED_FOR) == vm_name else None


def assign_ip(request, project, obj):
    """Point the VM at a requested address once it is bound, and mark the request done."""
    vm_name = obj["metadata"]["name"]
    vmip = _requested_vmip(request, project, vm_name)
    if vmip is None:
        return _error(request, "static_ip", "That address request no longer exists.")
    if (vmip.get("status") or {}).get("phase") not in BOUND:
        return _error(request, "static_ip", "The address is not bound yet; it is assigned once it is.")
    kube, ip_name = kube_for(request.user), vmip["metadata"]["name"]
    kube.patch(kinds.VM, vm_name, {"spec": {"virtualMachineIPAddressName": ip_name}}, project.name)
    kube.patch(kinds.VMIP, ip_name, {"metadata": {"labels": {REQUESTED_FOR: None}}}, project.name)
    messages.success(request, f"{vmip['spec']['staticIP']} is reserved as {ip_name} and assigned to {vm_name}.")
    return redirect(_url(project.name, vm_name))


def discard_ip(request, project, obj):
    """Remove a requested address that cannot be bound; the tab shows why, with the address kept in the field."""
    vmip = _requested_vmip(request, project, obj["metadata"]["name"])
    if vmip is None:
        return redirect(_url(project.name, obj["metadata"]["name"]))
    try:
        kube_for(request.user).delete(kinds.VMIP, vmip["metadata"]["name"], project.name)
    except NotFound:
        pass
    return TabState(posted={"static_ip": vmip["spec"].get("staticIP", "")},
                    errors={"static_ip": _refusal(vmip) or "The address request was withdrawn."})


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
