"""The VM's "Placement" tab: "Run on nodes" (nodeSelector), node affinity, "Run VM near other VMs"
(virtualMachineAndPodAffinity), "Identify similar VMs by labels" (virtualMachineAndPodAntiAffinity),
and a preview, made as the user, of the nodes that satisfy the rules now."""
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from portal.kube import Forbidden, Invalid, KubeError, kinds
from projects.access import can, kube_for

from ....generic.detail import TabState
from .. import edit as edit_module
from ..edition import of_cluster as cluster_edition

KEYS = ("nodeSelector", "affinity")
REQUIRED, PREFERRED = "requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
# DVP's name for the pod API's `podAffinityTerm` inside a weighted (preferred) rule.
WEIGHTED_TERM = "virtualMachineAndPodAffinityTerm"
TOPOLOGIES = {"kubernetes.io/hostname": "On one server", "topology.kubernetes.io/zone": "In one zone"}


# ---- rules <-> rows -----------------------------------------------------------------------

def rows_from_spec(spec):
    """The form's rows for the placement fields of a VM spec."""
    affinity = spec.get("affinity") or {}
    rows = {"selector": [{"key": k, "value": v} for k, v in (spec.get("nodeSelector") or {}).items()],
            "node": [], "near": [], "apart": []}
    node_affinity = affinity.get("nodeAffinity") or {}
    for term in (node_affinity.get(REQUIRED) or {}).get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            rows["node"].append({"strength": "required", "weight": "", **_expr_row(expr)})
    for rule in node_affinity.get(PREFERRED) or []:
        for expr in (rule.get("preference") or {}).get("matchExpressions") or []:
            rows["node"].append({"strength": "preferred", "weight": str(rule.get("weight", 1)), **_expr_row(expr)})
    for block, field in (("near", "virtualMachineAndPodAffinity"), ("apart", "virtualMachineAndPodAntiAffinity")):
        rules = affinity.get(field) or {}
        for strength, key in (("required", REQUIRED), ("preferred", PREFERRED)):
            for term in rules.get(key) or []:
                weight = term.get("weight", "")
                term = _unwrap(term)
                for label, value in ((term.get("labelSelector") or {}).get("matchLabels") or {}).items():
                    rows[block].append({"strength": strength, "weight": str(weight) if strength == "preferred" else "",
                                        "key": label, "value": value, "use": True,
                                        "topology": term.get("topologyKey", "kubernetes.io/hostname")})
    return rows


def _unwrap(term):
    """The affinity term of a rule, weighted or not (the guide's examples also use the pod API's spelling)."""
    return term.get(WEIGHTED_TERM) or term.get("podAffinityTerm") or term


def _expr_row(expr):
    return {"key": expr.get("key", ""), "operator": expr.get("operator", "In"),
            "values": ", ".join(expr.get("values") or [])}


def rows_from_post(post):
    def rows(prefix, fields):
        columns = [post.getlist(f"{prefix}_{f}") for f in fields]
        return [dict(zip(fields, values)) for values in zip(*columns)]
    apart = rows("apart", ("strength", "weight", "key", "value", "topology"))
    used = set(post.getlist("apart_use"))  # the check boxes next to the labels: the unchecked ones are kept, unused
    for i, row in enumerate(apart):
        row["use"] = str(i) in used
    return {"selector": rows("selector", ("key", "value")),
            "node": rows("node", ("strength", "weight", "key", "operator", "values")),
            "near": rows("near", ("strength", "weight", "key", "value", "topology")),
            "apart": apart}


def add_entered(rows, post, block):
    """The label the user entered in a block's pop-up ("Key", "Value", then "Enter"), as a new row of it;
    False when the pop-up was left empty (a blank row is offered instead)."""
    key = (post.get(f"{block}_new_key") or "").strip()
    if block not in ("selector", "near", "apart") or not key:
        return False
    rows[block] = [row for row in rows[block] if _filled(row)]  # the blank row offered for typing goes
    rows[block].append({**BLANK_ROW, "key": key, "value": (post.get(f"{block}_new_value") or "").strip()})
    return True


def _filled(row):
    return any((row.get(f) or "").strip() for f in ("key", "value", "values"))


def spec_from_rows(rows):
    """(placement spec fields, errors {(block, index, field): message}); blank rows are ignored."""
    errors = {}
    selector = _node_selector(rows["selector"], errors)
    affinity = {}
    node_affinity = _node_affinity(rows["node"], errors)
    if node_affinity:
        affinity["nodeAffinity"] = node_affinity
    for block, field in (("near", "virtualMachineAndPodAffinity"), ("apart", "virtualMachineAndPodAntiAffinity")):
        vm_rules = _vm_affinity(block, rows[block], errors)
        if vm_rules:
            affinity[field] = vm_rules
    spec = {}
    if selector:
        spec["nodeSelector"] = selector
    if affinity:
        spec["affinity"] = affinity
    return spec, errors


