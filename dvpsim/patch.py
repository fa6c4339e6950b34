"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch with per-kind metadata."""

import copy

from .errors import BadRequest, Invalid

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

# Patch metadata of the built-in kinds dvpsim serves, as the Go types' struct tags carry it
# (`patchStrategy` / `patchMergeKey`, k8s.io/api): path of a list field -> (strategy, merge key).
# "*" stands for "any element of the list". Strategy "merge" with no key is a set of primitives
# (finalizers); "merge,retainKeys" also honours `$retainKeys` in its elements. Every other list
# is atomic: a patch replaces it whole. Custom resources have no such metadata: kube-apiserver
# refuses strategic merge patches for them (415).
_META = {
    ("metadata", "finalizers"): ("merge", None),
    ("metadata", "ownerReferences"): ("merge", "uid"),
}
_CONDITIONS = {("status", "conditions"): ("merge", "type")}
_POD_SPEC = {
    ("volumes",): ("merge,retainKeys", "name"),
    ("initContainers",): ("merge", "name"),
    ("containers",): ("merge", "name"),
    ("ephemeralContainers",): ("merge", "name"),
    ("imagePullSecrets",): ("merge", "name"),
    ("hostAliases",): ("merge", "ip"),
}
_CONTAINER = {
    ("ports",): ("merge", "containerPort"),
    ("env",): ("merge", "name"),
    ("volumeMounts",): ("merge", "mountPath"),
    ("volumeDevices",): ("merge", "devicePath"),
}


def _pod_spec(prefix):
    out = {prefix + k: v for k, v in _POD_SPEC.items()}
    for containers in ("initContainers", "containers", "ephemeralContainers"):
        out.update({prefix + (containers, "*") + k: v for k, v in _CONTAINER.items()})
    return out


PATCH_META = {
    "Namespace": dict(_CONDITIONS),
    "Secret": {},
    "ConfigMap": {},
    "Event": {},  # core/v1 and events.k8s.io/v1: no merge lists
    "Endpoints": {},  # subsets are atomic
    "EndpointSlice": {},
    "Service": {("spec", "ports"): ("merge", "port"), **_CONDITIONS},
    "Node": {("spec", "podCIDRs"): ("merge", None),  # NodeSpec.taints has no patch strategy: atomic
             ("status", "conditions"): ("merge", "type"), ("status", "addresses"): ("merge", "type")},
    "PersistentVolumeClaim": dict(_CONDITIONS),
    "ServiceAccount": {("secrets",): ("merge", "name")},  # imagePullSecrets has no strategy: atomic
    "Pod": {**_pod_spec(("spec",)), ("status", "conditions"): ("merge", "type"),
            ("status", "podIPs"): ("merge", "ip"), ("status", "hostIPs"): ("merge", "ip")},
    "Lease": {},
    "StorageClass": {},
    "Ingress": {},
    "Role": {}, "ClusterRole": {}, "RoleBinding": {}, "ClusterRoleBinding": {},
}


def supports_strategic(kind):
    """Whether kube-apiserver accepts a strategic merge patch for `kind` (built-in kinds only)."""
    return not kind.group.endswith("deckhouse.io") and kind.kind in PATCH_META


def list_meta(kind_name):
    """{path tuple: (strategy, merge key)} for the kind, object metadata included."""
    return {**_META, **PATCH_META.get(kind_name, {})}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _lookup(meta, path):
    return meta.get(tuple(path))


