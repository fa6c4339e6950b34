"""The three ways in, one authentication backend each; each answers only in its own mode (DVP_AUTH).

All three keep users in Django's user table (sessions point at them) and their groups in Django groups
(portal.auth.identity): local accounts' groups are set by an administrator, OIDC and proxy users' groups
are rewritten from the token's claim or the proxy's header at every login.
"""
import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .identity import sync_groups

log = logging.getLogger("portal.auth")

LEEWAY_SECONDS = 30


class LocalBackend(ModelBackend):
    """User name and password of a Django account (DVP_AUTH=local)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.DVP_AUTH != "local":
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class ProxyBackend(ModelBackend):
    """The user an authenticating proxy vouched for (DVP_AUTH=proxy; portal.auth.proxy checks the sender)."""

    def authenticate(self, request, proxy_user=None, proxy_groups=(), **kwargs):
        if settings.DVP_AUTH != "proxy" or not proxy_user:
            return None
        user, _ = get_user_model().objects.get_or_create(username=proxy_user[:150])
        if not self.user_can_authenticate(user):
            return None
        sync_groups(user, proxy_groups)
        return user


def claims_identity(claims):
    """(username, groups) from ID token claims, as kube-apiserver reads them with --oidc-username-claim,
    --oidc-groups-claim and their prefixes; raises SuspiciousOperation when the username is missing."""
    claim = settings.DVP_OIDC_USERNAME_CLAIM
    username = claims.get(claim)
    if not isinstance(username, str) or not username:
        raise SuspiciousOperation(f"the ID token has no {claim!r} claim")
    if claim == "email" and claims.get("email_verified") is False:
        raise SuspiciousOperation("the ID token's e-mail address is not verified")
    groups = claims.get(settings.DVP_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    return (settings.DVP_OIDC_USERNAME_PREFIX + username,
            [settings.DVP_OIDC_GROUPS_PREFIX + str(group) for group in groups])


class OIDCBackend(OIDCAuthenticationBackend):
    """A Dex client (DVP_AUTH=oidc), with mozilla-django-oidc's code flow (state, nonce, PKCE).

    What the library leaves out is added here: the ID token's audience, issuer and expiry are checked
    (it checks only the signature), user name and groups come from the ID token's claims (the ones the
    API server will see in token mode), and the refresh token is kept for portal.auth.refresh.
    """

    def authenticate(self, request, **kwargs):
        if settings.DVP_AUTH != "oidc":
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SuspiciousOperation as exc:
            log.warning("OIDC login refused: %s", exc)
        except requests.RequestException as exc:
            log.warning("OIDC login failed: the provider could not be asked: %s", type(exc).__name__)
        return None

    def _verify_jws(self, payload, key):
        try:
            algorithm = jwt.get_unverified_header(payload).get("alg")
            if algorithm != self.OIDC_RP_SIGN_ALGO:
                raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r}")
            return jwt.decode(payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                              issuer=settings.DVP_OIDC_ISSUER, leeway=LEEWAY_SECONDS,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def verify_claims_of(self, id_token):
        """The claims of an ID token from the provider (signature, audience, issuer, expiry checked)."""
        return self._verify_jws(id_token, self.retrieve_matching_jwk(id_token))

    def get_token(self, payload):
        self.token_info = super().get_token(payload)
        return self.token_info

    def store_tokens(self, access_token, id_token):
        super().store_tokens(access_token, id_token)
        session = self.request.session
        session["oidc_refresh_token"] = getattr(self, "token_info", {}).get("refresh_token")
        session["oidc_id_token_exp"] = jwt.decode(id_token, options={"verify_signature": False}).get("exp")

    def get_userinfo(self, access_token, id_token, payload):
        # The ID token's own claims: token mode sends this very token, so its names are the ones that count.
        return payload

    def verify_claims(self, claims):
        claims_identity(claims)
        return True

    def filter_users_by_claims(self, claims):
        username, _ = claims_identity(claims)
        return self.UserModel.objects.filter(username=username)

    def create_user(self, claims):
        username, _ = claims_identity(claims)
        return self.update_user(self.UserModel.objects.create_user(username[:150], email=claims.get("email", "")),
                                claims)

    def update_user(self, user, claims):
        _, groups = claims_identity(claims)
        sync_groups(user, groups)
        return user
