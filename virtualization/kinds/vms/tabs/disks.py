"""The VM's "Disks and Images" tab: Boot Disks (`spec.blockDeviceRefs`: add, remove, reorder by boot
priority, resize) and Additional Disks hot-plugged through VirtualMachineBlockDeviceAttachments."""
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Forbidden, KubeError, NotFound, kinds, quantity
from projects.access import can, kube_for

from ....generic.detail import TabState
from .. import edit as edit_module

KEYS = ("blockDeviceRefs",)
DEVICE_KINDS = {"VirtualDisk": kinds.DISK, "VirtualImage": kinds.IMAGE, "ClusterVirtualImage": kinds.CLUSTER_IMAGE}


def _url(project, name):
    return reverse("virtualization:detail-tab", args=[project, "vms", name, "disks"])


def _attachments(user, project, vm_name):
    try:
        items = kube_for(user).list(kinds.VMBDA, project)
    except Forbidden:
        return None
    found = [a for a in items if (a.get("spec") or {}).get("virtualMachineName") == vm_name]
    return sorted(found, key=lambda a: a["metadata"].get("creationTimestamp", ""))


def _candidates(user, project, vm, attachments):
    """Disks (not used by any VM or attachment) and images that could be added or attached."""
    kube = kube_for(user)
    used = {(r.get("kind"), r.get("name")) for r in (vm.get("spec") or {}).get("blockDeviceRefs") or []}
    for attachment in attachments or []:
        ref = (attachment.get("spec") or {}).get("blockDeviceRef") or {}
        used.add((ref.get("kind"), ref.get("name")))
    options = []
    for disk in kube.list(kinds.DISK, project):
        attached = [a for a in (disk.get("status") or {}).get("attachedToVirtualMachines") or [] if a.get("name")]
        if ("VirtualDisk", disk["metadata"]["name"]) not in used and not attached:
            options.append(("VirtualDisk", disk["metadata"]["name"], (disk.get("status") or {}).get("capacity", "")))
    for image in kube.list(kinds.IMAGE, project):
        if ("VirtualImage", image["metadata"]["name"]) not in used:
            options.append(("VirtualImage", image["metadata"]["name"], "image"))
    try:
        for image in kube.list(kinds.CLUSTER_IMAGE):
            if ("ClusterVirtualImage", image["metadata"]["name"]) not in used:
                options.append(("ClusterVirtualImage", image["metadata"]["name"], "cluster image"))
    except Forbidden:
        pass
    return [{"value": f"{k}/{n}", "label": f"{n} ({k}{', ' + extra if extra and k == 'VirtualDisk' else ''})"}
            for k, n, extra in options]


