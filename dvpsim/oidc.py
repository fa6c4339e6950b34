"""An OIDC issuer as Deckhouse's Dex serves it (user-authn), under <dvpsim>/dex, and the API server's side:
ID tokens of this issuer are accepted as bearer tokens, as kube-apiserver configured for OIDC does.

    GET  /dex/.well-known/openid-configuration   discovery
    GET  /dex/auth        authorization endpoint (response_type=code, state, nonce, PKCE S256): a login page
    POST /dex/auth/login  the page's form: on the right password, a redirect to redirect_uri with code and state
    POST /dex/token       grant_type=authorization_code (code_verifier checked) or refresh_token
    GET  /dex/keys        JWKS (RS256; the key is made at start)
    GET  /dex/userinfo    the claims, for the access token
    POST /dvpsim/oidc/users   (cluster admins) {"username", "password", "groups", "email"}: a Dex static user
    POST /dvpsim/oidc/tokens  (cluster admins) {"username", "groups", "audience", "issuer", "expires_in"}: a signed
                              ID token, for tests of what the API server refuses

Claims: iss, sub, aud (the client), exp, iat, nonce, email, email_verified, name, preferred_username, groups.
The API server takes the username from `preferred_username` with no prefix and the groups from `groups`
(kube-apiserver --oidc-username-claim=preferred_username --oidc-username-prefix=- --oidc-groups-claim=groups),
and accepts the audiences of CLIENTS (--oidc-client-id, or several with structured authentication config).
"""

import base64
import hashlib
import html
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from .auth import User, authenticate
from .errors import ApiError, BadRequest, Forbidden

ID_TOKEN_SECONDS = 24 * 3600  # Dex's default idTokens expiry
CODE_SECONDS = 600
# client id -> secret; redirect URIs: any http(s) URI on loopback (or Django's testserver) ending /oidc/callback/
CLIENTS = {"dvp-console": "dvpsim-console-secret", "kubernetes": "dvpsim-kubernetes-secret"}
REDIRECT = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\]|testserver)(:\d+)?/.*oidc/callback/?$")


@dataclass
class Account:
    username: str
    password: str
    groups: tuple = ()
    email: str = ""


