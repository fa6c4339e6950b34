"""ASGI entry point: Django for HTTP, Channels consumers for WebSockets (Origin and session checked)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from portal.logs import RequestIdWebSockets  # noqa: E402
from portal.origin import SameOriginWebSockets  # noqa: E402
from virtualization.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": RequestIdWebSockets(SameOriginWebSockets(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
})
