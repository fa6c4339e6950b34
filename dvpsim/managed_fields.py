"""metadata.managedFields and server-side apply, after kube's structured-merge-diff.

A field set is a Python set of paths; a path is a tuple of FieldsV1 path elements:
"f:<field>", "k:<json of the list-map keys>" (an element of a keyed list) or "v:<json value>"
(an element of a set of primitives). `encode` / `decode` convert to and from the FieldsV1
tree (`{"f:spec": {"f:x": {}}}`, with "." marking a node that is itself a member).

Simplified against kube (said so in the module and in the report):
- no schemas: a JSON object is a struct whose keys are fields (kube marks keys of granular maps
  such as labels the same way), a list is atomic unless the patch metadata of dvpsim.patch names
  it a keyed list or a set; custom resources' lists are all atomic (dvpsim's own schemas carry no
  x-kubernetes-list-type);
- Update operations record the fields added or changed by the write and drop removed fields
  from every manager; ownership of fields changed by admission defaults goes to the writer;
- writes by dvpsim's own controllers keep the managedFields they find (they record none),
  creates by them are recorded as "virtualization-controller".
"""

import copy
import json

from .errors import ApiError, BadRequest, Invalid
from .patch import list_meta

APPLY, UPDATE = "Apply", "Update"
# What kube strips before tracking (fieldmanager's StripMetaManager).
_STRIPPED_META = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "generation", "managedFields",
                  "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds")
# SSA keys of keyed lists where the openapi list-map-keys are more than the patch merge key.
_MAP_KEYS = {"ports": {"port": ("port", "protocol"), "containerPort": ("containerPort", "protocol")}}


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _keys_of(field, mkey):
    return _MAP_KEYS.get(field, {}).get(mkey, (mkey,))


def _item_key(item, field, mkey):
    out = {}
    for k in _keys_of(field, mkey):
        if k in item:
            out[k] = item[k]
        elif k == "protocol":
            out[k] = "TCP"  # the openapi default kube fills in before computing keys
    return "k:" + _dumps(out)


def _matches(item, field, mkey, key_json):
    return isinstance(item, dict) and _item_key(item, field, mkey) == key_json


