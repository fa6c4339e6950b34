"""OIDC sessions follow their ID token: shortly before it expires it is renewed with the refresh token
(Dex's token endpoint, grant_type=refresh_token), with the new token's groups; when that fails the session
ends and the user logs in again."""
import logging
import time

import requests
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation

from .backends import OIDCBackend, claims_identity
from .identity import TOKEN_SESSION_KEY, sync_groups

log = logging.getLogger("portal.auth")

AHEAD_SECONDS = 30  # renew this long before expiry, so no API call goes out with an expired token


def ensure_fresh(request):
    """None when the session's ID token is good (renewed if it was about to expire); else the response that
    sends the user to log in again."""
    session = request.session
    expires = session.get("oidc_id_token_exp")
    if not expires or expires - AHEAD_SECONDS > time.time():
        return None
    try:
        refreshed = renew(session.get("oidc_refresh_token"))
        username, groups = claims_identity(refreshed["claims"])
        if username != request.user.get_username():
            raise SuspiciousOperation("the renewed token names another user")
    except (SuspiciousOperation, requests.RequestException, KeyError, ValueError) as exc:
        log.info("OIDC session of %s ended: the token could not be renewed: %s", request.user.get_username(), exc)
        logout(request)
        return redirect_to_login(request.get_full_path())
    sync_groups(request.user, groups)
    session[TOKEN_SESSION_KEY] = refreshed["id_token"]
    session["oidc_refresh_token"] = refreshed["refresh_token"]
    session["oidc_id_token_exp"] = refreshed["claims"]["exp"]
    return None


def renew(refresh_token):
    """{"id_token", "refresh_token", "claims"} from the provider's token endpoint, the new ID token checked."""
    if not refresh_token:
        raise SuspiciousOperation("the session has no refresh token")
    backend = OIDCBackend()
    info = backend.get_token({"client_id": settings.OIDC_RP_CLIENT_ID, "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                              "grant_type": "refresh_token", "refresh_token": refresh_token})
    return {"id_token": info["id_token"], "refresh_token": info.get("refresh_token") or refresh_token,
            "claims": backend.verify_claims_of(info["id_token"])}