def strategic_merge_patch(target, patch, meta=None, path=()):
    """kube's strategic merge patch (StrategicMergePatch of apimachinery) of `patch` onto `target`,
    with the list metadata `meta` (see list_meta): keyed lists merge by key, primitive merge lists
    are unions, other lists are replaced; directives `$patch: replace|delete|merge`, `$retainKeys`,
    `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>` are applied."""
    meta = meta or {}
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise BadRequest(f"Unknown patch type: {directive!r} in map: {patch}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = path + (key,)
        if value is None:
            result.pop(key, None)
            continue
        info = _lookup(meta, sub)
        if isinstance(value, list) and info:
            merged = _merge_list(result.get(key) if isinstance(result.get(key), list) else [], value,
                                 info[1], meta, sub)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, dict):
            child = strategic_merge_patch(result.get(key), value, meta, sub)
            if child is None:
                result.pop(key, None)
            else:
                result[key] = child
        else:
            result[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            info = _lookup(meta, path + (field,))
            if isinstance(result.get(field), list) and isinstance(value, list):
                server = target.get(field) if isinstance(target, dict) else None
                result[field] = _set_order(result[field], value, info[1] if info else None, server)
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _strip(value):
    """A patch value with its directives removed (what `$patch: replace` stores)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return copy.deepcopy(value)


def _merge_list(current, patch, mkey, meta, path):
    elem_path = path + ("*",)
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if any(isinstance(i, dict) and set(i) == {"$patch"} and i["$patch"] == "delete" for i in patch):
        return None  # `[{"$patch": "delete"}]` deletes the whole list
    out = [copy.deepcopy(i) for i in current]
    if mkey is None:  # a set of primitives: union, in the order of first appearance
        for item in patch:
            if item not in out:
                out.append(copy.deepcopy(item))
        return out
    for item in patch:
        if not isinstance(item, dict):
            raise BadRequest(f"unable to find api field in struct for the merge key {mkey!r}")
        if mkey not in item:
            raise BadRequest(f"map: {item} does not contain declared merge key: {mkey}")
        idx = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(mkey) == item[mkey]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(strategic_merge_patch({}, item, meta, elem_path))
        else:
            out[idx] = strategic_merge_patch(out[idx], item, meta, elem_path)
    return out


def _set_order(items, order, mkey, server):
    """Reorder `items` as `$setElementOrder` says, like apimachinery's normalizeElementOrder: the
    listed elements in the given order, merged with the others (server-only, in their live order)
    so that an element goes first only when it came first in the live list `server`."""
    def ident(item):
        return item.get(mkey) if mkey and isinstance(item, dict) else item
    wanted = [ident(o) for o in order]
    right = [i for w in wanted for i in items if ident(i) == w]
    left = [i for i in items if ident(i) not in wanted]
    live = [ident(i) for i in server or []]

    def less(a, b):
        a, b = ident(a), ident(b)
        return a in live and b in live and live.index(a) < live.index(b)
    out, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if j >= len(right) or (i < len(left) and less(left[i], right[j])):
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise BadRequest(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        elif isinstance(cur, dict):
            cur = cur[p]
        else:
            raise KeyError(p)
    return cur


def json_patch(target, ops):
    if not isinstance(ops, list):
        raise BadRequest("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        try:
            doc = _apply_op(doc, op)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise Invalid(f"the server rejected our request due to an error in our request: "
                          f"jsonpatch {op.get('op')} operation does not apply: {e}",
                          causes=[{"field": op.get("path", ""), "message": "jsonpatch operation does not apply"}])
    return doc


def _apply_op(doc, op):
    kind = op.get("op")
    parts = _pointer(op.get("path", ""))
    if kind == "test":
        if _walk(doc, parts) != op.get("value"):
            raise ValueError("test failed")
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
        if kind == "move":
            doc = _apply_op(doc, {"op": "remove", "path": op["from"]})
        return _apply_op(doc, {"op": "add", "path": op["path"], "value": value})
    if not parts:
        if kind in ("add", "replace"):
            return copy.deepcopy(op["value"])
        raise ValueError("cannot remove the root")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        if kind == "add":
            idx = len(parent) if last == "-" else int(last)
            if idx > len(parent):
                raise IndexError(last)
            parent.insert(idx, copy.deepcopy(op["value"]))
        elif kind == "remove":
            parent.pop(int(last))
        elif kind == "replace":
            parent[int(last)] = copy.deepcopy(op["value"])
        else:
            raise ValueError(f"unknown op {kind}")
    elif isinstance(parent, dict):
        if kind == "add":
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        elif kind == "replace":
            if last not in parent:
                raise KeyError(last)
            parent[last] = copy.deepcopy(op["value"])
        else:
            raise ValueError(f"unknown op {kind}")
    else:
        raise KeyError(last)
    return doc


def apply_patch(content_type, target, body, kind_name=None):
    """Apply a patch body (already decoded JSON) of the given content type."""
    ctype = (content_type or "").split(";")[0].strip()
    if ctype == MERGE:
        return merge_patch(target, body)
    if ctype == JSON_PATCH:
        return json_patch(target, body)
    if ctype == STRATEGIC:
        return strategic_merge_patch(target, body, list_meta(kind_name))
    if ctype == APPLY:
        return merge_patch(target, body)
    return None
