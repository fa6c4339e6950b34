"""System → Virtualization → Migrations: the live migrations of every project (Evict and Migrate operations) with
their progress and the nodes they move between, followed live while the page is open (system/live.py); Cancel deletes the operation
while it is Pending or InProgress, which is how the admin guide aborts a migration."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.kube import KubeError, kinds
from projects.access import can, kube_for
from virtualization.registry import Route

from ..generic import open_object
from ..registry import SystemResource, register

CANCELLABLE = ("Pending", "InProgress")


def migration_rows(user):
    kube = kube_for(user)
    vms = {(vm["metadata"]["namespace"], vm["metadata"]["name"]): vm for vm in kube.list(kinds.VM)}
    rows = []
    for op in kube.list(kinds.VMOP):
        spec, status, meta = op.get("spec") or {}, op.get("status") or {}, op["metadata"]
        if spec.get("type") not in ("Evict", "Migrate"):
            continue
        vm = vms.get((meta["namespace"], spec.get("virtualMachineName"))) or {}
        state = (vm.get("status") or {}).get("migrationState") or {}
        completed = next((c for c in status.get("conditions") or [] if c.get("type") == "Completed"), {})
        rows.append({"op": op, "project": meta["namespace"], "name": meta["name"], "vm": spec.get("virtualMachineName"),
                     "type": spec.get("type"), "phase": status.get("phase") or "Pending",
                     "progress": status.get("progress", ""), "message": completed.get("message", ""),
                     "source": (state.get("source") or {}).get("node", ""),
                     "target": (state.get("target") or {}).get("node", ""),
                     "created": meta.get("creationTimestamp", ""),
                     "cancel_url": reverse("system:migration-cancel", args=[meta["namespace"], meta["name"]])})
    rows.sort(key=lambda r: (r["phase"] not in CANCELLABLE, r["created"]), reverse=False)
    return rows


def migrations_context(user, resource, query):
    rows = migration_rows(user)
    return {"rows": rows, "in_progress": [r for r in rows if r["phase"] in CANCELLABLE],
            "done": [r for r in rows if r["phase"] not in CANCELLABLE][-20:],
            "may_cancel": can(user, "delete", kinds.VMOP), "cancellable": CANCELLABLE}


@login_required
@require_POST
def cancel(request, project, name):
    resource, op = open_object(request, "migrations", kinds.VMOP, project, name)
    kube = kube_for(request.user)
    phase = (op.get("status") or {}).get("phase") or "Pending"
    if phase not in CANCELLABLE:
        messages.error(request, f"The migration {project}/{name} is {phase}: only a Pending or InProgress one can be "
                                "cancelled.")
    else:
        try:
            kube.delete(kinds.VMOP, name, project)
        except KubeError as exc:
            messages.error(request, f"Cancelling {project}/{name} was refused: {exc.message}")
        else:
            messages.success(request, f"The migration {project}/{name} is cancelled: the VM stays where it runs.")
    return redirect(reverse("system:list", args=[resource]))


register(SystemResource(
    slug="migrations", kind=kinds.VMOP, title="Migrations", noun="migration", section="virtualization",
    section_title="Virtualization", gate="list", nav_order=40, columns=(),
    routes=(Route("<str:project>/<str:name>/cancel/", cancel, "migration-cancel"),), list_context=migrations_context,
    list_template="system/migrations/list.html", live_watch=(kinds.VM,),
))
