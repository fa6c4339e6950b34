from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/projects/<str:project>/live/<str:slug>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/live/<str:slug>/<str:name>/", consumers.LiveConsumer.as_asgi()),
    path("ws/projects/<str:project>/vms/<str:name>/console/", consumers.ConsoleConsumer.as_asgi()),
]
