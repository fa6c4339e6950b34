"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a small strategic merge patch."""

import copy

from .errors import BadRequest, Invalid

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

# List fields of core kinds merged by a key under strategic merge patch.
_MERGE_KEYS = {"containers": "name", "ports": "containerPort", "env": "name", "volumes": "name",
               "conditions": "type", "addresses": "address", "taints": "key", "subjects": "name"}


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


def strategic_merge_patch(target, patch):
    """Merge patch, except that lists of objects with a known merge key are merged by that key
    and `$patch: replace|delete` directives are honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in copy.deepcopy(patch).items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _MERGE_KEYS and isinstance(result.get(key), list) \
                and all(isinstance(v, dict) for v in value):
            result[key] = _merge_list(result[key], value, _MERGE_KEYS[key])
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(current, patch, mkey):
    out = [copy.deepcopy(i) for i in current]
    for item in patch:
        idx = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(mkey) == item.get(mkey)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(copy.deepcopy(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
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


def apply_patch(content_type, target, body):
    """Apply a patch body (already decoded JSON) of the given content type."""
    ctype = (content_type or "").split(";")[0].strip()
    if ctype == MERGE:
        return merge_patch(target, body)
    if ctype == JSON_PATCH:
        return json_patch(target, body)
    if ctype == STRATEGIC:
        return strategic_merge_patch(target, body)
    if ctype == APPLY:
        return merge_patch(target, body)
    return None
