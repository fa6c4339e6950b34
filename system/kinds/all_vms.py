"""System → Virtualization → Virtual Machines: the VMs of every project in one list for operators (the admin guide's
"Start migration of an arbitrary machine"), filtered by project, node and phase, with Migrate (an Evict
VirtualMachineOperation made as the user, after a confirmation). Each VM links to its page in its project."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.kube import KubeError, kinds
from projects.access import can, kube_for
from virtualization.registry import Route

from ..generic import open_object, page_context
from ..registry import SystemResource, by_slug, register


def vm_list(user, resource, query):
    vms = kube_for(user).list(kinds.VM)
    wanted = {key: query.get(key, "") for key in ("project", "node", "phase")}
    options = {"project": sorted({vm["metadata"]["namespace"] for vm in vms}),
               "node": sorted({(vm.get("status") or {}).get("nodeName") for vm in vms} - {None, ""}),
               "phase": sorted({(vm.get("status") or {}).get("phase") or "Pending" for vm in vms})}

    def shown(vm):
        status = vm.get("status") or {}
        return ((not wanted["project"] or vm["metadata"]["namespace"] == wanted["project"])
                and (not wanted["node"] or status.get("nodeName") == wanted["node"])
                and (not wanted["phase"] or (status.get("phase") or "Pending") == wanted["phase"]))
    rows = [{"vm": vm, "project": vm["metadata"]["namespace"], "name": vm["metadata"]["name"],
             "phase": (vm.get("status") or {}).get("phase") or "Pending",
             "node": (vm.get("status") or {}).get("nodeName", ""),
             "url": reverse("virtualization:detail", args=[vm["metadata"]["namespace"], "vms", vm["metadata"]["name"]]),
             "migrate_url": reverse("system:vm-migrate", args=[vm["metadata"]["namespace"], vm["metadata"]["name"]])}
            for vm in sorted(vms, key=lambda v: (v["metadata"]["namespace"], v["metadata"]["name"])) if shown(vm)]
    return {"rows": rows, "wanted": wanted, "options": options, "may_migrate": can(user, "create", kinds.VMOP)}


@login_required
@require_http_methods(["GET", "POST"])
def migrate(request, project, name):
    """Confirm, then migrate: an Evict operation, which moves the VM to another node its placement allows."""
    resource, vm = open_object(request, "virtual-machines", kinds.VM, project, name)
    kube = kube_for(request.user)
    error = ""
    if request.method == "POST":
        try:
            op = kube.create(kinds.VMOP, {"metadata": {"generateName": f"evict-{name}-"},
                                          "spec": {"type": "Evict", "virtualMachineName": name}}, project)
        except KubeError as exc:
            error = exc.message
        else:
            messages.success(request, f"The migration of {project}/{name} started ({op['metadata']['name']}).")
            return redirect(reverse("system:list", args=[by_slug("migrations")]))
    return render(request, "system/all-vms/migrate.html", page_context(
        request, resource, vm=vm, project=project, name=name, error=error), status=422 if error else 200)


register(SystemResource(
    slug="virtual-machines", kind=kinds.VM, title="Virtual Machines", noun="virtual machine",
    section="virtualization", section_title="Virtualization", gate="list", nav_order=30, columns=(),
    routes=(Route("<str:project>/<str:name>/migrate/", migrate, "vm-migrate"),), list_context=vm_list, list_template="system/all-vms/list.html",
))
