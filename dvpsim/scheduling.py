"""Placing a VM on a simulated node the way kube-scheduler places its virt-launcher pod.

Filters: node readiness, taints the VM (or its class) does not tolerate, capacity, `nodeSelector`
(the VM's and its class's), required node affinity, required VM affinity and anti-affinity by
topology key. Scores: free capacity plus
the weights of the preferred node and VM (anti-)affinity terms that a node satisfies.
"""

from dvpsim import quantity

HOSTNAME = "kubernetes.io/hostname"


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


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def expression_matches(labels: dict, expr: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        have, want = _as_int(labels.get(key)), _as_int(values[0] if values else None)
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _expressions_match(labels: dict, expressions: list[dict] | None) -> bool:
    return all(expression_matches(labels, expr) for expr in expressions or [])


def selector_matches(labels: dict, selector: dict | None) -> bool:
    """A metav1.LabelSelector; an empty or missing selector matches everything."""
    selector = selector or {}
    return _labels_match(labels, selector.get("matchLabels")) and \
        _expressions_match(labels, selector.get("matchExpressions"))


def _node_term_matches(node: dict, term: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    if not term.get("matchExpressions") and not term.get("matchFields"):
        return False  # an empty nodeSelectorTerm matches no node
    return _expressions_match(labels, term.get("matchExpressions")) and \
        _expressions_match(fields, term.get("matchFields"))


def _affinity(vm: dict) -> dict:
    return (vm.get("spec") or {}).get("affinity") or {}


def _required_node_affinity_ok(node: dict, vm: dict) -> bool:
    required = (_affinity(vm).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_node_term_matches(node, t) for t in terms)


def _vm_terms(vm: dict, which: str, strength: str) -> list[tuple[int, dict]]:
    """(weight, term) pairs. DVP names the weighted term `virtualMachineAndPodAffinityTerm`; the guide's own example
    uses the pod API's `podAffinityTerm`, and nests it under required too."""
    rules = (_affinity(vm).get(which) or {}).get(strength) or []
    pairs = []
    for rule in rules:
        term = rule.get("virtualMachineAndPodAffinityTerm") or rule.get("podAffinityTerm")
        pairs.append((int(rule.get("weight", 1)), term) if term else (1, rule))
    return pairs


def _domain(node: dict | None, key: str):
    return ((node or {}).get("metadata", {}).get("labels") or {}).get(key or HOSTNAME)


def _matching_vms(term: dict, vm: dict, placed: list[dict]) -> list[dict]:
    namespaces = term.get("namespaces") or [vm["metadata"].get("namespace")]
    return [other for other in placed
            if other["metadata"].get("namespace") in namespaces
            and selector_matches(other["metadata"].get("labels") or {}, term.get("labelSelector"))]


def _in_same_domain(node: dict, term: dict, others: list[dict], nodes_by_name: dict) -> bool:
    domain = _domain(node, term.get("topologyKey"))
    return domain is not None and any(
        _domain(nodes_by_name.get(o.get("status", {}).get("nodeName")), term.get("topologyKey")) == domain
        for o in others)


def _required_vm_affinity_ok(node, vm, placed, nodes_by_name) -> bool:
    for _, term in _vm_terms(vm, "virtualMachineAndPodAffinity", "requiredDuringSchedulingIgnoredDuringExecution"):
        others = _matching_vms(term, vm, placed)
        if not others and selector_matches(vm["metadata"].get("labels") or {}, term.get("labelSelector")):
            continue  # the first VM of a group that wants to be together may go anywhere
        if not _in_same_domain(node, term, others, nodes_by_name):
            return False
    return True


def _required_vm_anti_affinity_ok(node, vm, placed, nodes_by_name) -> bool:
    for _, term in _vm_terms(vm, "virtualMachineAndPodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"):
        if _in_same_domain(node, term, _matching_vms(term, vm, placed), nodes_by_name):
            return False
    return True


def _preference_score(node, vm, placed, nodes_by_name) -> int:
    score = 0
    preferred = (_affinity(vm).get("nodeAffinity") or {}).get("preferredDuringSchedulingIgnoredDuringExecution") or []
    for rule in preferred:
        if _node_term_matches(node, rule.get("preference") or {}):
            score += int(rule.get("weight", 1))
    for weight, term in _vm_terms(vm, "virtualMachineAndPodAffinity", "preferredDuringSchedulingIgnoredDuringExecution"):
        if _in_same_domain(node, term, _matching_vms(term, vm, placed), nodes_by_name):
            score += weight
    for weight, term in _vm_terms(vm, "virtualMachineAndPodAntiAffinity",
                                  "preferredDuringSchedulingIgnoredDuringExecution"):
        if _in_same_domain(node, term, _matching_vms(term, vm, placed), nodes_by_name):
            score -= weight
    return score


def _ready(node: dict) -> bool:
    for cond in node.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return True


# Why a node was filtered out, worded as kube-scheduler words it.
UNSCHEDULABLE = "node(s) were unschedulable"  # NodeUnschedulable: a cordoned node
NOT_READY = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"  # the taint a NotReady node gets
SELECTOR = "node(s) didn't match Pod's node affinity/selector"
VM_AFFINITY = "node(s) didn't match pod affinity rules"
VM_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
FILTERING_EFFECTS = ("NoSchedule", "NoExecute")
# The DefaultPreemption PostFilter's word for each node, appended to the message after "preemption: ".
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def toleration_matches(toleration: dict, taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint: effect (empty = all), key (empty with Exists = all), Equal/Exists."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    if not toleration.get("key") and operator != "Exists":
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(node: dict, tolerations: list[dict]) -> dict | None:
    """The first NoSchedule/NoExecute taint of `node` that no toleration tolerates, or None."""
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in FILTERING_EFFECTS and not any(toleration_matches(t, taint) for t in tolerations):
            return taint
    return None


def _reject_reason(node, vm, placed, nodes_by_name, class_node_selector, cpu, memory, tolerations=()):
    labels = node["metadata"].get("labels") or {}
    if node.get("spec", {}).get("unschedulable"):
        return UNSCHEDULABLE
    if not _ready(node):
        return NOT_READY
    taint = untolerated_taint(node, list((vm.get("spec") or {}).get("tolerations") or []) + list(tolerations))
    if taint is not None:  # the TaintToleration filter runs before NodeAffinity and NodeResourcesFit
        return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}"
    if not _labels_match(labels, (vm.get("spec") or {}).get("nodeSelector")) or \
            not selector_matches(labels, class_node_selector) or not _required_node_affinity_ok(node, vm):
        return SELECTOR
    # The default profile filters NodeResourcesFit before InterPodAffinity: a full node reports its capacity.
    used_cpu, used_mem = _used(node["metadata"]["name"], placed)
    cpu_total, mem_total = _allocatable(node)
    short = [name for name, over in (("cpu", used_cpu + cpu > cpu_total), ("memory", used_mem + memory > mem_total))
             if over]
    if short:
        return ", ".join(f"Insufficient {name}" for name in short)  # one reason per resource, as NodeResourcesFit
    if not _required_vm_affinity_ok(node, vm, placed, nodes_by_name):
        return VM_AFFINITY
    if not _required_vm_anti_affinity_ok(node, vm, placed, nodes_by_name):
        return VM_ANTI_AFFINITY
    return None


def _allocatable(node):
    allocatable = node.get("status", {}).get("allocatable") or {}
    return quantity.parse(allocatable.get("cpu", "0")), quantity.parse(allocatable.get("memory", "0"))


def _used(node_name, placed):
    used_cpu = used_mem = 0.0
    for other in placed:
        if other.get("status", {}).get("nodeName") == node_name:
            c, m = requested(other)
            used_cpu, used_mem = used_cpu + c, used_mem + m
    return used_cpu, used_mem


def _preemption_might_help(reason: str) -> bool:
    """Only NodeResourcesFit and the anti-affinity filters answer Unschedulable; the node's own unschedulability, taints,
    node affinity and pod affinity answer UnschedulableAndUnresolvable, which preemption skips."""
    return reason.startswith("Insufficient") or reason == VM_ANTI_AFFINITY


def _fit_error(node_count: int, reasons: dict) -> str:
    """kube-scheduler's FitError.Error(): each reason with its node count, sorted as strings."""
    details = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return f"0/{node_count} nodes are available: {details}."


def place(vm: dict, nodes: list[dict], placed: list[dict],
          class_node_selector: dict | None = None, class_tolerations=()) -> tuple[str | None, str]:
    """(node name, "") for the best node that fits `vm`, or (None, why) as kube-scheduler words a FailedScheduling:
    the filters' reasons, then what the DefaultPreemption PostFilter found ("… preemption: 0/3 nodes are …").

    `placed`: VMs already holding resources on nodes (not including `vm`); `class_tolerations`: the
    VirtualMachineClass's `spec.tolerations`, added to the VM's own.
    """
    if not nodes:
        return None, "no nodes available to schedule pods"
    cpu, memory = requested(vm)
    nodes_by_name = {n["metadata"]["name"]: n for n in nodes}
    best, best_key, rejected, preemption = None, None, {}, {}
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        reason = _reject_reason(node, vm, placed, nodes_by_name, class_node_selector, cpu, memory, class_tolerations)
        if reason:
            for part in reason.split(", ") if reason.startswith("Insufficient") else [reason]:
                rejected[part] = rejected.get(part, 0) + 1
            # Every VM has the same priority: no node holds a pod that preemption could evict for this one.
            outcome = NO_VICTIMS if _preemption_might_help(reason) else NOT_HELPFUL
            preemption[outcome] = preemption.get(outcome, 0) + 1
            continue
        used_cpu, used_mem = _used(node["metadata"]["name"], placed)
        cpu_total, mem_total = _allocatable(node)
        load = (used_cpu + cpu) / cpu_total + (used_mem + memory) / mem_total if cpu_total and mem_total else 0
        key = (-_preference_score(node, vm, placed, nodes_by_name), load)
        if best_key is None or key < best_key:
            best, best_key = node["metadata"]["name"], key
    if best is not None:
        return best, ""
    return None, _fit_error(len(nodes), rejected) + " preemption: " + _fit_error(len(nodes), preemption)


def feasible_nodes(vm: dict, nodes: list[dict], placed: list[dict], class_node_selector: dict | None = None,
                   class_tolerations=()) -> list:
    """Names of the nodes that pass every filter for `vm`."""
    cpu, memory = requested(vm)
    nodes_by_name = {n["metadata"]["name"]: n for n in nodes}
    return [n["metadata"]["name"] for n in nodes
            if not _reject_reason(n, vm, placed, nodes_by_name, class_node_selector, cpu, memory, class_tolerations)]


def pick_node(vm: dict, nodes: list[dict], placed: list[dict], class_node_selector: dict | None = None,
              class_tolerations=()) -> str | None:
    """The best node that fits `vm`, or None."""
    return place(vm, nodes, placed, class_node_selector, class_tolerations)[0]
