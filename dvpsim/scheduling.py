"""Placing a VM on a simulated node: capacity, node selectors, node affinity, VM anti-affinity."""

from dvpsim import quantity


def requested(vm: dict) -> tuple[float, int]:
    """(cpu cores requested, memory bytes) of a VM, as its virt-launcher pod would request them."""
    spec = vm.get("spec", {})
    cores = int(spec.get("cpu", {}).get("cores", 1))
    fraction = str(spec.get("cpu", {}).get("coreFraction", "100%")).rstrip("%")
    fraction = 100 if fraction in ("", "Auto") else int(fraction)
    memory = quantity.parse_bytes(spec.get("memory", {}).get("size", "1Gi"))
    return cores * fraction / 100, memory


def _labels_match(labels: dict, selector: dict | None) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def _expressions_match(labels: dict, expressions: list[dict]) -> bool:
    for expr in expressions or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _required_node_affinity(labels: dict, vm_spec: dict) -> bool:
    required = ((vm_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_expressions_match(labels, t.get("matchExpressions")) for t in terms)


def _anti_affinity_ok(node_name: str, vm: dict, placed: list[dict]) -> bool:
    anti = ((vm.get("spec", {}).get("affinity") or {}).get("virtualMachineAndPodAntiAffinity") or {})
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        selector = (term.get("labelSelector") or {})
        for other in placed:
            if other.get("status", {}).get("nodeName") != node_name:
                continue
            other_labels = other.get("metadata", {}).get("labels") or {}
            if _labels_match(other_labels, selector.get("matchLabels")) and \
                    _expressions_match(other_labels, selector.get("matchExpressions")):
                return False
    return True


def _ready(node: dict) -> bool:
    for cond in node.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return True


def pick_node(vm: dict, nodes: list[dict], placed: list[dict], class_node_selector: dict | None = None) -> str | None:
    """The least loaded node that fits `vm`, or None. `placed`: VMs already holding resources on nodes."""
    cpu, memory = requested(vm)
    spec = vm.get("spec", {})
    best, best_load = None, None
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        if not _ready(node) or node.get("spec", {}).get("unschedulable"):
            continue
        if not _labels_match(labels, spec.get("nodeSelector")):
            continue
        if class_node_selector and not (_labels_match(labels, class_node_selector.get("matchLabels"))
                                        and _expressions_match(labels, class_node_selector.get("matchExpressions"))):
            continue
        if not _required_node_affinity(labels, spec) or not _anti_affinity_ok(name, vm, placed):
            continue
        allocatable = node.get("status", {}).get("allocatable") or {}
        cpu_total = quantity.parse(allocatable.get("cpu", "0"))
        mem_total = quantity.parse(allocatable.get("memory", "0"))
        used_cpu = used_mem = 0.0
        for other in placed:
            if other.get("status", {}).get("nodeName") == name:
                c, m = requested(other)
                used_cpu, used_mem = used_cpu + c, used_mem + m
        if used_cpu + cpu > cpu_total or used_mem + memory > mem_total:
            continue
        load = used_cpu / cpu_total + used_mem / mem_total if cpu_total and mem_total else 0
        if best_load is None or load < best_load:
            best, best_load = name, load
    return best
