"""External addresses of LoadBalancer Services, as Deckhouse's `metallb` module gives them on bare metal.

With the module's ModuleConfig enabled, each Service of type LoadBalancer (and no `loadBalancerClass` of another
implementation) gets the first free address of the module's `settings.addressPools` in
`status.loadBalancer.ingress` and an `IPAllocated` Event; with no pool, no free address or the module off, the
Service stays `<pending>` (an `AllocationFailed` Warning says why when a pool is exhausted). A Service that stops
being a LoadBalancer gives its address back.
"""

import ipaddress

from dvpsim import kinds
from dvpsim.controllers.base import Controller
from dvpsim.errors import ApiError

MODULE = "metallb"
COMPONENT = "metallb-controller"


def address_pool(cluster):
    """The module's addresses in order ([] while it is off): ranges "a-b" and CIDRs of settings.addressPools."""
    config = cluster.store.get(kinds.get("ModuleConfig"), None, MODULE) or {}
    spec = config.get("spec") or {}
    if not spec.get("enabled"):
        return []
    found = []
    for pool in (spec.get("settings") or {}).get("addressPools") or []:
        for entry in pool.get("addresses") or []:
            try:
                if "-" in entry:
                    first, last = (ipaddress.ip_address(x.strip()) for x in entry.split("-", 1))
                    found += [str(ipaddress.ip_address(n)) for n in range(int(first), int(last) + 1)]
                else:
                    found += [str(host) for host in ipaddress.ip_network(entry.strip(), strict=False)]
            except ValueError:
                continue  # the module's own validation would refuse it; dvpsim skips it
    return found


def _address(service):
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ingress[0].get("ip") if ingress else None


class LoadBalancerController(Controller):
    primary = "Service"
    related = ("ModuleConfig",)

    def on_related(self, event_type, kind, obj):
        if obj["metadata"]["name"] == MODULE:
            self.kick_all()

    async def reconcile(self, namespace, name):
        service = self.get(namespace, name)
        if service is None:
            return
        spec, status = service.get("spec") or {}, dict(service.get("status") or {})
        current = _address(service)
        wanted_type = spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")
        pool = address_pool(self.cluster)
        if not wanted_type or (current and current not in pool):
            if (status.get("loadBalancer") or {}).get("ingress"):
                status["loadBalancer"] = {}
                self.write_status(service, status)
            return
        if current:
            return
        used = {_address(s) for s in self.cluster.store.iter(self.kind)} - {None}
        free = next((ip for ip in pool if ip not in used), None)
        key = f"{namespace}/{name}"
        if free is None:
            if pool:
                self._event(service, "Warning", "AllocationFailed", f'Failed to allocate IP for "{key}": no '
                                                                    "available IPs")
            return
        status["loadBalancer"] = {"ingress": [{"ip": free, "ipMode": "VIP"}]}
        written = self.write_status(service, status)
        if written is not None:
            self._event(written, "Normal", "IPAllocated", f'Assigned IP ["{free}"]')

    def _event(self, obj, type_, reason, message):
        try:
            self.cluster.record_event(obj, type_, reason, message, component=COMPONENT)
        except ApiError:
            pass