def _node_selector(rows, errors):
    """"Run on nodes": the rows as {label key: value}."""
    selector = {}
    for i, row in enumerate(rows):
        if not _filled(row):
            continue
        key, value = row["key"].strip(), row["value"].strip()
        if not key:
            errors[("selector", i, "key")] = "Enter the label key."
        elif key in selector:
            errors[("selector", i, "key")] = f"The key {key} is already used above."
        else:
            selector[key] = value
    return selector


def _node_affinity(rows, errors):
    """The node affinity rows as nodeAffinity: one required term, and a preferred rule per weight."""
    required_exprs, preferred = [], {}
    for i, row in enumerate(rows):
        if not _filled(row):
            continue
        expr = _node_expression(row, i, errors)
        weight = _weight(row, ("node", i), errors)
        if expr is None or weight is None:
            continue
        if row.get("strength") == "preferred":
            preferred.setdefault(weight, []).append(expr)
        else:
            required_exprs.append(expr)
    node_affinity = {}
    if required_exprs:
        node_affinity[REQUIRED] = {"nodeSelectorTerms": [{"matchExpressions": required_exprs}]}
    if preferred:
        node_affinity[PREFERRED] = [{"weight": w, "preference": {"matchExpressions": e}} for w, e in preferred.items()]
    return node_affinity


def _vm_affinity(block, rows, errors):
    """The "near" or "apart" rows as DVP's VM affinity rules: one term per strength, topology and weight."""
    rules = {}
    for (strength, topology, weight), labels in _vm_label_groups(block, rows, errors).items():
        term = {"labelSelector": {"matchLabels": labels}, "topologyKey": topology}
        if strength == "preferred":
            rules.setdefault(PREFERRED, []).append({"weight": weight, WEIGHTED_TERM: term})
        else:
            rules.setdefault(REQUIRED, []).append(term)
    return rules


def _vm_label_groups(block, rows, errors):
    """{(strength, topology, weight): {label key: value}} of the used, valid rows of a block."""
    groups = {}
    for i, row in enumerate(rows):
        if not _filled(row) or row.get("use") is False:
            continue
        key = row.get("key", "").strip()
        if not key:
            errors[(block, i, "key")] = "Enter the label key of the VMs."
            continue
        topology = row.get("topology") if row.get("topology") in TOPOLOGIES else "kubernetes.io/hostname"
        weight = _weight(row, (block, i), errors)
        if weight is None:
            continue
        strength = "preferred" if row.get("strength") == "preferred" else "required"
        groups.setdefault((strength, topology, weight), {})[key] = row.get("value", "").strip()
    return groups


def _node_expression(row, i, errors):
    key, operator = row.get("key", "").strip(), row.get("operator") or "In"
    values = [v.strip() for v in (row.get("values") or "").split(",") if v.strip()]
    if not key:
        errors[("node", i, "key")] = "Enter the node label key."
        return None
    if operator not in OPERATORS:
        errors[("node", i, "operator")] = "Choose an operator."
        return None
    if operator in ("In", "NotIn") and not values:
        errors[("node", i, "values")] = f"{operator} needs at least one value (separate several with commas)."
        return None
    if operator in ("Exists", "DoesNotExist") and values:
        errors[("node", i, "values")] = f"{operator} takes no values; clear this field."
        return None
    if operator in ("Gt", "Lt") and (len(values) != 1 or not values[0].lstrip("-").isdigit()):
        errors[("node", i, "values")] = f"{operator} needs exactly one whole number."
        return None
    expr = {"key": key, "operator": operator}
    if values:
        expr["values"] = values
    return expr


def _weight(row, where, errors):
    if row.get("strength") != "preferred":
        return 0
    text = (row.get("weight") or "").strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= 100:
        errors[(*where, "weight")] = "The weight is a whole number from 1 to 100."
        return None
    return int(text)


# ---- preview ------------------------------------------------------------------------------

def _matches_expr(labels, expr):
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    try:
        have, want = int(labels.get(key, "")), int(values[0])
    except (ValueError, IndexError):
        return False
    return have > want if op == "Gt" else have < want


def _selector_ok(labels, selector):
    selector = selector or {}
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and \
        all(_matches_expr(labels, e) for e in selector.get("matchExpressions") or [])


