"""Behind an authenticating proxy (DVP_AUTH=proxy): the user and groups headers count only when the
request comes from one of DVP_AUTH_PROXY_ADDRESSES. From anywhere else those headers are a forgery:
the request is refused and logged."""
import ipaddress
import logging

from django.conf import settings

log = logging.getLogger("portal.auth")


def _networks():
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.DVP_AUTH_PROXY_ADDRESSES]


def is_proxy(address):
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in _networks())


def _split(groups):
    return [group.strip() for group in (groups or "").split(",") if group.strip()]


def claimed(headers):
    """(user, groups) the headers name; `headers` is case-insensitive (request.headers, or a socket's)."""
    return (headers.get(settings.DVP_AUTH_PROXY_USER_HEADER) or "").strip(), \
        _split(headers.get(settings.DVP_AUTH_PROXY_GROUPS_HEADER))


def forged(address, headers):
    """True (and logged) when identity headers come from an address that is not the proxy's."""
    names = (settings.DVP_AUTH_PROXY_USER_HEADER, settings.DVP_AUTH_PROXY_GROUPS_HEADER)
    if is_proxy(address) or not any(headers.get(name) for name in names):
        return False
    log.warning("refused identity headers (%s) from %s, which is not an authenticating proxy",
                ", ".join(name for name in names if headers.get(name)), address)
    return True


def socket_allowed(scope, user):
    """Whether a WebSocket came through the proxy for the session's user (the session alone is not
    enough in proxy mode: every request must come through the proxy, for this very user)."""
    from django.http.request import HttpHeaders
    headers = HttpHeaders({"HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
                           for name, value in scope.get("headers") or []})
    address = (scope.get("client") or ("",))[0]
    if forged(address, headers) or not is_proxy(address):
        return False
    username, _ = claimed(headers)
    return username == user.get_username()
