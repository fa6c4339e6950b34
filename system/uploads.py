"""Upload from Computer for a cluster image made on its System page: the project upload socket
(virtualization.uploads) with the System page's access instead of a project's."""
from virtualization.consoles.sockets import Refused
from virtualization.uploads import UploadConsumer

from . import registry
from .generic import SYSTEM
from .sockets import authorize


class SystemUploadConsumer(UploadConsumer):
    async def authorize(self):
        try:
            self.user = await authorize(self.scope, registry.by_slug("cluster-images"))
        except Refused as refused:
            await self.refuse(refused)
            return None
        return SYSTEM
