"""The subset of kubectl JSONPath used by printer columns.

Supports `.a.b`, escaped dots and slashes in keys (`.annotations.a\\.b\\/c`),
`[n]`, `[*]`, `[?(@.x=='y')]`, `[?(@.x==true)]`, `[?(@.x!=1)]` and `[?(@.x)]`.
`find(path, obj)` returns the list of matched values (empty when nothing matches).
"""

import re


class JSONPathError(ValueError):
    pass


def parse(path):
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    steps, i = [], 0
    while i < len(path):
        ch = path[i]
        if ch == "$" and i == 0:
            i += 1
        elif ch == ".":
            i += 1
            name = []
            while i < len(path) and path[i] not in ".[":
                if path[i] == "\\" and i + 1 < len(path):
                    name.append(path[i + 1])
                    i += 2
                else:
                    name.append(path[i])
                    i += 1
            if name:
                steps.append(("field", "".join(name)))
        elif ch == "[":
            end = _matching_bracket(path, i)
            steps.append(_bracket(path[i + 1:end]))
            i = end + 1
        else:
            raise JSONPathError(f"unexpected {ch!r} in {path!r}")
    return steps


def _matching_bracket(path, start):
    depth, quote = 0, None
    for j in range(start, len(path)):
        ch = path[j]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError(f"unterminated [ in {path!r}")


_FILTER = re.compile(r"^\?\(\s*@((?:\.[A-Za-z0-9_\-\\./]+?)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def _bracket(inner):
    inner = inner.strip()
    if inner == "*":
        return ("all", None)
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    if inner[:1] in "'\"" and inner[-1:] == inner[:1]:
        return ("field", inner[1:-1])
    m = _FILTER.match(inner)
    if m:
        sub, op, raw = m.groups()
        return ("filter", (parse(sub), op, _literal(raw) if op else None))
    raise JSONPathError(f"unsupported expression [{inner}]")


def _literal(raw):
    raw = raw.strip()
    if raw[:1] in "'\"" and raw[-1:] == raw[:1]:
        return raw[1:-1]
    if raw == "true":
        return True
    if raw == "false":
        return False
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def _compare(a, op, b):
    if op == "==":
        return a == b and type(a) is not bool or (isinstance(a, bool) and a is b)
    if op == "!=":
        return not _compare(a, "==", b)
    try:
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    except TypeError:
        return False


def _apply(steps, nodes):
    for kind, arg in steps:
        out = []
        for node in nodes:
            if kind == "field":
                if isinstance(node, dict) and arg in node:
                    out.append(node[arg])
            elif kind == "index":
                if isinstance(node, list) and -len(node) <= arg < len(node):
                    out.append(node[arg])
            elif kind == "all":
                if isinstance(node, list):
                    out.extend(node)
                elif isinstance(node, dict):
                    out.extend(node.values())
            elif kind == "filter":
                sub, op, value = arg
                items = node if isinstance(node, list) else []
                for item in items:
                    found = _apply(sub, [item])
                    if op is None:
                        if found:
                            out.append(item)
                    elif found and _compare(found[0], op, value):
                        out.append(item)
        nodes = out
    return nodes


_CACHE = {}


def find(path, obj):
    steps = _CACHE.get(path)
    if steps is None:
        steps = _CACHE[path] = parse(path)
    return _apply(steps, [obj])