def tracked(obj, subresource=None, has_status=False):
    """The part of an object managedFields describe: apiVersion/kind and server-set metadata
    stripped; status only for the status subresource, never for the main endpoint of a kind
    with a status subresource."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _STRIPPED_META}
    if meta:
        out["metadata"] = meta
    else:
        out.pop("metadata", None)
    if subresource == "status":
        return {"status": out["status"]} if "status" in out else {}
    if has_status:
        out.pop("status", None)
    return out


def field_set(obj, kind_name):
    """The set of paths an object (already `tracked`) sets."""
    out = set()
    _walk(obj, list_meta(kind_name), (), (), out)
    return out


def _walk(value, meta, names, prefix, out):
    for key, child in value.items():
        sub_names, path = names + (key,), prefix + ("f:" + key,)
        if isinstance(child, dict):
            if child:
                _walk(child, meta, sub_names, path, out)
            else:
                out.add(path)
            continue
        info = meta.get(sub_names) if isinstance(child, list) else None
        if not info or not child:
            out.add(path)
        elif info[1] is None:
            for item in child:
                out.add(path + ("v:" + _dumps(item),))
        elif all(isinstance(i, dict) for i in child):
            for item in child:
                element = path + (_item_key(item, key, info[1]),)
                out.add(element)
                _walk(item, meta, sub_names + ("*",), element, out)
        else:
            out.add(path)


_MISSING = object()


def value_at(obj, path, kind_name):
    """The value at a path of an object (_MISSING when absent)."""
    meta = list_meta(kind_name)
    cur, names = obj, ()
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return _MISSING
            cur, names = cur[rest], names + (rest,)
        elif kind == "k":
            info = meta.get(names) or ("", "")
            found = [i for i in cur if _matches(i, names[-1], info[1], element)] if isinstance(cur, list) else []
            if not found:
                return _MISSING
            cur, names = found[0], names + ("*",)
        elif kind == "v":
            value = json.loads(rest)
            if not isinstance(cur, list) or value not in cur:
                return _MISSING
            cur = value
    return cur


# Go struct fields that are not pointers: always present in a built-in object (as `{}`), so an Update
# never "adds" them and they get no "." of their own. Custom resources have none: there every map
# an Update adds is a member (`f:spec: {".": {}, ...}`), as kube shows for them.
_STRUCTS = {("f:metadata",), ("f:spec",), ("f:status",)}
_KIND_STRUCTS = {
    "Service": {("f:status", "f:loadBalancer")}, "Ingress": {("f:status", "f:loadBalancer")},
    "Node": {("f:status", "f:nodeInfo"), ("f:status", "f:daemonEndpoints"),
             ("f:status", "f:daemonEndpoints", "f:kubeletEndpoint")},
    "PersistentVolumeClaim": {("f:spec", "f:resources")},
    "Event": {("f:involvedObject",), ("f:source",)},
    "RoleBinding": {("f:roleRef",)}, "ClusterRoleBinding": {("f:roleRef",)},
}


def _map_paths(value, prefix=(), out=None):
    """Paths of the non-empty maps of an object outside lists (the maps an Update can add)."""
    out = set() if out is None else out
    for key, child in value.items():
        if isinstance(child, dict) and child:
            out.add(prefix + ("f:" + key,))
            _map_paths(child, prefix + ("f:" + key,), out)
    return out


def _added_maps(old, new, kind):
    if kind.group and kind.kind not in list_meta_kinds():
        structs = {("f:metadata",)}
    else:
        structs = _STRUCTS | _KIND_STRUCTS.get(kind.kind, set())
    before, after = _map_paths(old), _map_paths(new)
    return {p for p in after - before if p not in structs}, {p for p in before - after if p not in structs}


def list_meta_kinds():
    from .patch import PATCH_META
    return PATCH_META


def changed(old, new, kind_name):
    """Paths of `new` added or modified against `old` (the leaves and new elements), and paths of
    `old` gone from `new`: (changed, removed)."""
    old_set, new_set = field_set(old, kind_name), field_set(new, kind_name)
    # Like kube's Compare, elements of keyed lists and sets count as changed only when they are new:
    # a change inside an element is the change of its leaves.
    diff = {p for p in new_set if p not in old_set or (
        p[-1][:2] == "f:" and value_at(old, p, kind_name) != value_at(new, p, kind_name))}
    return diff, old_set - new_set


# FieldsV1 encoding --------------------------------------------------------------------------
def encode(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _finish(tree)


def _finish(node):
    children = {k: _finish(v) for k, v in node.items() if k != "."}
    if "." in node and children:
        return {".": {}, **children}
    return children


def decode(tree, prefix=()):
    out = set()
    for key, child in (tree or {}).items():
        if key == ".":
            out.add(prefix)
            continue
        path = prefix + (key,)
        if child:
            out |= decode(child, path)
        else:
            out.add(path)
    return out


def path_string(path):
    """kube's fieldpath.Path String(): `.spec.ports[port=80,protocol="TCP"].name`, `.x[="v"]`."""
    out = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            keys = json.loads(rest)
            out += "[" + ",".join(f"{k}={_dumps(v)}" for k, v in keys.items()) + "]"
        else:
            out += "[=" + rest + "]"
    return out


# entries ------------------------------------------------------------------------------------
def _entry_key(entry):
    return (entry.get("manager", ""), entry.get("operation", ""), entry.get("subresource", ""))


def _entries(obj):
    out = []
    for e in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(e, dict) and e.get("manager") is not None:
            out.append(copy.deepcopy(e))
    return out


