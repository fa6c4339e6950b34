"""System → Nodes → Nodes of all groups (Node): each node with its VMs, the CPU and memory they reserve, its taints,
labels and schedulability; "Cordon + Drain" and "Uncordon" (the admin guide's maintenance mode), the drain's
evacuations shown live on the node's page, and what keeps a drain from finishing.

Draining is what `d8 k drain <node> --pod-selector vm.kubevirt.internal.virtualization.deckhouse.io/name` does, as
the user: the node is cordoned, then each VM's virt-launcher Pod is evicted; KubeVirt answers 429 and DVP moves
the VM away with an Evict operation `evacuation-*`. A VM that cannot be live-migrated stays, and its page says why.
"""
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import KubeError, kinds, quantity
from projects.access import can, kube_for
from virtualization.registry import Action, Tab

from ..registry import SystemResource, register

VM_POD_LABEL = "vm.kubevirt.internal.virtualization.deckhouse.io/name"
IN_FLIGHT = ("Pending", "InProgress")
TOO_MANY_REQUESTS = 429  # KubeVirt's answer to evicting a virt-launcher Pod: the VM is evacuated instead


def all_vms(user):
    try:
        return kube_for(user).list(kinds.VM)
    except KubeError:
        return []


def reserved(vms):
    """(CPU cores reserved, memory reserved) by these VMs: cores × core fraction, memory size."""
    cpu, memory = 0.0, 0
    for vm in vms:
        spec = vm.get("spec") or {}
        fraction = str((spec.get("cpu") or {}).get("coreFraction") or "100%").rstrip("%")
        cpu += ((spec.get("cpu") or {}).get("cores") or 1) * (int(fraction) if fraction.isdigit() else 100) / 100
        memory += quantity.parse((spec.get("memory") or {}).get("size") or "0") or 0
    return cpu, memory


def _gib(size):
    return f"{size / 1024**3:g}Gi"


def list_extra(user, rows):
    vms = all_vms(user)
    for row in rows:
        here = [vm for vm in vms if (vm.get("status") or {}).get("nodeName") == row.name]
        cpu, memory = reserved(here)
        spec = row.object.get("spec") or {}
        row.extra = {"VMs": str(len(here)), "CPU reserved": f"{cpu:g}", "Memory reserved": _gib(memory),
                     "Schedulable": "no (cordoned)" if spec.get("unschedulable") else "yes",
                     "Taints": ", ".join(f'{t.get("key")}{"=" + t["value"] if t.get("value") else ""}:{t.get("effect")}'
                                         for t in spec.get("taints") or [])}
    return ("VMs", "CPU reserved", "Memory reserved", "Schedulable", "Taints")


def _condition(obj, type_):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


def _migrations(user, vms, node):
    """Evict and Migrate operations, in flight or failed, of the VMs on this node (all projects)."""
    try:
        operations = kube_for(user).list(kinds.VMOP)
    except KubeError:
        return []
    names = {(vm["metadata"]["namespace"], vm["metadata"]["name"]) for vm in vms}
    return sorted((op for op in operations
                   if (op.get("spec") or {}).get("type") in ("Evict", "Migrate")
                   and (op["metadata"]["namespace"], (op.get("spec") or {}).get("virtualMachineName")) in names),
                  key=lambda op: op["metadata"].get("creationTimestamp") or "", reverse=True)


def _blocker(vm, operations):
    """Why this VM keeps the drain from finishing, or ''."""
    migratable = _condition(vm, "Migratable")
    if migratable.get("status") == "False":
        return f"it cannot be live-migrated: {migratable.get('message') or migratable.get('reason')}"
    failed = next((op for op in operations if op["spec"]["virtualMachineName"] == vm["metadata"]["name"]
                   and op["metadata"]["namespace"] == vm["metadata"]["namespace"]), None)
    if failed and (failed.get("status") or {}).get("phase") == "Failed":
        completed = _condition(failed, "Completed")
        return f"its migration {failed['metadata']['name']} failed: {completed.get('message') or 'no reason given'}"
    return ""


def detail_context(user, scope, obj):
    name = obj["metadata"]["name"]
    vms = [vm for vm in all_vms(user) if (vm.get("status") or {}).get("nodeName") == name]
    operations = _migrations(user, vms, name)
    cordoned = bool((obj.get("spec") or {}).get("unschedulable"))
    cpu, memory = reserved(vms)
    rows = [{"vm": vm, "phase": (vm.get("status") or {}).get("phase", ""),
             "blocker": _blocker(vm, operations) if cordoned else ""} for vm in vms]
    return {
        "node_vms": rows, "migrations": [op for op in operations if (op.get("status") or {}).get("phase") in IN_FLIGHT],
        "cordoned": cordoned, "drain_blocked": cordoned and any(r["blocker"] for r in rows),
        "reserved_cpu": f"{cpu:g}", "reserved_memory": _gib(memory),
        "node_phase": "Ready" if _condition(obj, "Ready").get("status") == "True" else "NotReady",
        "may_maintain": can(user, "patch", kinds.NODE, None, name),
        "drain_url": reverse("system:nodes-vms-cordon-drain", args=[name]),
        "uncordon_url": reverse("system:nodes-vms-uncordon", args=[name]),
    }


def cordon_drain(request, scope, obj):
    name = obj["metadata"]["name"]
    kube = kube_for(request.user)
    kube.patch(kinds.NODE, name, {"spec": {"unschedulable": True}})
    pods = kube.request("GET", "/api/v1/pods", query={"fieldSelector": f"spec.nodeName={name}",
                                                      "labelSelector": VM_POD_LABEL}).get("items", [])
    evacuating, refused = 0, []
    for pod in pods:
        meta = pod["metadata"]
        try:
            kube.request("POST", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction", body={
                "apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}})
        except KubeError as exc:
            if exc.status == TOO_MANY_REQUESTS:
                evacuating += 1
            else:
                refused.append(f'{meta["namespace"]}/{meta["name"]}: {exc.message}')
    messages.success(request, f"The node {name} is cordoned: no new VM starts on it. "
                     + (f"{evacuating} virtual machine{'s are' if evacuating != 1 else ' is'} being moved away."
                        if evacuating else "It runs no virtual machine."))
    for line in refused:
        messages.error(request, f"The eviction of {line} was refused.")
    return redirect(reverse("system:detail", args=[resource, name]))


def uncordon(request, scope, obj):
    name = obj["metadata"]["name"]
    kube_for(request.user).patch(kinds.NODE, name, {"spec": {"unschedulable": None}})
    messages.success(request, f"The node {name} is uncordoned: VMs may start on it again.")
    return redirect(reverse("system:detail", args=[resource, name]))


resource = register(SystemResource(
    slug="nodes", kind=kinds.NODE, title="Nodes of all groups", noun="node", section="nodes",
    section_title="Nodes", gate="list", nav_order=10, columns=(),
    tabs=(Tab("vms", "Virtual machines", template="system/nodes/tabs/vms.html",
              actions=(Action("cordon-drain", cordon_drain), Action("uncordon", uncordon))),),
    list_extra=list_extra, detail_context=detail_context, live_watch=(kinds.VM, kinds.VMOP),
))
