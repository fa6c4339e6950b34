"""Same-origin checks for what Django's CSRF middleware does not see: WebSockets and raw uploads.

Channels' AllowedHostsOriginValidator compares the Origin's host with ALLOWED_HOSTS, which have
no ports: a page served by any other program on the same host would pass, and browsers send
the session cookie to every port of a host. So a socket or an upload is accepted only from
this very site (scheme-less host and port equal to the Host header) or a trusted origin.
"""
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def same_origin(origin, host):
    if not origin or not host:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    origin_host = urlsplit(origin).netloc
    domain, _ = split_domain_port(origin_host)
    return origin_host == host and validate_host(domain, settings.ALLOWED_HOSTS)


class SameOriginWebSockets:
    """ASGI middleware: refuse a WebSocket (before it is accepted) whose page came from elsewhere."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if scope["type"] == "websocket" and not same_origin(origin, host):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
