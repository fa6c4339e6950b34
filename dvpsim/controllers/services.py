"""Endpoints of Services that select VMs by label (guide "Organizing interaction with virtual machines").

In DVP a VM's labels are carried by its virt-launcher Pod, whose address is the VM's IP, so a Service's selector
picks VMs: the endpoints controller lists a Running VM's IP under `addresses` and a starting or paused one's under
`notReadyAddresses`, with the Pod as targetRef. `kubectl get endpoints` and `kubectl describe service` show them.
"""

from dvpsim import kinds
from dvpsim.controllers.base import Controller
from dvpsim.errors import AlreadyExists, NotFound

READY_PHASES = ("Running", "Migrating")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
NOT_READY_PHASES = ("Starting", "Pause", "Degraded", "Stopping")


class ServiceEndpointsController(Controller):
    primary = "Service"
    related = ("VirtualMachine",)

    def on_primary(self, event_type, obj):
        if event_type == "DELETED":
            try:
                self.cluster.delete(kinds.get("Endpoints"), obj["metadata"]["namespace"], obj["metadata"]["name"])
            except NotFound:
                pass
            return
        super().on_primary(event_type, obj)

    def on_related(self, event_type, kind, obj):
        namespace = obj["metadata"]["namespace"]
        for service in self.cluster.store.iter(self.kind, namespace):
            if (service.get("spec") or {}).get("selector"):
                self.kick(namespace, service["metadata"]["name"])

    async def reconcile(self, namespace, name):
        service = self.get(namespace, name)
        if service is None:
            return
        selector = (service.get("spec") or {}).get("selector")
        if not selector or service["spec"].get("type") == "ExternalName":
            return  # endpoints without a selector are the user's to write
        ready, not_ready = [], []
        for vm in self.cluster.store.iter(kinds.get("VirtualMachine"), namespace):
            labels = vm["metadata"].get("labels") or {}
            status = vm.get("status") or {}
            if any(labels.get(k) != v for k, v in selector.items()) or not status.get("ipAddress"):
                continue
            address = {"ip": status["ipAddress"], "targetRef": {
                "kind": "Pod", "namespace": namespace, "name": _pod_name(vm), "uid": vm["metadata"]["uid"]}}
            if status.get("nodeName"):
                address["nodeName"] = status["nodeName"]
            if status.get("phase") in READY_PHASES:
                ready.append(address)
            elif status.get("phase") in NOT_READY_PHASES:
                not_ready.append(address)
        subset = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        if subset:
            subset["ports"] = [_endpoint_port(p) for p in service["spec"].get("ports") or []]
        self._write(service, [subset] if subset else [])
        self._write_slice(service, ready, not_ready, subset.get("ports") or [])

    def _write_slice(self, service, ready, not_ready, ports):
        """The EndpointSlice (discovery.k8s.io/v1) that kubectl describe service reads since 1.32."""
        kind = kinds.get("EndpointSlice")
        meta = service["metadata"]
        endpoints = [{"addresses": [a["ip"]], "conditions": {"ready": ready_, "serving": ready_, "terminating": False},
                      "targetRef": a["targetRef"], **({"nodeName": a["nodeName"]} if "nodeName" in a else {})}
                     for ready_, group in ((True, ready), (False, not_ready)) for a in group]
        wanted = {"addressType": "IPv4", "endpoints": sorted(endpoints, key=lambda e: e["addresses"][0]),
                  "ports": [{"name": "", **p} for p in ports]}  # kubectl dereferences the name
        current = next((s for s in self.cluster.store.iter(kind, meta["namespace"])
                        if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == meta["name"]), None)
        if current is None:
            self.cluster.create(kind, {"metadata": {
                "generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                "labels": {SERVICE_NAME_LABEL: meta["name"], MANAGED_BY_LABEL: MANAGED_BY},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"],
                                     "controller": True, "blockOwnerDeletion": True}]}, **wanted})
            return
        if all(current.get(k) == v for k, v in wanted.items()):
            return
        current.update(wanted)
        current["metadata"].pop("resourceVersion", None)
        self.cluster.update(kind, current)

    def _write(self, service, subsets):
        kind = kinds.get("Endpoints")
        meta = service["metadata"]
        current = self.get(meta["namespace"], meta["name"], kind)
        labels = dict(meta.get("labels") or {})
        if current is None:
            try:
                self.cluster.create(kind, {"metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                                        "labels": labels}, "subsets": subsets})
            except AlreadyExists:
                self.kick(meta["namespace"], meta["name"])
            return
        if current.get("subsets", []) == subsets and (current["metadata"].get("labels") or {}) == labels:
            return
        current["subsets"] = subsets
        current["metadata"]["labels"] = labels
        current["metadata"].pop("resourceVersion", None)
        self.cluster.update(kind, current)


def _endpoint_port(port) -> dict:
    target = port.get("targetPort", port.get("port"))
    out = {"port": target if isinstance(target, int) else port.get("port"), "protocol": port.get("protocol", "TCP")}
    if port.get("name"):
        out["name"] = port["name"]
    return out


def _pod_name(vm) -> str:
    pods = (vm.get("status") or {}).get("virtualMachinePods") or []
    active = [p["name"] for p in pods if p.get("active")]
    return active[0] if active else f"virt-launcher-{vm['metadata']['name']}"

