"""Bulk actions of the VM list: one operation (or Delete) for the checked VMs, confirmed first."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from ... import registry
from .operations import operation_choices, run_operation

ACTIONS = ("Start", "Stop", "Restart", "Migrate", "Delete")


def blocked(user, project):
    """{bulk action: the missing permission} for the list's bulk buttons."""
    blocked = {}
    if not can(user, "create", kinds.VMOP, project):
        blocked.update({a: "needs create on virtualmachineoperations" for a in ACTIONS if a != "Delete"})
    if not can(user, "delete", kinds.VM, project):
        blocked["Delete"] = "needs delete on virtualmachines"
    return blocked


@require_POST
def bulk(request, project):
    """One operation (or Delete) for the VMs checked in the list: a confirmation naming them, then the action."""
    project = get_project(request.user, project)
    resource = registry.get("vms")
    list_url = reverse("virtualization:list", args=[project.name, resource])
    action = request.POST.get("action")
    names = sorted(set(request.POST.getlist("names")))
    if action not in ACTIONS:
        raise Http404("No such action")
    if not names:
        messages.error(request, f"Select the virtual machines to {action.lower()} first.")
        return redirect(list_url)
    can_operate = can(request.user, "create", kinds.VMOP, project.name)
    can_delete = can(request.user, "delete", kinds.VM, project.name)
    targets = []
    for name in names:
        try:
            vm = kube_for(request.user).get(kinds.VM, name, project.name)
        except NotFound:
            targets.append({"name": name, "vm": None, "why": "It no longer exists."})
            continue
        if action == "Delete":
            why = "" if can_delete else "You may not delete virtual machines here (needs delete on virtualmachines)."
        else:
            why = next(c["why"] for c in operation_choices(vm, can_operate) if c["type"] == action)
        targets.append({"name": name, "vm": vm, "why": why})
    ready = [t for t in targets if not t["why"]]
    if not request.POST.get("confirmed"):
        return render(request, "virtualization/vms/bulk_confirm.html", {
            "project": project, "resource": resource, "action": action, "targets": targets, "ready": ready,
            "list_url": list_url})
    for target in ready:
        if action == "Delete":
            try:
                kube_for(request.user).delete(kinds.VM, target["name"], project.name)
                messages.success(request, f"The virtual machine {target['name']} is being deleted.")
            except KubeError as exc:
                messages.error(request, f"Deleting {target['name']} was refused: {exc.message}")
        else:
            run_operation(request, project.name, target["vm"], action)
    return redirect(list_url)
