"""VM operations: the menu of what applies (and why not), the confirmation, Migrate and its cancel,
bulk actions from the list, and the Events tab's timeline of events and operations.
"""
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from portal.htmx import is_partial
from portal.kube import KubeError, NotFound, kinds
from projects.access import can, get_project, kube_for

from ... import registry
from ...generic import tables
from ...generic.detail import STATUS_BLOCK, detail_context, get_object
from .snapshots import NewNamesForm


# The operations the console offers: (VMOP type, the VM phases and run policies in which DVP applies it).
# "Migrate" in the web interface creates an Evict operation, as `d8 v evict` does.
OPERATIONS = {
    "Start": ("Start", ("Stopped", "Stopping"), ("Manual", "AlwaysOnUnlessStoppedManually")),
    "Stop": ("Stop", ("Running", "Degraded", "Starting", "Pause", "Pending"),
             ("Manual", "AlwaysOnUnlessStoppedManually")),
    "Restart": ("Restart", ("Running", "Degraded", "Starting", "Pause"),
                ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn")),
    "Migrate": ("Evict", ("Running",), ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn")),
    # dvp-api-notes §8.1: Clone applies to Stopped and Running VMs under any run policy (the guide asks for a
    # powered-off VM; a running one is snapshotted first, which needs its guest agent for consistency).
    "Clone": ("Clone", ("Stopped", "Running"), ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn", "AlwaysOff")),
}
RUN_POLICY_WHY = {
    "AlwaysOff": "the run policy AlwaysOff keeps it off",
    "AlwaysOn": "the run policy AlwaysOn keeps it running",
}
MIGRATION_TYPES = ("Evict", "Migrate")
VMOP_FINISHED = ("Completed", "Failed", "Superseded")


def operation_choices(vm, can_operate=True):
    """The menu of operations for one VM: which apply now, and why the others do not."""
    phase = (vm.get("status") or {}).get("phase") or "Pending"
    policy = (vm.get("spec") or {}).get("runPolicy") or "AlwaysOnUnlessStoppedManually"
    migratable = next((c for c in (vm.get("status") or {}).get("conditions") or [] if c.get("type") == "Migratable"),
                      None)
    choices = []
    for label, (vmop_type, phases, policies) in OPERATIONS.items():
        if not can_operate:
            why = "You may not run operations here (needs create on virtualmachineoperations)."
        elif policy not in policies:
            why = f"{label} is not possible: {RUN_POLICY_WHY.get(policy, f'the run policy is {policy}')}."
        elif phase not in phases:
            why = f"Not applicable while the VM is {phase}."
        elif label == "Migrate" and (migratable or {}).get("status") == "False":
            why = f"The VM cannot be live-migrated: {migratable.get('message') or migratable.get('reason')}."
        else:
            why = ""
        choices.append({"type": label, "vmop_type": vmop_type, "applicable": not why, "why": why})
    return choices


def operations_of(user, project, vm_name=None):
    """VirtualMachineOperations of the project (of one VM), newest first."""
    ops = [op for op in kube_for(user).list(kinds.VMOP, project)
           if vm_name is None or (op.get("spec") or {}).get("virtualMachineName") == vm_name]
    return sorted(ops, key=lambda op: op["metadata"].get("creationTimestamp", ""), reverse=True)


def timeline(user, project, obj, events):
    """The Events tab of a VM: its events, its operations and their events, newest first."""
    name = obj["metadata"]["name"]
    ops = operations_of(user, project.name, name)
    op_names = {op["metadata"]["name"] for op in ops}
    items = []
    for op in ops:
        completed = next((c for c in (op.get("status") or {}).get("conditions") or [] if c.get("type") == "Completed"),
                         {})
        items.append({"kind": "operation", "time": op["metadata"].get("creationTimestamp", ""), "name":
                      op["metadata"]["name"], "type": op["spec"].get("type", ""),
                      "reason": (op.get("status") or {}).get("phase") or "Pending",
                      "progress": (op.get("status") or {}).get("progress", ""), "message": completed.get("message", "")})
    if events is not None:
        related = [e for e in kube_for(user).list(kinds.EVENT, project.name)
                   if (e.get("involvedObject") or {}).get("kind") == kinds.VMOP.kind
                   and (e.get("involvedObject") or {}).get("name") in op_names]
        for event in list(events) + related:
            involved = event.get("involvedObject") or {}
            items.append({"kind": "event", "time": event.get("lastTimestamp") or event.get("eventTime")
                          or event["metadata"].get("creationTimestamp", ""),
                          "about": f"Operation {involved['name']}" if involved.get("kind") == kinds.VMOP.kind else "",
                          "type": event.get("type", ""), "reason": event.get("reason", ""),
                          "message": event.get("message", ""), "count": event.get("count", 1)})
    return sorted(items, key=lambda item: item["time"], reverse=True)


def decorate_rows(user, project, rows):
    """The list's per-row menu: which operations apply to each VM now, and why not. A VM's name opens its
    "Configuration" tab (the guide: "click on its name. You are now on the "Configuration" tab")."""
    can_operate = can(user, "create", kinds.VMOP, project)
    back = reverse("virtualization:list", args=[project, "vms"])
    configuration = reverse("virtualization:detail-tab", args=[project, "vms", tables.NAME_SLOT, "configuration"])
    operate = reverse("virtualization:vm-operation", args=[project, tables.NAME_SLOT]) + "?type={}&next=" + back
    delete = reverse("virtualization:delete", args=[project, "vms", tables.NAME_SLOT])
    for row in rows:
        name = quote(row.name)
        row.operations = operation_choices(row.object, can_operate)
        for op in row.operations:
            op["url"] = operate.replace(tables.NAME_SLOT, name).format(op["type"])
        row.delete_url = delete.replace(tables.NAME_SLOT, name)
        row.url = configuration.replace(tables.NAME_SLOT, name)


def _resource():
    """The VM entry of the registry (declared by this package's __init__, which imports this module)."""
    return registry.get("vms")


@require_http_methods(["GET", "POST"])
def operation(request, project, name):
    """GET: the confirmation (a dialog under htmx, a page without it); POST: create the VirtualMachineOperation."""
    project = get_project(request.user, project)
    resource = _resource()
    label = request.POST.get("type") or request.GET.get("type")
    if label not in OPERATIONS:
        raise Http404("No such operation")
    vm = get_object(request.user, project, resource, name)
    clone_form = None
    if label == "Clone":  # the new names (customization) and the mode, checked before anything is created
        clone_form = NewNamesForm(request.POST if request.method == "POST" else None, source_name=name,
                                  initial={"name_suffix": "-clone"})
    if request.method == "GET" or (clone_form is not None and not clone_form.is_valid()):
        choice = next(c for c in operation_choices(vm, can(request.user, "create", kinds.VMOP, project.name))
                      if c["type"] == label)
        partial = "#dialog" if is_partial(request) and request.method == "GET" else ""
        return render(request, "virtualization/vms/operation_confirm.html" + partial, {
            "project": project, "resource": resource, "name": name, "vm": vm, "choice": choice,
            "force_choice": force_choice(vm) if label == "Migrate" else None, "next": _next_url(request),
            "clone_form": clone_form,
        }, status=422 if clone_form is not None and clone_form.errors else 200)
    run_operation(request, project.name, vm, label, force=request.POST.get("force"), clone_form=clone_form)
    if _next_url(request):
        return redirect(_next_url(request))
    if is_partial(request):
        return _status_with_messages(request, project, name)
    return redirect(reverse("virtualization:detail", args=[project.name, resource, name]))


def _next_url(request):
    """Where to go back to after a confirmation opened from elsewhere (the list): a path on this site only."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()) else ""


def force_choice(vm):
    """The AutoConverge switch a migration offers under the VM's liveMigrationPolicy (None: fixed by the policy)."""
    policy = (vm.get("spec") or {}).get("liveMigrationPolicy") or "PreferSafe"
    if policy == "PreferSafe":
        return {"default": False, "label": "Force (slow the CPU down with AutoConverge so the migration completes)"}
    if policy == "PreferForced":
        return {"default": True, "label": "Force (keep AutoConverge: the CPU may be slowed down to complete)"}
    return None


def run_operation(request, project, vm, label, force=None, clone_form=None):
    """Create the VMOP for one VM as the user; the outcome goes to the messages. True when created."""
    name = vm["metadata"]["name"]
    vmop_type = OPERATIONS[label][0]
    spec = {"type": vmop_type, "virtualMachineName": name}
    if label == "Migrate" and force_choice(vm) is not None:
        spec["force"] = force == "on"
    if label == "Clone":
        if clone_form is None or not clone_form.is_valid():
            messages.error(request, f"Clone {name} from its page: the clone needs new names.")
            return False
        spec["clone"] = clone_form.spec()  # dvp-api-notes §8.2: spec.clone.customization (with z), singular names
    try:
        created = kube_for(request.user).create(kinds.VMOP, {"metadata": {"generateName": f"{name}-{label.lower()}-"},
                                                       "spec": spec}, project)
    except KubeError as exc:
        messages.error(request, f"{label} of {name} was refused: {exc.message}")
        return False
    if label == "Clone":
        dry = " (dry run: only checks for conflicts)" if spec["clone"]["mode"] == "DryRun" else ""
        messages.success(request, f"Clone of {name} requested{dry}: the new virtual machine is "
                                  f"{clone_form.new_name()} (operation {created['metadata']['name']}; its progress "
                                  f"shows under Operations).")
        return True
    messages.success(request, f"{label} requested for {name}.")
    return True


def _status_with_messages(request, project, name):
    resource = _resource()
    obj = get_object(request.user, project, resource, name)
    context = detail_context(request.user, project, resource, obj)
    status = render(request, STATUS_BLOCK, context)
    flash = render(request, "includes/messages.html", {"oob": True})
    status.content += flash.content
    return status


@require_http_methods(["GET", "POST"])
def cancel_migration(request, project, name, operation_name):
    """Cancel a live migration: delete its VirtualMachineOperation (confirmed first)."""
    project = get_project(request.user, project)
    resource = _resource()
    try:
        op = kube_for(request.user).get(kinds.VMOP, operation_name, project.name)
    except NotFound:
        raise Http404("No such operation")
    if op["spec"].get("virtualMachineName") != name or op["spec"].get("type") not in MIGRATION_TYPES:
        raise Http404("No such migration")
    if request.method == "GET":
        return render(request, "virtualization/vms/cancel_migration.html" + ("#dialog" if is_partial(request) else ""),
                      {"project": project, "resource": resource, "name": name, "op": op})
    try:
        kube_for(request.user).delete(kinds.VMOP, operation_name, project.name)
        messages.success(request, f"The migration of {name} is being canceled.")
    except NotFound:
        messages.info(request, f"The migration {operation_name} has already finished.")
    except KubeError as exc:
        messages.error(request, f"Canceling the migration was refused: {exc.message}")
    if is_partial(request):
        return _status_with_messages(request, project, name)
    return redirect(reverse("virtualization:detail", args=[project.name, resource, name]))
