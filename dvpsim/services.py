"""What kube-apiserver does to a Service on its way in: defaults, a ClusterIP from the service CIDR, NodePorts.

Allocations are kept across updates (a replace without them keeps the stored ones), as the service REST storage does.
"""

import ipaddress
import re

from dvpsim import kinds

SERVICE_CIDR = ipaddress.ip_network("10.222.0.0/16")  # Deckhouse's default serviceSubnetCIDR
NODE_PORTS = range(30000, 32768)
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_MESSAGE = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                 "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                 "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def admit(cluster, operation, obj, old, checks):
    if operation == "CREATE":
        obj["status"] = {"loadBalancer": {}}  # the strategy's PrepareForCreate: an empty status, never the sender's
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    name = (obj.get("metadata") or {}).get("name") or ""
    if name and (not DNS1035_LABEL.match(name) or len(name) > 63):  # ValidateServiceName
        checks.invalid("metadata.name", name, LABEL_MESSAGE)
    spec.setdefault("type", "ClusterIP")
    if spec["type"] not in TYPES:
        checks.enum("spec.type", spec["type"], TYPES)
        return
    if spec.get("clusterIP") == "None" and spec["type"] in NODE_PORT_TYPES:
        checks.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {spec['type']} services")
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
        if not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
            checks.invalid(f"spec.ports[{index}].port", port.get("port"), "must be between 1 and 65535, inclusive")
        if spec["type"] not in NODE_PORT_TYPES:
            if port.get("nodePort"):
                checks.causes.append({"field": f"spec.ports[{index}].nodePort", "reason": "FieldValueForbidden",
                                      "message": f"Forbidden: may not be used when `type` is '{spec['type']}'"})
            continue
        if port.get("nodePort") and port["nodePort"] not in NODE_PORTS:
            checks.invalid(f"spec.ports[{index}].nodePort", port["nodePort"], "provided port is not in the valid "
                           f"range. The range of valid ports is {NODE_PORTS.start}-{NODE_PORTS.stop - 1}")
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
