"""The one place that turns a logged-in Django user into the Identity the API sees.

Whatever the way in, a user's groups are their Django groups: local accounts get them from the admin,
OIDC logins and the auth proxy write the groups they were given into them (sync_groups) at each login,
token refresh or proxied request. So the user object always carries its groups, also in code that has
no session. The ID token lives in the session (OIDC only); attach() puts it on the user for the
request or socket at hand, and it is sent instead of impersonating when DVP_KUBE_AUTH=token.
"""
from django.conf import settings
from django.contrib.auth.models import Group

from portal.kube import Identity

TOKEN_SESSION_KEY = "oidc_id_token"  # where mozilla-django-oidc keeps it (OIDC_STORE_ID_TOKEN)


def identity_of(user) -> Identity:
    """The Identity of an authenticated user: name, Django groups and (token mode) the session's ID token.
    Computed once per request or socket (it reads the groups from the database)."""
    identity = getattr(user, "_kube_identity", None)
    if identity is None:
        groups = tuple(sorted(user.groups.values_list("name", flat=True))) if user.pk is not None else ()
        token = getattr(user, "_kube_token", None) if settings.DVP_KUBE_AUTH == "token" else None
        identity = Identity(user.get_username(), groups, token)
        user._kube_identity = identity
    return identity


def attach(user, session):
    """Give the user of this request or socket the session's ID token (and forget a computed Identity)."""
    user._kube_token = session.get(TOKEN_SESSION_KEY) if session is not None else None
    user._kube_identity = None


def sync_groups(user, names):
    """Make the user's Django groups exactly `names` (the groups an OIDC token or the proxy gave)."""
    names = sorted({name for name in names if name})
    if sorted(user.groups.values_list("name", flat=True)) == names:
        return
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    user._kube_identity = None