def _make(manager, operation, api_version, time, paths, subresource=None):
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": time,
             "fieldsType": "FieldsV1", "fieldsV1": encode(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _replace_entry(entries, key, entry):
    out, placed = [], False
    for e in entries:
        if _entry_key(e) == key:
            if entry is not None and not placed:
                out.append(entry)
                placed = True
            continue
        out.append(e)
    if entry is not None and not placed:
        out.append(entry)
    return out


def record_update(kind, old, new, manager, api_version, time, subresource=None, entries=None):
    """The managedFields after an Update operation by `manager` turning `old` (None on create)
    into `new`. Another manager's fields the write changed or removed pass to this manager.
    `entries`: the managedFields to start from (default: old's)."""
    has_status = kind.has_status
    o = tracked(old, subresource, has_status) if old is not None else {}
    n = tracked(new, subresource, has_status)
    diff, removed = changed(o, n, kind.kind)
    added_maps, removed_maps = _added_maps(o, n, kind)
    diff, removed = diff | added_maps, removed | removed_maps
    if entries is None:
        entries = _entries(old) if old is not None else []
    out = []
    for e in entries:
        if _entry_key(e) == (manager, UPDATE, subresource or ""):
            out.append(e)
            continue
        if (e.get("subresource") or None) != subresource:
            out.append(e)
            continue
        paths = decode(e.get("fieldsV1"))
        left = paths - diff - removed
        if left != paths:
            if not left:
                continue
            e = dict(e, fieldsV1=encode(left))
        out.append(e)
    mine = next((e for e in out if _entry_key(e) == (manager, UPDATE, subresource or "")), None)
    before = decode(mine.get("fieldsV1")) if mine else set()
    after = (before | diff) - removed
    if mine is not None and after == before and mine.get("apiVersion") == api_version:
        return out
    return _replace_entry(out, (manager, UPDATE, subresource or ""),
                          _make(manager, UPDATE, api_version, time, after, subresource) if after else None)


def requested(obj):
    """managedFields a request sets itself (kube takes them as the starting point when they decode
    and are not empty; `[{}]` resets), or None."""
    mf = (obj.get("metadata") or {}).get("managedFields")
    if not isinstance(mf, list) or not mf or reset_requested(obj):
        return None
    if not all(isinstance(e, dict) and e.get("manager") is not None and e.get("operation") in (APPLY, UPDATE)
               and isinstance(e.get("fieldsV1", {}), dict) for e in mf):
        return None
    return copy.deepcopy(mf)


def reset_requested(obj):
    """A request resets managedFields with `managedFields: [{}]` (kube's documented way)."""
    mf = (obj.get("metadata") or {}).get("managedFields")
    return isinstance(mf, list) and len(mf) == 1 and mf[0] == {}


# server-side apply ----------------------------------------------------------------------------
def merge(live, config, kind_name, names=()):
    """Merge an applied configuration into the live object (structured merge: keyed lists by key,
    sets by value, every other list replaced)."""
    meta = list_meta(kind_name)
    return _merge(live, config, meta, names)


def _merge(live, config, meta, names):
    if not isinstance(config, dict) or not isinstance(live, dict):
        return copy.deepcopy(config)
    out = copy.deepcopy(live)
    for key, value in config.items():
        sub = names + (key,)
        info = meta.get(sub) if isinstance(value, list) else None
        if value is None:
            continue
        if info and isinstance(out.get(key), list):
            if info[1] is None:
                out[key] = out[key] + [copy.deepcopy(v) for v in value if v not in out[key]]
            else:
                merged = list(out[key])
                for item in value:
                    if not isinstance(item, dict):
                        raise BadRequest(f"associative list with keys has an element that is not a map: {item}")
                    k = _item_key(item, key, info[1])
                    idx = next((i for i, c in enumerate(merged) if _matches(c, key, info[1], k)), None)
                    if idx is None:
                        merged.append(copy.deepcopy(item))
                    else:
                        merged[idx] = _merge(merged[idx], item, meta, sub + ("*",))
                out[key] = merged
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, meta, sub)
        else:
            out[key] = copy.deepcopy(value)
    return out


def remove_paths(obj, paths, kind_name):
    """Remove the given paths from an object (deepest first)."""
    meta = list_meta(kind_name)
    paths = {p for p in paths if not any(p[:i] in paths for i in range(1, len(p)))}  # whole elements at once
    for path in sorted(paths, key=len, reverse=True):
        parent = value_at(obj, path[:-1], kind_name) if len(path) > 1 else obj
        if parent is _MISSING:
            continue
        kind, _, rest = path[-1].partition(":")
        if kind == "f" and isinstance(parent, dict):
            parent.pop(rest, None)
        elif kind == "k" and isinstance(parent, list):
            names = tuple(p[2:] if p.startswith("f:") else "*" for p in path[:-1])
            info = meta.get(names) or ("", "")
            parent[:] = [i for i in parent if not _matches(i, names[-1], info[1], path[-1])]
        elif kind == "v" and isinstance(parent, list):
            value = json.loads(rest)
            parent[:] = [i for i in parent if i != value]
    return obj


class ApplyConflict(ApiError):
    code = 409
    reason = "Conflict"


def _print_manager(entry):
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == UPDATE:
        text += f" using {entry.get('apiVersion', '')}"
    return text


