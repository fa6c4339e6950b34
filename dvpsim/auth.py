"""Authentication: bearer tokens (header or WebSocket subprotocol; the simulator's own, or ID tokens of its
OIDC issuer, dvpsim.oidc) and impersonation."""

import base64
from dataclasses import dataclass, field

from .errors import Forbidden, Unauthorized
from .rbac import forbidden_message

WS_TOKEN_PREFIX = "base64url.bearer.authorization.k8s.io."


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple = field(default_factory=tuple)


def bearer_token(request):
    """The bearer token of a request: Authorization header, or the WebSocket subprotocol
    browsers use (`base64url.bearer.authorization.k8s.io.<token>`)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    for proto in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        proto = proto.strip()
        if proto.startswith(WS_TOKEN_PREFIX):
            enc = proto[len(WS_TOKEN_PREFIX):]
            try:
                return base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)).decode()
            except ValueError:
                return None
    return None


def authenticate(cluster, request):
    """The effective User of a request (after impersonation). Raises Unauthorized/Forbidden."""
    token = bearer_token(request)
    user = cluster.authenticate(token) if token else None
    issuer = getattr(cluster, "oidc", None)
    if user is None and token and issuer is not None and token.count(".") == 2:
        user = issuer.verify(token)  # an ID token of the cluster's Dex, as kube-apiserver's OIDC authenticator
    if user is None:
        raise Unauthorized()
    imp_user = request.headers.get("Impersonate-User")
    imp_groups = request.headers.getall("Impersonate-Group", [])
    if not imp_user:
        if imp_groups:
            raise Forbidden("requested impersonation of groups without impersonating a user")
        return user
    _check_impersonate(cluster, user, imp_user)
    for g in imp_groups:
        allowed, _ = cluster.can(user, "impersonate", "", "groups", name=g)
        if not allowed:
            raise Forbidden(forbidden_message(user, "impersonate", "", "groups", name=g),
                            details={"name": g, "kind": "groups"})
    groups = tuple(imp_groups)
    if imp_user.startswith("system:serviceaccount:"):
        ns = imp_user.split(":")[2]
        groups += ("system:serviceaccounts", f"system:serviceaccounts:{ns}")
    if "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return User(imp_user, groups)


def _check_impersonate(cluster, user, imp_user):
    if imp_user.startswith("system:serviceaccount:"):
        parts = imp_user.split(":")
        if len(parts) == 4:
            allowed, _ = cluster.can(user, "impersonate", "", "serviceaccounts", namespace=parts[2], name=parts[3])
            if allowed:
                return
    allowed, _ = cluster.can(user, "impersonate", "", "users", name=imp_user)
    if not allowed:
        raise Forbidden(forbidden_message(user, "impersonate", "", "users", name=imp_user),
                        details={"name": imp_user, "kind": "users"})
