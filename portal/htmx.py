"""The console's two htmx questions, each answered in one place.

`is_partial`: does this request want a fragment rather than the whole page? `ws_path`: the path of one of
the console's WebSocket routes (virtualization/routing.py), by the route's name, as the pages connect to it.
"""
from functools import cache

from django.urls import URLResolver
from django.urls.resolvers import RegexPattern


def is_partial(request, target=None):
    """True when htmx made the request (and, given a target, swaps the response into the element with that id)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return target is None or htmx.target == target


@cache
def _websocket_routes():
    from virtualization.routing import websocket_urlpatterns  # the ASGI router serves the same list

    return URLResolver(RegexPattern(r"^/"), websocket_urlpatterns)


def ws_path(route, **kwargs):
    """'/ws/projects/p/live/vms/' for ws_path("live-list", project="p", slug="vms"); values are URL-quoted."""
    return "/" + _websocket_routes().reverse(route, **kwargs)
