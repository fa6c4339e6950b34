from django.urls import path

from system.live import SystemLiveConsumer
from system.uploads import SystemUploadConsumer

from . import live, uploads
from .consoles import relay

websocket_urlpatterns = [
    path("ws/projects/<str:project>/live/<str:slug>/", live.LiveConsumer.as_asgi(), name="live-list"),
    path("ws/projects/<str:project>/live/<str:slug>/<str:name>/", live.LiveConsumer.as_asgi(), name="live-detail"),
    path("ws/projects/<str:project>/vms/<str:name>/console/", relay.ConsoleConsumer.as_asgi(), name="console"),
    path("ws/projects/<str:project>/vms/<str:name>/vnc/", relay.VncConsumer.as_asgi(), name="vnc"),
    path("ws/projects/<str:project>/<str:slug>/<str:name>/upload/", uploads.UploadConsumer.as_asgi(), name="upload"),
    # before the upload route: a cluster image named "upload" has a live path of the same shape
    path("ws/system/live/<str:slug>/", SystemLiveConsumer.as_asgi(), name="system-live-list"),
    path("ws/system/live/<str:slug>/<str:name>/", SystemLiveConsumer.as_asgi(), name="system-live-detail"),
    path("ws/system/<str:slug>/<str:name>/upload/", SystemUploadConsumer.as_asgi(), name="system-upload"),
]
