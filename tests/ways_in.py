"""Logging a test user in through each way in of the console (DVP_AUTH): local accounts, the auth proxy
and OIDC against dvpsim's issuer. WayIn(mode, settings, sim).client(user, groups) is a Django test Client
logged in that way; .socket(path, user, groups) opens one of the console's WebSockets the same way."""
import html
import re
import urllib.parse

import requests
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

# "oidc+token": OIDC, and every call made with the user's own ID token instead of impersonation.
MODES = ("local", "proxy", "oidc", "oidc+token")
PROXY_ADDRESS = "10.20.30.40"
OIDC_CLIENT = ("dvp-console", "dvpsim-console-secret")  # dvpsim's issuer knows this client (dvpsim.oidc)
PASSWORD = "Test-password-1"


def oidc_settings(settings, sim):
    settings.DVP_OIDC_ISSUER = sim.url + "/dex"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = OIDC_CLIENT
    for name, path in (("AUTHORIZATION", "auth"), ("TOKEN", "token"), ("JWKS", "keys"), ("USER", "userinfo")):
        setattr(settings, f"OIDC_OP_{name}_ENDPOINT", f"{sim.url}/dex/{path}")
    settings.DVP_OIDC_USERNAME_CLAIM = "preferred_username"


class WayIn:
    def __init__(self, mode, settings, sim):
        self.mode, _, kube_auth = mode.partition("+")
        self.sim = sim
        settings.DVP_AUTH = self.mode
        settings.DVP_KUBE_AUTH = kube_auth or "impersonate"
        settings.DVP_AUTH_PROXY_ADDRESSES = [PROXY_ADDRESS + "/32"]
        oidc_settings(settings, sim)
        self.clients = {}

    def client(self, username, groups=()):
        """A Client logged in as `username` with `groups` (the proxy's Client sends its headers each time)."""
        key = (username, tuple(groups))
        if key not in self.clients:
            self.clients[key] = getattr(self, f"_{self.mode}")(username, list(groups))
        return self.clients[key]

    def _local(self, username, groups):
        from django.contrib.auth import get_user_model

        from portal.auth.identity import sync_groups
        user, _ = get_user_model().objects.get_or_create(username=username)
        sync_groups(user, groups)
        client = Client()
        client.force_login(user)
        return client

    def _proxy(self, username, groups):
        client = Client(REMOTE_ADDR=PROXY_ADDRESS, HTTP_X_AUTH_REQUEST_EMAIL=username,
                        HTTP_X_AUTH_REQUEST_GROUPS=",".join(groups))
        assert client.get("/projects/").status_code == 200  # the first proxied request logs in
        return client

    def _oidc(self, username, groups):
        client = Client()
        self.sim.control("oidc/users", {"username": username, "password": PASSWORD, "groups": groups})
        callback = oidc_login(client, username, PASSWORD)
        assert client.get(callback).status_code == 302
        assert "_auth_user_id" in client.session, "the OIDC login did not log in"
        return client

    def headers(self, username, groups):
        """Extra WebSocket headers and client address of this way in."""
        if self.mode == "proxy":
            return [(b"x-auth-request-email", username.encode()),
                    (b"x-auth-request-groups", ",".join(groups).encode())], PROXY_ADDRESS
        return [], "127.0.0.1"

    async def socket(self, path, username, groups=(), origin="http://localhost"):
        from portal.asgi import application

        client = await sync_to_async(self.client)(username, groups)
        extra, address = self.headers(username, groups)
        headers = [(b"host", b"localhost"), (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
                   *extra, *([(b"origin", origin.encode())] if origin else [])]
        communicator = WebsocketCommunicator(application, path, headers=headers)
        communicator.scope["client"] = (address, 50000)
        connected, _ = await communicator.connect(timeout=10)
        return communicator, connected


def oidc_login(client, username, password, *, start="/oidc/authenticate/"):
    """The browser's part of the code flow, with a Django Client for the console and HTTP for dvpsim's
    issuer: returns the console's callback URL (path and query) the issuer redirected to."""
    response = client.get(start)
    assert response.status_code == 302, response
    authorize = response["Location"]
    with requests.Session() as browser:
        page = browser.get(authorize, timeout=10)
        assert page.status_code == 200, page.text
        action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        answer = browser.post(urllib.parse.urljoin(authorize, action), timeout=10, allow_redirects=False,
                              data={**{k: html.unescape(v) for k, v in fields.items()},
                                    "login": username, "password": password})
        assert answer.status_code in (302, 303), answer.text
        location = urllib.parse.urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"
