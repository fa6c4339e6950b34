"""Bulk Delete of the VM list: the disks the selected VMs leave behind, offered for deletion too.

As the single delete (vms/delete.py) does, unchecked by default: each VM's boot disks (spec.blockDeviceRefs) and
the disks hot-plugged into it (VirtualMachineBlockDeviceAttachments). A disk another VM that is not being deleted
still uses is listed but never offered, and the POST is held to the same rule. A checked disk is deleted only once
every selected VM using it was deleted: a refused VM keeps its disks. Every call as the user, every outcome said.
"""
from django.contrib import messages

from portal.kube import Forbidden, NotFound, kinds
from projects.access import can, kube_for

from .delete import delete_reported


def _attachments(kube, project):
    """[(vm name, disk name)] of the project's hot-plug attachments of disks ([] when the user may not list them)."""
    try:
        items = kube.list(kinds.VMBDA, project)
    except Forbidden:
        return []
    pairs = []
    for attachment in items:
        spec = attachment.get("spec") or {}
        ref = spec.get("blockDeviceRef") or {}
        if ref.get("kind") == "VirtualDisk" and spec.get("virtualMachineName"):
            pairs.append((spec["virtualMachineName"], ref.get("name")))
    return pairs


def _boot_disks(vm):
    return [r["name"] for r in (vm.get("spec") or {}).get("blockDeviceRefs") or [] if r.get("kind") == "VirtualDisk"]


def _users(kube, project, disk_names, attachments):
    """{disk: VM names using it}: boot references of every VM and hot-plug attachments."""
    users = {name: set() for name in disk_names}
    try:
        vms = kube.list(kinds.VM, project)
    except Forbidden:
        vms = []
    for vm in vms:
        for name in set(_boot_disks(vm)) & users.keys():
            users[name].add(vm["metadata"]["name"])
    for vm_name, name in attachments:
        if name in users:
            users[name].add(vm_name)
    return users


def disks_left_behind(user, project, vms):
    """[{name, capacity, boot_of, hotplugged_into, kept}] of the disks the VMs use, sorted by name.

    `kept` says why a disk is not offered: another VM, not among `vms`, uses it."""
    kube = kube_for(user)
    selected = {vm["metadata"]["name"] for vm in vms}
    boot = {vm["metadata"]["name"]: _boot_disks(vm) for vm in vms}
    attachments = _attachments(kube, project)
    hotplugged = [(v, d) for v, d in attachments if v in selected and d not in boot[v]]
    names = sorted({d for disks in boot.values() for d in disks} | {d for _, d in hotplugged})
    users = _users(kube, project, names, attachments)
    disks = []
    for name in names:
        try:
            status = kube.get(kinds.DISK, name, project).get("status") or {}
        except NotFound:
            continue
        attached = {a.get("name") for a in status.get("attachedToVirtualMachines") or []} - {None}
        others = sorted((users[name] | attached) - selected)
        disks.append({
            "name": name, "capacity": status.get("capacity") or "",
            "boot_of": sorted(v for v, disks in boot.items() if name in disks),
            "hotplugged_into": sorted(v for v, d in hotplugged if d == name),
            "kept": f"also used by {', '.join(others)}, which is not being deleted" if others else ""})
    return disks


def context(user, project, vms):
    return {"disks_left": disks_left_behind(user, project.name, vms),
            "can_delete_disks": can(user, "delete", kinds.DISK, project.name)}


def delete_vms(request, project, targets):
    """Delete each VM as the user; the names of those gone or going."""
    kube = kube_for(request.user)
    deleted = set()
    for target in targets:
        if delete_reported(request, kube, kinds.VM, "virtual machine", target["name"], project.name):
            deleted.add(target["name"])
    return deleted


def delete_chosen_disks(request, project, disks, deleted):
    """Delete the disks the user checked among those offered (read before the VMs were deleted), each reported."""
    chosen = set(request.POST.getlist("delete_disk"))
    kube = kube_for(request.user)
    for disk in disks:
        name = disk["name"]
        if name not in chosen or disk["kept"]:
            continue
        refused = sorted(set(disk["boot_of"] + disk["hotplugged_into"]) - deleted)
        if refused:
            messages.warning(request, f"The disk {name} was kept: {', '.join(refused)} was not deleted.")
            continue
        delete_reported(request, kube, kinds.DISK, "disk", name, project.name)


def run(request, project, targets):
    """Delete the confirmed VMs, then the disks checked among those they leave behind."""
    if not targets:
        return
    disks = disks_left_behind(request.user, project.name, [t["vm"] for t in targets])
    deleted = delete_vms(request, project, targets)
    delete_chosen_disks(request, project, disks, deleted)
