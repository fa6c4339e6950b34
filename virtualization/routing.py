from django.urls import path

from . import consoles, consumers

websocket_urlpatterns = [
    path("ws/projects/<str:project>/live/<str:slug>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/live/<str:slug>/<str:name>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/vms/<str:name>/console/", consoles.ConsoleConsumer.as_asgi()),
    path("ws/projects/<str:project>/vms/<str:name>/vnc/", consoles.VncConsumer.as_asgi()),
]
