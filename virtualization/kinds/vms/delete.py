"""Deleting a VM keeps its disks: the confirmation lists the disks it leaves behind (its boot disks and the disks
hot-plugged into it) and offers to delete them too, each as the user, each outcome reported."""
from django.contrib import messages

from portal.kube import Forbidden, KubeError, NotFound, kinds
from projects.access import can, kube_for


def disks_left_behind(user, project, vm):
    """[{name, capacity, hotplugged, others}] of the VirtualDisks the VM uses; `others` are other VMs using it."""
    vm_name = vm["metadata"]["name"]
    names = [r["name"] for r in (vm.get("spec") or {}).get("blockDeviceRefs") or [] if r.get("kind") == "VirtualDisk"]
    hotplugged = []
    try:
        for attachment in kube_for(user).list(kinds.VMBDA, project):
            spec = attachment.get("spec") or {}
            ref = spec.get("blockDeviceRef") or {}
            if spec.get("virtualMachineName") == vm_name and ref.get("kind") == "VirtualDisk" and ref["name"] not in names:
                hotplugged.append(ref["name"])
    except Forbidden:
        pass
    disks = []
    for name in names + hotplugged:
        try:
            disk = kube_for(user).get(kinds.DISK, name, project)
        except NotFound:
            continue
        status = disk.get("status") or {}
        others = sorted({a.get("name") for a in status.get("attachedToVirtualMachines") or []} - {vm_name, None})
        disks.append({"name": name, "capacity": status.get("capacity") or "", "hotplugged": name in hotplugged,
                      "others": others})
    return disks


def context(user, project, vm):
    return {"disks_left": disks_left_behind(user, project.name, vm),
            "can_delete_disks": can(user, "delete", kinds.DISK, project.name)}


def delete_reported(request, kube, kind, noun, name, namespace):
    """Delete one object as the user and say how it went; True when it is gone or going."""
    try:
        kube.delete(kind, name, namespace)
    except NotFound:
        messages.info(request, f"The {noun} {name} was already gone.")
    except KubeError as exc:
        messages.error(request, f"The {noun} {name} was not deleted: {exc.message}")
        return False
    else:
        messages.success(request, f"The {noun} {name} is being deleted.")
    return True


def after(request, project, vm):
    """Delete the disks the user checked, among those the VM used (read before the VM was deleted)."""
    chosen = set(request.POST.getlist("delete_disk"))
    kube = kube_for(request.user)
    for disk in disks_left_behind(request.user, project.name, vm):
        if disk["name"] in chosen:
            delete_reported(request, kube, kinds.DISK, "disk", disk["name"], project.name)
