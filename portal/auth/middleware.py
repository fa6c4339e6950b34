"""Per request, after Django's AuthenticationMiddleware: the way in's own step (the proxy's headers, the
OIDC token's renewal), then the user gets the session's token for identity_of()."""
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponseForbidden

from . import proxy, refresh
from .identity import attach, sync_groups


class IdentityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DVP_AUTH == "proxy":
            refused = proxy_login(request)
            if refused is not None:
                return refused
        elif settings.DVP_AUTH == "oidc" and request.user.is_authenticated:
            expired = refresh.ensure_fresh(request)
            if expired is not None:
                return expired
        if request.user.is_authenticated:
            attach(request.user, request.session)
        return self.get_response(request)


def proxy_login(request):
    """Log in (or keep) the user the proxy names, with the groups it names; a 403 for forged headers."""
    address = request.META.get("REMOTE_ADDR")
    if proxy.forged(address, request.headers):
        return HttpResponseForbidden("Identity headers are accepted only from the authenticating proxy.")
    username, groups = proxy.claimed(request.headers) if proxy.is_proxy(address) else ("", [])
    if not username:
        if request.user.is_authenticated:
            logout(request)  # a session made through the proxy counts only through the proxy
        return None
    if request.user.is_authenticated and request.user.get_username() == username:
        sync_groups(request.user, groups)
        return None
    user = authenticate(request, proxy_user=username, proxy_groups=groups)
    if user is None:
        return HttpResponseForbidden("This account is disabled.")
    login(request, user)
    return None