@dataclass
class Issuer:
    url: str = ""  # <dvpsim url>/dex, set when the server knows its address
    accounts: dict = field(default_factory=dict)
    requests: dict = field(default_factory=dict)  # login page id -> authorization request
    codes: dict = field(default_factory=dict)  # code -> (request, account, time)
    refresh_tokens: dict = field(default_factory=dict)  # refresh token -> (client, account name)
    access_tokens: dict = field(default_factory=dict)  # access token -> claims

    def __post_init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def add(self, username, password, groups=(), email=""):
        self.accounts[username] = Account(username, password, tuple(groups), email or f"{username}@example.com")

    def jwks(self):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def sign(self, claims, issuer=None):
        return jwt.encode({"iss": issuer or self.url, **claims}, self.key, algorithm="RS256",
                          headers={"kid": self.kid})

    def id_token(self, account, client, nonce=None, expires_in=ID_TOKEN_SECONDS, issuer=None):
        now = int(time.time())
        claims = {"sub": base64.urlsafe_b64encode(account.username.encode()).decode().rstrip("="), "aud": client,
                  "iat": now, "exp": now + expires_in, "email": account.email, "email_verified": True,
                  "name": account.username, "preferred_username": account.username, "groups": list(account.groups)}
        if nonce:
            claims["nonce"] = nonce
        return self.sign(claims, issuer), claims

    def tokens(self, account, client, nonce=None):
        id_token, claims = self.id_token(account, client, nonce)
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens[access] = claims
        self.refresh_tokens[refresh] = (client, account.username)
        return {"access_token": access, "token_type": "bearer", "expires_in": ID_TOKEN_SECONDS,
                "id_token": id_token, "refresh_token": refresh}

    def verify(self, token):
        """The API server's OIDC authenticator: the User of a valid ID token of this issuer, else None."""
        try:
            claims = jwt.decode(token, self.key.public_key(), algorithms=["RS256"], audience=list(CLIENTS),
                                issuer=self.url, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.InvalidTokenError:
            return None
        username = claims.get("preferred_username")
        if not isinstance(username, str) or not username:
            return None
        groups = tuple(str(g) for g in claims.get("groups") or ())
        return User(username, groups + ("system:authenticated",))


def looks_like_jwt(token):
    return token.count(".") == 2


def routes(cluster, issuer):
    def page(text, status=200):
        return web.Response(text=text, status=status, content_type="text/html")

    def oauth_error(error, description, status=400):
        return web.json_response({"error": error, "error_description": description}, status=status)

    async def discovery(request):
        u = issuer.url
        return web.json_response({
            "issuer": u, "authorization_endpoint": f"{u}/auth", "token_endpoint": f"{u}/token",
            "jwks_uri": f"{u}/keys", "userinfo_endpoint": f"{u}/userinfo",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256", "plain"],
            "scopes_supported": ["openid", "email", "groups", "profile", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "email", "email_verified", "groups", "name",
                                 "preferred_username"]})

    async def authorize(request):
        q = request.query
        client, redirect = q.get("client_id", ""), q.get("redirect_uri", "")
        if client not in CLIENTS or not REDIRECT.match(redirect):
            return page("<h1>Bad request</h1><p>Unregistered client or redirect URI.</p>", 400)
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return page("<h1>Bad request</h1><p>Only the code flow with the openid scope is served.</p>", 400)
        req = secrets.token_urlsafe(16)
        issuer.requests[req] = dict(q)
        return page(login_page(req))

    def login_page(req, error=""):
        return ("<!doctype html><title>Log in to dvpsim</title><h1>Log in to Your Account</h1>"
                + (f'<p class="error">{html.escape(error)}</p>' if error else "")
                + f'<form method="post" action="{issuer.url}/auth/login">'
                f'<input type="hidden" name="req" value="{req}">'
                '<label>Email Address or username <input name="login" autofocus></label>'
                '<label>Password <input type="password" name="password"></label>'
                '<button type="submit" id="submit-login">Login</button></form>')

    async def login(request):
        form = await request.post()
        req = form.get("req", "")
        auth = issuer.requests.get(req)
        if auth is None:
            return page("<h1>Bad request</h1><p>The login request expired.</p>", 400)
        account = issuer.accounts.get(form.get("login", ""))
        if account is None or not secrets.compare_digest(account.password, form.get("password", "")):
            return page(login_page(req, "Invalid Email Address and password."), 401)
        del issuer.requests[req]
        code = secrets.token_urlsafe(24)
        issuer.codes[code] = (auth, account, time.time())
        query = urlencode({"code": code, **({"state": auth["state"]} if auth.get("state") else {})})
        separator = "&" if urlsplit(auth["redirect_uri"]).query else "?"
        raise web.HTTPSeeOther(auth["redirect_uri"] + separator + query)

    def client_of(request, form):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            client, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client, secret = form.get("client_id", ""), form.get("client_secret", "")
        if CLIENTS.get(client) is None or not secrets.compare_digest(CLIENTS[client], secret):
            return None
        return client

    async def token(request):
        form = await request.post()
        client = client_of(request, form)
        if client is None:
            return oauth_error("invalid_client", "Invalid client credentials.", 401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            entry = issuer.codes.pop(form.get("code", ""), None)
            if entry is None or time.time() - entry[2] > CODE_SECONDS:
                return oauth_error("invalid_grant", "Invalid or expired code parameter.")
            auth, account, _ = entry
            if auth["client_id"] != client or auth["redirect_uri"] != form.get("redirect_uri"):
                return oauth_error("invalid_grant", "The code was issued to another client or redirect URI.")
            if not pkce_ok(auth, form.get("code_verifier")):
                return oauth_error("invalid_grant", "Invalid code_verifier.")
            return web.json_response(issuer.tokens(account, client, auth.get("nonce")))
        if grant == "refresh_token":
            entry = issuer.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if entry is None or entry[0] != client or entry[1] not in issuer.accounts:
                return oauth_error("invalid_request", "Refresh token is invalid or has already been claimed.")
            return web.json_response(issuer.tokens(issuer.accounts[entry[1]], client))
        return oauth_error("unsupported_grant_type", f"Unsupported grant type {grant!r}.")

    async def keys(request):
        return web.json_response(issuer.jwks())

    async def userinfo(request):
        header = request.headers.get("Authorization", "")
        claims = issuer.access_tokens.get(header[7:].strip()) if header.lower().startswith("bearer ") else None
        if claims is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({k: v for k, v in claims.items() if k not in ("aud", "exp", "iat", "nonce")})

    async def admin_body(request):
        user = authenticate(cluster, request)
        if "system:masters" not in user.groups:
            raise Forbidden(f'User "{user.name}" may not control the simulator')
        try:
            return json.loads(await request.read() or b"{}")
        except ValueError:
            raise BadRequest("the body must be JSON")

    async def users(request):
        try:
            body = await admin_body(request)
            issuer.add(body["username"], body["password"], body.get("groups") or (), body.get("email", ""))
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)
        except KeyError as exc:
            return web.json_response({"message": f"missing {exc}"}, status=400)
        return web.json_response({"username": body["username"]}, status=201)

    async def mint(request):
        try:
            body = await admin_body(request)
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)
        account = Account(body.get("username", "someone"), "", tuple(body.get("groups") or ()))
        account.email = body.get("email") or f"{account.username}@example.com"
        token, _ = issuer.id_token(account, body.get("audience", "dvp-console"),
                                   expires_in=int(body.get("expires_in", ID_TOKEN_SECONDS)), issuer=body.get("issuer"))
        return web.json_response({"id_token": token})

    return [web.get("/dex/.well-known/openid-configuration", discovery), web.get("/dex/auth", authorize),
            web.post("/dex/auth/login", login), web.post("/dex/token", token), web.get("/dex/keys", keys),
            web.get("/dex/userinfo", userinfo), web.post("/dvpsim/oidc/users", users),
            web.post("/dvpsim/oidc/tokens", mint)]


def pkce_ok(auth, verifier):
    challenge = auth.get("code_challenge")
    if not challenge:
        return True
    if not verifier:
        return False
    if auth.get("code_challenge_method", "plain") == "S256":
        verifier = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return secrets.compare_digest(verifier, challenge)


def demo_password(username):
    """The demo users' password at the issuer, as the console's seed_demo_users sets it for local accounts."""
    return os.environ.get(f"DVP_DEMO_PASSWORD_{username.upper()}") or os.environ.get("DVP_DEMO_PASSWORD") or "demo"
