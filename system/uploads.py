"""Upload from Computer for a cluster image made on its System page: the project upload socket
(virtualization.uploads) with the System page's access instead of a project's."""
from asgiref.sync import sync_to_async

from portal.auth.identity import attach, identity_of
from virtualization.consoles.sockets import Refused
from virtualization.uploads import UploadConsumer

from . import access, registry
from .generic import SYSTEM


def _may_upload(user, session):
    attach(user, session)
    identity_of(user)  # computed here, off the event loop
    return access.may_open(user, registry.by_slug("cluster-images"))


class SystemUploadConsumer(UploadConsumer):
    async def authorize(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(Refused(401, "You are not logged in."))
            return None
        self.user = user
        if not await sync_to_async(_may_upload)(user, self.scope.get("session")):
            await self.refuse(Refused(404, "No such page."))
            return None
        return SYSTEM