def apply(kind, live, config, manager, api_version, time, force=False, subresource=None):
    """Server-side apply of `config` by `manager` to `live` (None: the object does not exist).
    Returns (the new object, its managedFields); ApplyConflict (409) unless `force`."""
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise BadRequest("metadata.managedFields must be nil")
    has_status = kind.has_status
    applied = tracked(config, subresource, has_status)
    base = copy.deepcopy(live) if live is not None else {}
    applied_set = field_set(applied, kind.kind)
    entries = _entries(live) if live is not None else []
    me = (manager, APPLY, subresource or "")
    mine = next((e for e in entries if _entry_key(e) == me), None)
    previous = decode(mine.get("fieldsV1")) if mine else set()
    others = [e for e in entries if _entry_key(e) != me and (e.get("subresource") or None) == subresource]
    owned_by_others = set()
    for e in others:
        owned_by_others |= decode(e.get("fieldsV1"))
    merged = merge(base, _mergeable(config, subresource, has_status), kind.kind)
    # Fields this manager applied before and no longer does are removed unless someone still owns them
    # or something under them (kube's prune adds back owned items and their parents).
    kept = applied_set | owned_by_others
    kept_prefixes = {p[:i] for p in kept for i in range(1, len(p) + 1)}
    gone = {p for p in previous - kept if p not in kept_prefixes}
    if gone:
        remove_paths(merged, gone, kind.kind)
    diff, removed = changed(tracked(base, subresource, has_status), tracked(merged, subresource, has_status),
                            kind.kind)
    conflicts = []
    for e in others:
        clash = decode(e.get("fieldsV1")) & diff
        for path in sorted(clash):
            conflicts.append((e, path))
    if conflicts and not force and manager == "kubectl":
        # kube's lastAppliedManager: `kubectl apply --server-side` after client-side applies takes over
        # the fields of the last-applied-configuration annotation that still hold their applied value.
        allowed = _allowed_from_last_applied(live, kind, subresource)
        conflicts = [(e, p) for e, p in conflicts if p not in allowed]
        force = not conflicts
    if conflicts and not force:
        raise _conflict_error(conflicts)
    entry = _make(manager, APPLY, api_version, time, applied_set, subresource)
    if mine is not None and previous == applied_set and mine.get("apiVersion") == api_version:
        entry = mine
    out = []
    for e in entries:
        if _entry_key(e) == me:
            if applied_set:
                out.append(entry)
            continue
        if e in others:
            paths = decode(e.get("fieldsV1"))
            left = paths - diff - removed if force else paths - removed
            if not left:
                continue
            if left != paths:
                e = dict(e, fieldsV1=encode(left))
        out.append(e)
    if mine is None and applied_set:
        out.append(entry)
    return merged, out


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _allowed_from_last_applied(live, kind, subresource):
    text = ((live or {}).get("metadata") or {}).get("annotations", {}).get(LAST_APPLIED)
    if not text:
        return set()
    try:
        last = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    last_t = tracked(last, subresource, kind.has_status)
    live_t = tracked(live, subresource, kind.has_status)
    return {p for p in field_set(last_t, kind.kind)
            if value_at(last_t, p, kind.kind) == value_at(live_t, p, kind.kind)}


def _mergeable(config, subresource, has_status):
    """What of an applied configuration is merged into the object (identity and server-set
    metadata are not; status only through the status subresource)."""
    out = copy.deepcopy(config)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
    if subresource == "status":
        return {"status": out["status"]} if "status" in out else {}
    if has_status:
        out.pop("status", None)
    return out


def _conflict_error(conflicts):
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {_print_manager(e)}",
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_print_manager(e)}: {path_string(p)}"
    else:
        by_manager = {}
        for e, p in conflicts:
            by_manager.setdefault(_print_manager(e), []).append(path_string(p))
        lines = []
        for m in sorted(by_manager):
            lines.append(f"conflicts with {m}:")
            lines += [f"- {p}" for p in by_manager[m]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApplyConflict(message, causes=causes)


def validate_patch_options(query, is_apply):
    """kube's ValidatePatchOptions: fieldManager required for apply, `force` only for apply, a manager
    name of at most 128 printable characters."""
    causes = []
    if not is_apply and "force" in query:
        causes.append({"reason": "FieldValueForbidden", "field": "force",
                       "message": "Forbidden: may not be specified for non-apply patch"})
    if is_apply and not query.get("fieldManager"):
        causes.append({"reason": "FieldValueRequired", "field": "fieldManager",
                       "message": "Required value: is required for apply patch"})
    manager = query.get("fieldManager", "")
    if len(manager) > 128:
        causes.append({"reason": "FieldValueTooLong", "field": "fieldManager",
                       "message": "Too long: may not be more than 128 bytes"})
    if causes:
        summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise Invalid('PatchOptions.meta.k8s.io "" is invalid: '
                      + (f"[{summary}]" if len(causes) > 1 else summary),
                      causes=causes, details={"group": "meta.k8s.io", "kind": "PatchOptions"})


def require_manager(field_manager):
    if not field_manager:
        raise Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                      'is required for apply patch',
                      causes=[{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                               "field": "fieldManager"}],
                      details={"group": "meta.k8s.io", "kind": "PatchOptions"})


def manager_from(request_query, user_agent):
    """The manager of an Update: the fieldManager parameter, else the User-Agent's first token."""
    fm = request_query.get("fieldManager")
    if fm:
        return fm
    return (user_agent or "").split("/")[0][:128] or "unknown"
