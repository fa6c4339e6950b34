"""meta.k8s.io/v1 Table rendering from the printer columns of dvpsim.kinds."""

import json

from .clock import parse_time
from .jsonpath import find

NAME_COLUMN = {
    "name": "Name", "type": "string", "format": "name", "priority": 0,
    "description": "Name must be unique within a namespace. Is required when creating resources, although some "
                   "resources may allow a client to request the generation of an appropriate name automatically. "
                   "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
                   "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
}


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _age(value, now):
    t = parse_time(value) if isinstance(value, str) else None
    if t is None:
        return "<unknown>" if value else None
    return human_duration((now - t).total_seconds())


def _go_format(value):
    """How the JSONPath printer of client-go writes a value into a string cell: maps and lists as compact JSON (Go's
    json.Marshal: sorted keys, <>& escaped) — the guide's `vmipl` shows {"name":"…","namespace":"…"} — and
    scalars as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _typed_cell(type_, value, now):
    if type_ == "string":
        return _go_format(value)
    if type_ == "date":
        return _age(value, now) if isinstance(value, str) else None
    if type_ == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if type_ == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    return value


# computed cells for core kinds ------------------------------------------------------

def _node_status(obj, now):
    conds = {c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []}
    status = "Ready" if conds.get("Ready") == "True" else "NotReady" if "Ready" in conds else "Unknown"
    if (obj.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(obj, now):
    roles = sorted(k.split("/", 1)[1] for k in (obj["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1])
    return ",".join(roles) or "<none>"


def _node_internal_ip(obj, now):
    for a in (obj.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return "<none>"


def _data_count(obj, now):
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or obj.get("stringData") or {})


def _namespace_status(obj, now):
    return (obj.get("status") or {}).get("phase") or "Active"


def _event_last_seen(obj, now):
    # core/v1 or events.k8s.io/v1 (deprecated* fields, series), like kube's event printer
    series = obj.get("series") or {}
    return _age(obj.get("lastTimestamp") or obj.get("deprecatedLastTimestamp") or series.get("lastObservedTime")
                or obj.get("eventTime") or obj["metadata"].get("creationTimestamp"), now)


def _event_object(obj, now):
    io = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{(io.get('kind') or '').lower()}/{io.get('name', '')}"


def _service_ports(obj, now):
    ports = (obj.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}" + (f":{p['nodePort']}" if p.get("nodePort") else "") +
                    f"/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _service_external_ip(obj, now):
    spec = obj.get("spec") or {}
    ingress = [i.get("ip") or i.get("hostname") for i in
               ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    if spec.get("type") == "LoadBalancer":
        return ",".join(ingress) or "<pending>"
    if spec.get("type") == "ExternalName":
        return spec.get("externalName", "")
    return ",".join(spec.get("externalIPs") or []) or "<none>"


def _service_selector(obj, now):
    selector = (obj.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def _deployment_ready(obj, now):
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"


def _pod_selector(obj, now):
    """kubectl's rendering of a NetworkPolicy's spec.podSelector (matchLabels only; empty selects every pod)."""
    labels = ((obj.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _slice_ports(obj, now):
    return ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"


def _slice_addresses(obj, now):
    ips = [ip for e in obj.get("endpoints") or [] for ip in e.get("addresses") or []]
    if not ips:
        return "<unset>"
    return ",".join(ips[:3]) + (f" + {len(ips) - 3} more..." if len(ips) > 3 else "")


def _endpoints_addresses(obj, now):
    """kubectl's ENDPOINTS column: ip:port pairs of ready addresses, the first three then "+ N more..."."""
    pairs = []
    for subset in obj.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            pairs.extend(address["ip"] if port is None else f"{address['ip']}:{port}" for port in ports)
    if not pairs:
        return "<none>"
    return ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")


def _pvc_access_modes(obj, now):
    modes = (obj.get("status") or {}).get("accessModes") or (obj.get("spec") or {}).get("accessModes") or []
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes)


