"""What kube-apiserver does to a Service on its way in: defaults, a ClusterIP from the service CIDR, NodePorts.

Allocations are kept across updates (a replace without them keeps the stored ones), as the service REST storage does.
"""

import ipaddress

from dvpsim import kinds

SERVICE_CIDR = ipaddress.ip_network("10.222.0.0/16")  # Deckhouse's default serviceSubnetCIDR
NODE_PORTS = range(30000, 32768)
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def admit(cluster, operation, obj, old, checks):
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in NODE_PORT_TYPES:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old_spec.get("ports") or []}
    for index, port in enumerate(spec.get("ports") or []):
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if spec["type"] not in NODE_PORT_TYPES:
            continue
        previous = old_ports.get((port.get("port"), port["protocol"])) or {}
        if not port.get("nodePort"):
            port["nodePort"] = previous.get("nodePort") or _free_node_port(cluster, obj)
        elif port["nodePort"] != previous.get("nodePort") and port["nodePort"] in _node_ports_in_use(cluster, obj):
            checks.invalid(f"spec.ports[{index}].nodePort", port["nodePort"], "provided port is already allocated")
    if spec["type"] == "ExternalName":
        return
    if not spec.get("ports") and spec.get("clusterIP") != "None":
        checks.required("spec.ports")  # ValidateService: only headless and ExternalName services may have no ports
    if operation == "UPDATE" and old_spec.get("clusterIP") and not spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    elif operation == "UPDATE" and old_spec.get("clusterIP") and spec["clusterIP"] != old_spec["clusterIP"]:
        checks.invalid("spec.clusterIPs[0]", spec["clusterIP"], "may not change once set")
    if not spec.get("clusterIP"):
        spec["clusterIP"] = _free_cluster_ip(cluster)
    spec["clusterIPs"] = [spec["clusterIP"]]


def _services(cluster, obj):
    meta = obj.get("metadata") or {}
    for service in cluster.store.iter(kinds.get("Service")):
        other = service["metadata"]
        if (other.get("namespace"), other["name"]) != (meta.get("namespace"), meta.get("name")):
            yield service


def _free_cluster_ip(cluster) -> str:
    used = {s["spec"].get("clusterIP") for s in cluster.store.iter(kinds.get("Service"))}
    hosts = SERVICE_CIDR.hosts()
    next(hosts)  # 10.222.0.1 is the kubernetes Service
    for host in hosts:
        if str(host) not in used:
            return str(host)
    raise RuntimeError("the service CIDR is full")


def _node_ports_in_use(cluster, obj) -> set:
    return {p.get("nodePort") for s in _services(cluster, obj) for p in s["spec"].get("ports") or []}


def _free_node_port(cluster, obj) -> int:
    used = _node_ports_in_use(cluster, obj)
    return next(p for p in NODE_PORTS if p not in used)
