"""Talking to the console's WebSockets in tests: a logged-in user's session cookie and an Origin."""
import asyncio

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application


def _session_cookie(username):
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(path, username=None, origin="http://localhost"):
    headers = [(b"host", b"localhost")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if username:
        cookie = await sync_to_async(_session_cookie)(username)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def read_until(communicator, needle, timeout=10):
    seen = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while needle not in seen:
        message = await communicator.receive_output(timeout=max(0.1, deadline - loop.time()))
        if message["type"] == "websocket.close":
            break
        seen += message.get("bytes") or b""
    return seen