def preview(user, project, vm, placement):
    """Which nodes satisfy the strict rules now, read as the user; or why that cannot be told."""
    if not can(user, "list", kinds.NODE):
        return {"denied": "You may not list Nodes (it needs the list permission on nodes, cluster-wide), "
                          "so the console cannot show which nodes satisfy these rules."}
    kube = kube_for(user)
    try:
        nodes = kube.list(kinds.NODE)
    except Forbidden:
        return {"denied": "You may not list Nodes (it needs the list permission on nodes, cluster-wide)."}
    class_selector = _class_node_selector(kube, vm)
    project_vms = [v for v in kube.list(kinds.VM, project) if v["metadata"]["name"] != vm["metadata"]["name"]]
    others = [v for v in project_vms if (v.get("status") or {}).get("nodeName")]
    node_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nodes}
    rows = [_node_row(node, node_labels, placement, class_selector, others)
            for node in sorted(nodes, key=lambda n: n["metadata"]["name"])]
    fitting = [r for r in rows if r["fits"]]
    affinity = placement.get("affinity") or {}
    warning = _too_few_domains(vm, project_vms, affinity, [node_labels[r["name"]] for r in rows if r["eligible"]])
    if not fitting:
        warning = "No node satisfies the strict rules: the virtual machine will not start."
    elif len(fitting) == 1 and len(rows) > 1 and not warning:
        warning = "Only one node satisfies the strict rules: the VM cannot move elsewhere during maintenance or a failure."
    return {"nodes": rows, "fitting": len(fitting), "warning": warning}


def _class_node_selector(kube, vm):
    """The node selector of the VM's class; empty when the class cannot be read."""
    try:
        vmclass = kube.get(kinds.VM_CLASS, (vm.get("spec") or {}).get("virtualMachineClassName", ""))
    except KubeError:
        return {}
    return (vmclass.get("spec") or {}).get("nodeSelector") or {}


def _node_row(node, node_labels, placement, class_selector, others):
    """A preview row: whether the node fits the strict rules, why not, and its preferred weight."""
    name = node["metadata"]["name"]
    labels = node_labels[name]
    affinity = placement.get("affinity") or {}
    node_affinity = affinity.get("nodeAffinity") or {}
    reasons = _node_rule_reasons(labels, placement, class_selector, node_affinity)
    reasons += _vm_rule_reasons(labels, affinity, others, node_labels)
    preferred = sum(r.get("weight", 1) for r in node_affinity.get(PREFERRED) or []
                    if all(_matches_expr(labels, e) for e in (r.get("preference") or {}).get("matchExpressions") or []))
    if not _ready(node):
        reasons.append("not ready")
    return {"name": name, "fits": not reasons, "reasons": reasons, "preferred": preferred,
            "zone": labels.get("topology.kubernetes.io/zone", ""),
            "eligible": not [r for r in reasons if not r.startswith(("no matching VM", "a similar VM"))]}


def _node_rule_reasons(labels, placement, class_selector, node_affinity):
    """Why the node's labels fail "Run on nodes", the VM class or the strict node rules."""
    reasons = []
    if any(labels.get(k) != v for k, v in (placement.get("nodeSelector") or {}).items()):
        reasons.append("labels do not match Run on nodes")
    if not _selector_ok(labels, class_selector):
        reasons.append("excluded by the VM class")
    terms = (node_affinity.get(REQUIRED) or {}).get("nodeSelectorTerms") or []
    if terms and not any(all(_matches_expr(labels, e) for e in t.get("matchExpressions") or []) for t in terms):
        reasons.append("strict node rules not met")
    return reasons


def _vm_rule_reasons(labels, affinity, others, node_labels):
    """Why the node fails the strict rules on other VMs (near them, or apart from similar ones)."""
    reasons = []
    for field, wanted in (("virtualMachineAndPodAffinity", True), ("virtualMachineAndPodAntiAffinity", False)):
        for term in (affinity.get(field) or {}).get(REQUIRED) or []:
            term = _unwrap(term)
            topology = term.get("topologyKey", "kubernetes.io/hostname")
            group = [o for o in others if _selector_ok(o["metadata"].get("labels") or {}, term.get("labelSelector"))]
            together = any(node_labels.get(o["status"]["nodeName"], {}).get(topology) == labels.get(topology)
                           and labels.get(topology) is not None for o in group)
            if wanted and group and not together:
                reasons.append(f"no matching VM {TOPOLOGIES.get(topology, topology).lower()}")
            if not wanted and together:
                reasons.append(f"a similar VM is already {TOPOLOGIES.get(topology, topology).lower()}")
    return reasons