def _ingress_hosts(obj, now):
    hosts = [r.get("host") for r in (obj.get("spec") or {}).get("rules") or [] if r.get("host")]
    return ",".join(hosts) or "*"


def _pod_ready(obj, now):
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _pod_restarts(obj, now):
    return str(sum(c.get("restartCount", 0) for c in (obj.get("status") or {}).get("containerStatuses") or []))


def _pod_readiness_gates(obj, now):
    return "<none>"


def _ingress_address(obj, now):
    """The apiserver's ingress printer: every IP (or hostname) of the status, sorted, not cut (tables are wide)."""
    found = {i.get("ip") or i.get("hostname") for i in
             ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []} - {None, ""}
    return ",".join(sorted(found))


def _ingress_class(obj, now):
    return (obj.get("spec") or {}).get("ingressClassName") or "<none>"  # as the apiserver's ingress printer


def _ingress_ports(obj, now):
    return "80, 443" if (obj.get("spec") or {}).get("tls") else "80"


def _binding_role(obj, now):
    ref = obj.get("roleRef") or {}
    return f"{ref.get('kind')}/{ref.get('name')}"


def _binding_subjects(kind):
    def cell(obj, now):
        return ", ".join(s.get("name", "") for s in obj.get("subjects") or [] if s.get("kind") == kind)
    return cell


CELLS = {
    "node_status": _node_status, "node_roles": _node_roles, "node_internal_ip": _node_internal_ip,
    "data_count": _data_count, "namespace_status": _namespace_status,
    "event_last_seen": _event_last_seen, "event_object": _event_object,
    "service_ports": _service_ports, "service_external_ip": _service_external_ip,
    "service_selector": _service_selector, "endpoints_addresses": _endpoints_addresses,
    "slice_ports": _slice_ports, "slice_addresses": _slice_addresses, "pvc_access_modes": _pvc_access_modes,
    "ingress_hosts": _ingress_hosts, "ingress_ports": _ingress_ports, "ingress_class": _ingress_class,
    "ingress_address": _ingress_address,
    "pod_ready": _pod_ready, "pod_restarts": _pod_restarts, "pod_readiness_gates": _pod_readiness_gates,
    "binding_role": _binding_role, "binding_users": _binding_subjects("User"),
    "binding_groups": _binding_subjects("Group"),
    "deployment_ready": _deployment_ready, "pod_selector": _pod_selector,
}


def column_definitions(kind):
    cols = [dict(NAME_COLUMN)]
    for c in kind.columns:
        if c.description:
            description = c.description
        elif not kind.custom:
            description = c.name
        else:  # what the apiextensions table convertor says of a column the CRD does not describe
            description = f"Custom resource definition column (in JSONPath format): {c.path}"
        cols.append({"name": c.name, "type": c.type, "format": c.format, "description": description,
                     "priority": c.priority})
    return cols


def _name_cell(kind, obj):
    name = obj["metadata"]["name"]
    if kind.kind == "StorageClass":
        ann = obj["metadata"].get("annotations") or {}
        if ann.get("storageclass.kubernetes.io/is-default-class") == "true" or \
                ann.get("storageclass.beta.kubernetes.io/is-default-class") == "true":
            name += " (default)"
    return name


def row(kind, obj, now, include_object="Metadata", object_for_row=None):
    cells = [_name_cell(kind, obj)]
    for c in kind.columns:
        if c.cell:
            cells.append(CELLS[c.cell](obj, now))
            continue
        found = find(c.path, obj)
        cells.append(_typed_cell(c.type, found[0], now) if found else None)
    r = {"cells": cells}
    if include_object == "Object":
        r["object"] = object_for_row if object_for_row is not None else obj
    elif include_object != "None":
        r["object"] = partial_metadata(obj)
    return r


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(kind, objects, now, resource_version, include_object="Metadata", continue_token=None, shown=None):
    """A Table of `objects` (already in the requested version; `shown` overrides what rows embed)."""
    meta = {"resourceVersion": str(resource_version)}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
        "columnDefinitions": column_definitions(kind),
        "rows": [row(kind, o, now, include_object) for o in objects],
    }
