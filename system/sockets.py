"""The authorization of the System section's WebSockets, before a socket is accepted: the session (as every
socket of the console, consoles.sockets.authenticate; the Origin was checked by portal.origin before), then the
page's own gate (system/access.py), asked of the API server as the user."""
from asgiref.sync import sync_to_async

from portal.auth.identity import attach, identity_of
from portal.kube import KubeError
from virtualization.consoles.sockets import Refused, authenticate

from . import access


def _may_open(user, session, resource):
    attach(user, session)
    identity_of(user)  # computed here, off the event loop: the consumer's streams reuse it
    return access.may_open(user, resource)


async def authorize(scope, resource):
    """The user of a System socket once the session and the page's gate allow them; raises Refused: 401 without
    a session, 404 when the page is not theirs or does not exist (nothing tells a project user it exists)."""
    user = authenticate(scope)
    try:
        allowed = resource is not None and await sync_to_async(_may_open)(user, scope.get("session"), resource)
    except KubeError as exc:
        raise Refused(503, exc.message) from exc
    if not allowed:
        raise Refused(404, "No such page.")
    return user