def context(user, project, obj, state):
    name = obj["metadata"]["name"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    sizes = {(d.get("kind"), d.get("name")): d for d in status.get("blockDeviceRefs") or []}
    boot = [{"index": i, "kind": r["kind"], "name": r["name"], "size": (sizes.get((r["kind"], r["name"])) or {}).get("size"),
             "attached": (sizes.get((r["kind"], r["name"])) or {}).get("attached")}
            for i, r in enumerate(spec.get("blockDeviceRefs") or [])]
    attachments = _attachments(user, project.name, name)
    plugged = {d.get("virtualMachineBlockDeviceAttachmentName"): d for d in status.get("blockDeviceRefs") or []
               if d.get("hotplugged")}
    additional = [{"name": a["metadata"]["name"], "kind": a["spec"]["blockDeviceRef"]["kind"],
                   "device": a["spec"]["blockDeviceRef"]["name"], "phase": (a.get("status") or {}).get("phase"),
                   "size": (plugged.get(a["metadata"]["name"]) or {}).get("size"),
                   "message": _attachment_message(a)} for a in attachments or []]
    return {
        "boot_disks": boot, "additional_disks": additional, "attachments_readable": attachments is not None,
        "candidates": _candidates(user, project.name, obj, attachments),
        "can_attach": can(user, "create", kinds.VMBDA, project.name),
        "can_resize": can(user, "patch", kinds.DISK, project.name),
        "disk_errors": state.errors, "disk_posted": state.posted,
        "edit": state.edit or edit_module.Edit(user, obj, KEYS),
    }


def _attachment_message(vmbda):
    for cond in (vmbda.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "False" and cond.get("message"):
            return cond["message"]
    return ""


def _error(request, field, message, edit=None):
    return TabState(posted=request.POST, errors={field: message}, edit=edit)


def _parse_device(value):
    kind, _, name = (value or "").partition("/")
    return (kind, name) if kind in DEVICE_KINDS and name else (None, None)


def _save_boot(request, project, edit, refs, done):
    try:
        saved = edit.save(project.name, {"blockDeviceRefs": refs})
    except KubeError as exc:
        return _error(request, "boot", exc.summary(), edit)
    if saved is None:
        return _error(request, "boot", "Someone else changed the boot disks meanwhile; nothing was saved. "
                                       "The list below is theirs now: make your change again.", edit)
    messages.success(request, done + " It applies after a restart of the virtual machine.")
    return redirect(_url(project.name, edit.obj["metadata"]["name"]))


def _boot_refs(request, obj):
    edit = edit_module.Edit(request.user, obj, KEYS, request.POST)
    return edit, [dict(r) for r in edit.base.get("blockDeviceRefs") or []]


def _posted_index(request, refs):
    index = request.POST.get("index", "")
    return int(index) if index.isdigit() and int(index) < len(refs) else None


def _move(request, project, obj, step):
    edit, refs = _boot_refs(request, obj)
    index = _posted_index(request, refs)
    if index is None:
        return _error(request, "boot", "That boot disk is no longer in the list; the page shows the current list.")
    other = index + step
    if not 0 <= other < len(refs):
        return _error(request, "boot", "That disk cannot move further.")
    refs[index], refs[other] = refs[other], refs[index]
    for ref in refs:
        ref.pop("bootOrder", None)  # the order of the list is the boot priority
    return _save_boot(request, project, edit, refs, f"{refs[other]['name']} moved {'up' if step < 0 else 'down'}.")


def move_up(request, project, obj):
    return _move(request, project, obj, -1)


def move_down(request, project, obj):
    return _move(request, project, obj, +1)


def remove(request, project, obj):
    edit, refs = _boot_refs(request, obj)
    index = _posted_index(request, refs)
    if index is None:
        return _error(request, "boot", "That boot disk is no longer in the list; the page shows the current list.")
    if len(refs) == 1:
        return _error(request, "boot", "A virtual machine needs at least one boot disk.")
    removed = refs.pop(index)
    return _save_boot(request, project, edit, refs, f"{removed['name']} removed from the boot disks.")


def add(request, project, obj):
    edit, refs = _boot_refs(request, obj)
    kind, name = _parse_device(request.POST.get("device"))
    if not kind:
        return _error(request, "add", "Choose a disk or an image to add.")
    if any(r["kind"] == kind and r["name"] == name for r in refs):
        return _error(request, "add", f"{name} is already a boot disk.")
    refs.append({"kind": kind, "name": name})
    return _save_boot(request, project, edit, refs, f"{name} added to the boot disks.")


def attach(request, project, obj):
    """Hot-plug a disk or image (an Additional Disk) through a VirtualMachineBlockDeviceAttachment."""
    vm_name = obj["metadata"]["name"]
    kind, name = _parse_device(request.POST.get("device"))
    if not kind:
        return _error(request, "attach", "Choose a disk or an image to attach.")
    try:
        kube_for(request.user).create(kinds.VMBDA, {"metadata": {"generateName": f"{vm_name[:50]}-"}, "spec": {
            "virtualMachineName": vm_name, "blockDeviceRef": {"kind": kind, "name": name}}}, project.name)
    except KubeError as exc:
        return _error(request, "attach", exc.message)
    messages.success(request, f"{name} is being attached to {vm_name}.")
    return redirect(_url(project.name, vm_name))


def detach(request, project, obj):
    vm_name = obj["metadata"]["name"]
    attachment = request.POST.get("attachment", "")
    try:
        found = kube_for(request.user).get(kinds.VMBDA, attachment, project.name)
        if (found.get("spec") or {}).get("virtualMachineName") != vm_name:
            raise NotFound("not this VM's attachment")
        kube_for(request.user).delete(kinds.VMBDA, attachment, project.name)
    except NotFound:
        return _error(request, "detach", "That attachment no longer exists.")
    except KubeError as exc:
        return _error(request, "detach", exc.message)
    messages.success(request, f"{found['spec']['blockDeviceRef']['name']} is being detached from {vm_name}.")
    return redirect(_url(project.name, vm_name))


def resize(request, project, obj):
    name, size = request.POST.get("disk", ""), request.POST.get("size", "").strip().replace(" ", "")
    field = f"size-{name}"
    kube = kube_for(request.user)
    try:
        disk = kube.get(kinds.DISK, name, project.name)
    except NotFound:
        return _error(request, field, "That disk no longer exists.")
    current = ((disk.get("spec") or {}).get("persistentVolumeClaim") or {}).get("size") or \
        (disk.get("status") or {}).get("capacity") or ""
    wanted = quantity.to_bytes(size)
    if wanted is None:
        return _error(request, field, "Give a size with its unit, for example 20Gi.")
    have = quantity.to_bytes(current) or quantity.to_bytes((disk.get("status") or {}).get("capacity"))
    if have and wanted < have:
        return _error(request, field, f"A disk can only grow: it is {current} now; give more than that.")
    if have and wanted == have:
        return _error(request, field, f"The disk is already {current}.")
    try:
        kube.patch(kinds.DISK, name, {"spec": {"persistentVolumeClaim": {"size": size}}}, project.name)
    except KubeError as exc:
        return _error(request, field, exc.summary())
    messages.success(request, f"{name} is being resized to {size}.")
    return redirect(_url(project.name, obj["metadata"]["name"]))

