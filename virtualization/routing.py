from django.urls import path

from . import consoles, consumers, uploads

websocket_urlpatterns = [
    path("ws/projects/<str:project>/live/<str:slug>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/live/<str:slug>/<str:name>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/vms/<str:name>/console/", consoles.ConsoleConsumer.as_asgi()),
    path("ws/projects/<str:project>/vms/<str:name>/vnc/", consoles.VncConsumer.as_asgi()),
    path("ws/projects/<str:project>/<str:slug>/<str:name>/upload/", uploads.UploadConsumer.as_asgi()),
]
