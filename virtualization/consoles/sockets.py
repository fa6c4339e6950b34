"""The one authorization step of the console's WebSockets, before a socket is accepted.

The Origin is checked before any consumer runs (portal.origin.SameOriginWebSockets wraps them all in
portal.asgi); the session's user comes from AuthMiddlewareStack. What is left is asked here: is there
a user, and may that user work in the project the URL names (asked of the API server as the user)?
"""
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404

from portal.auth import proxy
from portal.auth.identity import attach, identity_of
from portal.kube import KubeError
from projects.access import get_project


class Refused(Exception):
    """A socket refused: an HTTP-like `status` (401, 403, 404, 409, 502, 503) and words for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def close_code(self):
        return 4000 + self.status % 1000


def _project_as(user, session, name):
    attach(user, session)
    identity_of(user)  # computed here, off the event loop: the consumer's streams reuse it
    return get_project(user, name)


def authenticate(scope):
    """The session's user of a WebSocket's scope; raises Refused(401) without one (or, behind the
    authenticating proxy, for a socket that did not come through it). Every socket asks this first."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        raise Refused(401, "You are not logged in.")
    if settings.DVP_AUTH == "proxy" and not proxy.socket_allowed(scope, user):
        raise Refused(401, "This socket did not come through the authenticating proxy for your session.")
    return user


async def authorize(scope):
    """(user, Project) of a WebSocket's scope; raises Refused(401) without a session and Refused(404)
    when the user may not see the project (whether it exists is not revealed). The user carries their
    Identity (portal.auth.identity) from here on."""
    user = authenticate(scope)
    try:
        return user, await sync_to_async(_project_as)(user, scope.get("session"),
                                                       scope["url_route"]["kwargs"]["project"])
    except Http404:
        raise Refused(404, "No such project.") from None
    except KubeError as exc:
        raise Refused(503, exc.message) from exc


class ProjectSocket(AsyncWebsocketConsumer):
    """A consumer of a project's WebSocket: `await self.authorize()` first, then its own questions."""

    async def authorize(self):
        """The project, with self.user set; None once refuse() has answered."""
        try:
            self.user, project = await authorize(self.scope)
        except Refused as refused:
            await self.refuse(refused)
            return None
        return project

    async def refuse(self, refused):
        """Close before accepting (the browser sees only that the socket failed); override to explain."""
        await self.close(code=refused.close_code)
