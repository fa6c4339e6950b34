"""Label and field selectors (the string syntax of `?labelSelector=` / `?fieldSelector=`)."""

import re

from .errors import BadRequest

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")


def _split_top(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (s.strip() for s in parts) if p]


def parse_label_selector(selector):
    """Return a predicate over a labels dict. Accepts a selector string, a dict of
    matchLabels, a LabelSelector ({matchLabels, matchExpressions}) or None."""
    if not selector:
        return lambda labels: True
    if isinstance(selector, dict):
        return _from_label_selector_object(selector)
    reqs = []
    for part in _split_top(selector):
        m = re.match(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$", part)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                reqs.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                reqs.append(lambda l, k=key, v=value: k in l and l[k] == v)
            continue
        m = _SET_RE.match(part)
        if not m:
            raise BadRequest(f"unable to parse requirement: invalid label selector: {part!r}")
        neg, key, op, values = m.groups()
        if op:
            if neg:
                raise BadRequest(f"unable to parse requirement: {part!r}")
            vals = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                reqs.append(lambda l, k=key, vs=vals: l.get(k) in vs)
            else:
                reqs.append(lambda l, k=key, vs=vals: l.get(k) not in vs)
        elif neg:
            reqs.append(lambda l, k=key: k not in l)
        else:
            reqs.append(lambda l, k=key: k in l)
    return lambda labels: all(r(labels or {}) for r in reqs)


def _from_label_selector_object(sel):
    if "matchLabels" not in sel and "matchExpressions" not in sel:
        sel = {"matchLabels": sel}
    match_labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []

    def pred(labels):
        labels = labels or {}
        for k, v in match_labels.items():
            if labels.get(k) != v:
                return False
        for e in exprs:
            key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True
    return pred


def _field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(selector):
    """Predicate over a whole object for `a.b=v,c!=w` (any dotted path is accepted)."""
    if not selector:
        return lambda obj: True
    reqs = []
    for part in _split_top(selector):
        m = re.match(r"^([A-Za-z0-9._-]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise BadRequest(f'invalid field selector: "{part}"')
        path, op, value = m.groups()
        if op == "!=":
            reqs.append(lambda o, p=path, v=value: _field_value(o, p) != v)
        else:
            reqs.append(lambda o, p=path, v=value: _field_value(o, p) == v)
    return lambda obj: all(r(obj) for r in reqs)
