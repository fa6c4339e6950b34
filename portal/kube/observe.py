"""The one place API calls are measured and the changes among them audited.

Every call portal.kube makes for a user goes through api_call(): its verb, result and latency become
Prometheus metrics (portal.metrics), and a change (create, update, patch, delete, operation) writes
an audit line (portal.audit) with who made it, what it touched and how it ended. Dry runs, access
reviews and the console's own calls (no identity) change nothing and are not audited.
"""
import time
from contextlib import contextmanager

from portal import audit, metrics

from .errors import KubeError, Unavailable
from .kinds import KINDS

_KIND_BY_PLURAL = {(kind.group, kind.plural): kind.kind for kind in KINDS.values()}
_CHANGES = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NOT_CHANGES = {"selfsubjectaccessreviews", "subjectaccessreviews", "selfsubjectrulesreviews"}


def parse_path(path):
    """(group, namespace, plural, name, subresource) of an API path; absent parts are ''."""
    parts = [part for part in path.split("?")[0].split("/") if part]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    else:
        return "", "", "", "", ""
    namespace = ""
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    rest += [""] * (3 - len(rest))
    return group, namespace, rest[0], rest[1], "/".join(rest[2:]).strip("/")


def kind_name(group, plural):
    if group.startswith("subresources."):
        group = group[len("subresources."):]
    return _KIND_BY_PLURAL.get((group, plural), plural)


def kube_verb(method, path, query=()):
    """The Kubernetes verb of a request, as the API server's audit log names it."""
    _, _, _, name, _ = parse_path(path)
    if method == "GET":
        return "watch" if ("watch", "1") in list(query) else ("get" if name else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


class Call:
    """What the caller learns of the outcome: `status` when the API answered without raising, and the
    object it answered with (a created object's name may have been generated)."""
    status = 200
    answer = None


@contextmanager
def api_call(identity, method, path, *, query=(), body=None, verb=None):
    verb = verb or kube_verb(method, path, query)
    call = Call()
    started = time.monotonic()
    status, reason = None, ""
    try:
        yield call
        status = call.status
    except KubeError as exc:
        # An Unavailable the API server did not answer with (no upstream_status) never reached it.
        reached = not isinstance(exc, Unavailable) or hasattr(exc, "upstream_status")
        status, reason = (exc.status if reached else None), exc.message
        raise
    finally:
        metrics.KUBE_REQUESTS.labels(verb, str(status) if status else "unreachable").inc()
        metrics.KUBE_LATENCY.labels(verb).observe(time.monotonic() - started)
        if identity is not None and method in _CHANGES:
            _audit_change(identity, method, path, dict(query), body, call.answer, status, reason)


def _audit_change(identity, method, path, query, body, answer, status, reason):
    group, namespace, plural, name, subresource = parse_path(path)
    if plural in _NOT_CHANGES or query.get("dryRun"):
        return
    kind = kind_name(group, plural)
    verb, details = _CHANGES[method], {}
    if subresource:
        verb, details = "operation", {"operation": subresource}
    elif kind == "VirtualMachineOperation" and method == "POST":
        verb = "operation"
        spec = (body or {}).get("spec") or {}
        details = {"operation": spec.get("type", ""), "virtualMachine": spec.get("virtualMachineName", "")}
    if not name:
        created = answer if isinstance(answer, dict) and answer.get("metadata") else body
        metadata = (created.get("metadata") if isinstance(created, dict) else None) or {}
        name = metadata.get("name") or (f"{metadata['generateName']}*" if metadata.get("generateName") else "")
    ok = status is not None and 200 <= status < 300
    if not ok:
        details.update(status=status or 0, reason=reason)
    audit.record(verb, user=identity.username, groups=identity.groups, kind=kind, project=namespace, name=name,
                 result="success" if ok else "failure", **details)


@contextmanager
def console_session(identity, namespace, vm, stream):
    """Around opening a VM console: call the yielded `opened()` once it is open. Audits the opening (or
    its refusal) and the closing, and counts open sessions."""
    state = {"opened_at": None}

    def opened():
        state["opened_at"] = time.monotonic()
        metrics.CONSOLE_SESSIONS_OPEN.labels(stream).inc()
        _audit_console("console-open", identity, namespace, vm, stream, "success")

    try:
        yield opened
    except KubeError as exc:
        if state["opened_at"] is None:
            _audit_console("console-open", identity, namespace, vm, stream, "failure", status=exc.status,
                           reason=exc.message)
        raise
    finally:
        if state["opened_at"] is not None:
            metrics.CONSOLE_SESSIONS_OPEN.labels(stream).dec()
            _audit_console("console-close", identity, namespace, vm, stream, "success",
                           seconds=round(time.monotonic() - state["opened_at"], 1))


def _audit_console(verb, identity, namespace, vm, stream, result, **details):
    audit.record(verb, user=identity.username, groups=identity.groups, kind="VirtualMachine", project=namespace,
                 name=vm, result=result, stream=stream, **details)


@contextmanager
def watch_open():
    metrics.WATCHES_OPEN.inc()
    try:
        yield
    finally:
        metrics.WATCHES_OPEN.dec()
