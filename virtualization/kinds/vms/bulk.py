"""Bulk actions of the VM list: one operation (or Delete) for the checked VMs, confirmed first."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import NotFound, kinds
from projects.access import can, get_project, kube_for

from ... import registry
from . import bulk_delete
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


def targets(user, project, action, names):
    """[{name, vm, why}] of the checked VMs: `why` says why the action leaves one out ("" when it does not)."""
    can_operate = can(user, "create", kinds.VMOP, project.name)
    can_delete = can(user, "delete", kinds.VM, project.name)
    found = []
    for name in names:
        try:
            vm = kube_for(user).get(kinds.VM, name, project.name)
        except NotFound:
            found.append({"name": name, "vm": None, "why": "It no longer exists."})
            continue
        if action == "Delete":
            why = "" if can_delete else "You may not delete virtual machines here (needs delete on virtualmachines)."
        else:
            why = next(c["why"] for c in operation_choices(vm, can_operate) if c["type"] == action)
        found.append({"name": name, "vm": vm, "why": why})
    return found


def confirmation(request, project, action, found, list_url):
    ready = [t for t in found if not t["why"]]
    extra = bulk_delete.context(request.user, project, [t["vm"] for t in ready]) if action == "Delete" and ready else {}
    return render(request, "virtualization/vms/bulk_confirm.html", {
        "project": project, "resource": registry.get("vms"), "action": action, "targets": found, "ready": ready,
        "list_url": list_url, "disks_left": [], "can_delete_disks": False, **extra})


@require_POST
def bulk(request, project):
    """One operation (or Delete) for the VMs checked in the list: a confirmation naming them, then the action."""
    project = get_project(request.user, project)
    list_url = reverse("virtualization:list", args=[project.name, registry.get("vms")])
    action = request.POST.get("action")
    names = sorted(set(request.POST.getlist("names")))
    if action not in ACTIONS:
        raise Http404("No such action")
    if not names:
        messages.error(request, f"Select the virtual machines to {action.lower()} first.")
        return redirect(list_url)
    found = targets(request.user, project, action, names)
    if not request.POST.get("confirmed"):
        return confirmation(request, project, action, found, list_url)
    ready = [t for t in found if not t["why"]]
    if action == "Delete":
        bulk_delete.run(request, project, ready)
    else:
        for target in ready:
            run_operation(request, project.name, target["vm"], action)
    return redirect(list_url)
