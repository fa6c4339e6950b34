"""Access and identity reviews, answered synchronously (never stored)."""

from .auth import User
from .errors import BadRequest


def _decide(cluster, user, spec):
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    if ra:
        return cluster.rbac.authorize(
            user, verb=ra.get("verb", ""), group=ra.get("group", ""), resource=ra.get("resource", ""),
            subresource=ra.get("subresource") or None, namespace=ra.get("namespace") or None,
            name=ra.get("name") or None)
    if nra:
        return cluster.rbac.authorize_path(user, nra.get("verb", ""), nra.get("path", ""))
    raise BadRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified")


def answer(cluster, kind, body, user):
    """The review object with its status filled in for the requesting `user`."""
    spec = body.get("spec") or {}
    out = {"kind": kind.kind, "apiVersion": kind.api_version,
           "metadata": {"creationTimestamp": None}, "spec": spec}
    if kind.kind == "SelfSubjectAccessReview":
        allowed, reason = _decide(cluster, user, spec)
    elif kind.kind == "SubjectAccessReview":
        groups = tuple(spec.get("groups") or ())
        allowed, reason = _decide(cluster, User(spec.get("user", ""), groups), spec)
    elif kind.kind == "SelfSubjectRulesReview":
        res, nonres = cluster.rbac.rules_for(user, spec.get("namespace"))
        out["status"] = {"resourceRules": res, "nonResourceRules": nonres, "incomplete": False}
        return out
    elif kind.kind == "SelfSubjectReview":
        out["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
        return out
    else:
        raise BadRequest(f"{kind.kind} is not a review")
    out["status"] = {"allowed": allowed}
    if reason:
        out["status"]["reason"] = reason
    return out