def _ready(node):
    return all(c.get("status") == "True" for c in (node.get("status") or {}).get("conditions") or []
               if c.get("type") == "Ready") and not (node.get("spec") or {}).get("unschedulable")


def _too_few_domains(vm, project_vms, affinity, eligible_labels):
    """A warning when strict anti-affinity needs more servers or zones than the rules leave."""
    for term in (affinity.get("virtualMachineAndPodAntiAffinity") or {}).get(REQUIRED) or []:
        term = _unwrap(term)
        topology = term.get("topologyKey", "kubernetes.io/hostname")
        group = [v for v in project_vms if _selector_ok(v["metadata"].get("labels") or {}, term.get("labelSelector"))]
        if _selector_ok(vm["metadata"].get("labels") or {}, term.get("labelSelector")):
            group.append(vm)
        domains = {labels.get(topology) for labels in eligible_labels if labels.get(topology) is not None}
        if len(group) > len(domains):
            where = "server" if topology == "kubernetes.io/hostname" else "zone"
            available = f"{len(domains)} {where}{'' if len(domains) == 1 else 's'} {'is' if len(domains) == 1 else 'are'}"
            return (f"Strict anti-affinity keeps one such VM per {where}: {len(group)} VMs carry these labels "
                    f"but only {available} available, so some of them will not start.")
    return ""


# ---- tab and save -------------------------------------------------------------------------

BLANK_ROW = {"strength": "required", "weight": "", "key": "", "value": "", "operator": "In", "values": "",
             "topology": "kubernetes.io/hostname", "use": True}


def _with_blank_rows(rows, add=None):
    rows = {k: list(v) for k, v in rows.items()}
    for block in rows:
        if block == add or not rows[block]:
            rows[block].append(dict(BLANK_ROW))
    return rows


def context(user, project, obj, state):
    spec = obj.get("spec") or {}
    posted = state.form  # {"rows", "wanted", "errors", "add"} after a POST
    rows = posted["rows"] if posted else rows_from_spec(spec)
    wanted = posted["wanted"] if posted else edit_module.spec_subset(spec, KEYS)
    errors = posted["errors"] if posted else {}
    edit = state.edit or edit_module.Edit(user, obj, KEYS)
    phase = (obj.get("status") or {}).get("phase", "")
    patch = edit_module.merge_patch(edit.base, wanted) if posted else None
    changes = edit_module.describe_changes(edit.base, wanted, phase) if posted else []
    edition = None
    if changes and phase not in ("Stopped", "Pending", ""):  # how placement reaches a running VM depends on it
        edition = cluster_edition(user, project.name, obj["metadata"]["name"])
        changes = edit_module.describe_changes(edit.base, wanted, phase, edition)
    return {
        "edition_unknown": edition.unknown_why if edition else "",
        "placement_rows": _with_blank_rows(rows, posted and posted["add"]),
        "placement_errors": {f"{b}-{i}-{f}": m for (b, i, f), m in errors.items()},
        "preview": preview(user, project.name, obj, wanted),
        "changes": changes,
        "patch_command": edit_module.patch_command(obj["metadata"]["name"], patch) if patch else "",
        "edit": edit, "operators": OPERATORS, "topologies": TOPOLOGIES,
    }


def _posted(request, obj, status=422):
    rows = rows_from_post(request.POST)
    add = request.POST.get("add") if request.POST.get("add") in ("selector", "node", "near", "apart") else None
    if add and add_entered(rows, request.POST, add):
        add = None  # the entered label is the new row
    wanted, errors = spec_from_rows(rows)
    return TabState(form={"rows": rows, "wanted": wanted, "errors": errors, "add": add}, status=status,
                    edit=edit_module.Edit(request.user, obj, KEYS, request.POST))


def review(request, project, obj):
    """Preview (the changes and the nodes that satisfy the rules), or one more blank row of a rule ("Add")."""
    state = _posted(request, obj, status=200)
    if state.form["errors"] and not state.form["add"]:
        state.status = 422
    return state


def save(request, project, obj):
    state = _posted(request, obj)
    if state.form["errors"]:
        return state
    try:
        saved = state.edit.save(project.name, state.form["wanted"])
    except Invalid as exc:
        state.error = exc.summary(fields=True)
        return state
    except KubeError as exc:
        state.error = exc.message
        return state
    if saved is None:
        return state
    messages.success(request, f"The placement rules of {obj['metadata']['name']} are saved.")
    return redirect(reverse("virtualization:detail-tab", args=[project.name, "vms", obj["metadata"]["name"], "placement"]))
