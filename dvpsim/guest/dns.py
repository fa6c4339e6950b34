"""Cluster DNS as a VM sees it (the guide: a Service is reached as `<service>.<namespace>.svc[.cluster.local]`).

The VM's resolver searches `<namespace>.svc.cluster.local`, `svc.cluster.local` and `cluster.local`, as a Pod's
does. A ClusterIP Service resolves to its cluster IP; a headless one (`clusterIP: None`) to the addresses of the
VMs it selects.
"""

from dvpsim import kinds

DOMAIN = "cluster.local"


def resolve(cluster, namespace: str, name: str) -> tuple[str, list[str]]:
    """(fully qualified name, addresses) of `name` looked up from a VM in `namespace`; no addresses: NXDOMAIN."""
    name = name.rstrip(".").lower()
    for candidate in _candidates(name, namespace):
        parts = candidate[:-len(f".svc.{DOMAIN}")].split(".") if candidate.endswith(f".svc.{DOMAIN}") else []
        if len(parts) != 2:
            continue
        service = cluster.store.get(kinds.get("Service"), parts[1], parts[0])
        if service is None:
            continue
        spec = service.get("spec") or {}
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            return candidate, [spec["clusterIP"]]
        endpoints = cluster.store.get(kinds.get("Endpoints"), parts[1], parts[0]) or {}
        addresses = sorted(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or [])
        if addresses:
            return candidate, addresses
    return name, []


def _candidates(name, namespace):
    if name.endswith(f".{DOMAIN}"):
        return [name]
    return [f"{name}.{namespace}.svc.{DOMAIN}", f"{name}.svc.{DOMAIN}", f"{name}.{DOMAIN}"]
