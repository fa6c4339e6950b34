"""Ingress status, as Deckhouse's `ingress-nginx` module (its IngressNginxController of class `nginx`) writes it.

While the module's ModuleConfig is enabled, an Ingress of class `nginx` (or of no class: the module's class is the
cluster's default) gets the addresses it is reachable on in `status.loadBalancer.ingress`: the InternalIPs of the
nodes the controller runs on (the HostPort inlet: every worker node here), and a `Sync` Event as ingress-nginx
records it. The Service behind it is not checked, as ingress-nginx does not: a missing one answers 503 at run time.
"""

from dvpsim import kinds
from dvpsim.controllers.base import Controller
from dvpsim.errors import ApiError

MODULE = "ingress-nginx"
INGRESS_CLASS = "nginx"


def module_enabled(cluster):
    config = cluster.store.get(kinds.get("ModuleConfig"), None, MODULE) or {}
    return bool((config.get("spec") or {}).get("enabled"))


def frontend_addresses(cluster):
    addresses = []
    for node in cluster.store.iter(kinds.get("Node")):
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (node.get("status") or {}).get("conditions") or [])
        ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                   if a.get("type") == "InternalIP"), None)
        if ready and ip:
            addresses.append(ip)
    return sorted(addresses, key=lambda ip: tuple(int(x) for x in ip.split(".")))


class IngressController(Controller):
    primary = "Ingress"
    related = ("ModuleConfig", "Node")

    def on_related(self, event_type, kind, obj):
        if kind.kind == "Node" or obj["metadata"]["name"] == MODULE:
            self.kick_all()

    async def reconcile(self, namespace, name):
        ingress = self.get(namespace, name)
        if ingress is None or ingress["metadata"].get("deletionTimestamp"):
            return
        ours = (ingress.get("spec") or {}).get("ingressClassName") in (None, "", INGRESS_CLASS)
        addresses = frontend_addresses(self.cluster) if ours and module_enabled(self.cluster) else []
        status = dict(ingress.get("status") or {})
        wanted = {"ingress": [{"ip": ip} for ip in addresses]} if addresses else {}
        if (status.get("loadBalancer") or {}) == wanted:
            return
        status["loadBalancer"] = wanted
        written = self.write_status(ingress, status)
        if written is not None and addresses:
            try:
                self.cluster.record_event(written, "Normal", "Sync", "Scheduled for sync",
                                          component="nginx-ingress-controller")
            except ApiError:
                pass
