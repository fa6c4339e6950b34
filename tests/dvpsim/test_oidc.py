"""dvpsim's OIDC issuer (the cluster's Dex) and its API server accepting that issuer's ID tokens."""
import base64
import hashlib
import json
import secrets
import urllib.parse

import jwt
import pytest
import requests

CLIENT, SECRET = "dvp-console", "dvpsim-console-secret"
REDIRECT = "http://127.0.0.1:8000/oidc/callback/"


@pytest.fixture(scope="module")
def account(sim):
    name = f"dana-{secrets.token_hex(3)}"
    sim.control("oidc/users", {"username": name, "password": "pw-1", "groups": ["devs", "ops"]})
    return name


def mint(sim, **claims):
    return sim.control("oidc/tokens", claims)["id_token"]


def whoami(sim, token):
    return requests.post(f"{sim.url}/apis/authentication.k8s.io/v1/selfsubjectreviews", timeout=10,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})


def code_flow(sim, username, password, *, verifier="v" * 50, nonce="n-1"):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    with requests.Session() as browser:
        page = browser.get(f"{sim.url}/dex/auth", timeout=10, params={
            "client_id": CLIENT, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid email groups",
            "state": "s-1", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
        assert page.status_code == 200 and "Log in to Your Account" in page.text
        req = page.text.split('name="req" value="')[1].split('"')[0]
        answer = browser.post(f"{sim.url}/dex/auth/login", data={"req": req, "login": username, "password": password},
                              allow_redirects=False, timeout=10)
    return answer


def test_it_serves_discovery_and_keys_as_dex(sim):
    document = requests.get(f"{sim.url}/dex/.well-known/openid-configuration", timeout=10).json()
    assert document["issuer"] == f"{sim.url}/dex"
    assert document["token_endpoint"] == f"{sim.url}/dex/token" and "S256" in document["code_challenge_methods_supported"]
    keys = requests.get(document["jwks_uri"], timeout=10).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]


def test_it_logs_in_with_code_and_pkce_and_signs_the_id_token(sim, account):
    answer = code_flow(sim, account, "pw-1")
    assert answer.status_code == 303
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s-1"]
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT,
            "client_id": CLIENT, "client_secret": SECRET}
    assert requests.post(f"{sim.url}/dex/token", data={**form, "code_verifier": "w" * 50}, timeout=10).status_code == 400
    tokens = requests.post(f"{sim.url}/dex/token", data={**form, "code_verifier": "v" * 50}, timeout=10)
    assert tokens.status_code == 400  # a code is good once: the wrong verifier used it up
    tokens = _tokens(sim, account)
    jwk = jwt.PyJWK(requests.get(f"{sim.url}/dex/keys", timeout=10).json()["keys"][0])
    claims = jwt.decode(tokens["id_token"], jwk, algorithms=["RS256"], audience=CLIENT, issuer=f"{sim.url}/dex")
    assert (claims["preferred_username"], claims["groups"], claims["nonce"]) == (account, ["devs", "ops"], "n-1")
    info = requests.get(f"{sim.url}/dex/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=10).json()
    assert info["groups"] == ["devs", "ops"] and info["email"] == f"{account}@example.com"


def _tokens(sim, account):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(code_flow(sim, account, "pw-1").headers["Location"]).query)
    return requests.post(f"{sim.url}/dex/token", timeout=10, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT,
        "code_verifier": "v" * 50}, auth=(CLIENT, SECRET)).json()


def test_it_refuses_a_wrong_password_on_its_login_page(sim, account):
    answer = code_flow(sim, account, "wrong")
    assert answer.status_code == 401 and "Invalid Email Address and password" in answer.text


def test_it_refreshes_once_per_refresh_token(sim, account):
    tokens = _tokens(sim, account)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    renewed = requests.post(f"{sim.url}/dex/token", data=form, auth=(CLIENT, SECRET), timeout=10)
    assert renewed.status_code == 200 and renewed.json()["id_token"] != tokens["id_token"]
    assert requests.post(f"{sim.url}/dex/token", data=form, auth=(CLIENT, SECRET), timeout=10).status_code == 400


def test_its_api_server_takes_the_issuers_id_token_with_its_groups(sim, account):
    review = whoami(sim, _tokens(sim, account)["id_token"])
    assert review.status_code == 201, review.text
    info = review.json()["status"]["userInfo"]
    assert info["username"] == account
    assert set(info["groups"]) == {"devs", "ops", "system:authenticated"}


@pytest.mark.parametrize("spoil", ["tampered", "expired", "audience", "issuer", "foreign key"])
def test_its_api_server_refuses_a_bad_id_token(sim, spoil):
    claims = {"username": "mallory", "groups": ["system:masters"]}
    if spoil == "expired":
        token = mint(sim, **claims, expires_in=-120)
    elif spoil == "audience":
        token = mint(sim, **claims, audience="another-app")
    elif spoil == "issuer":
        token = mint(sim, **claims, issuer="https://dex.example.com")
    elif spoil == "foreign key":
        from cryptography.hazmat.primitives.asymmetric import rsa
        payload = jwt.decode(mint(sim, **claims), options={"verify_signature": False})
        token = jwt.encode(payload, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")
    else:
        header, payload, signature = mint(sim, username="mallory").split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["groups"] = ["system:masters"]
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"{header}.{payload}.{signature}"
    assert whoami(sim, token).status_code == 401
    assert whoami(sim, mint(sim, username="mallory")).status_code == 201  # the same, unspoilt, is taken


def test_the_demo_gives_greta_project_a_through_her_group_only(sim):
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(sim.api("admin"))
    subjects = [s for b in rbac.list_namespaced_role_binding("project-a").items for s in b.subjects or ()]
    assert {"kind": "Group", "name": "project-a-team"} in [{"kind": s.kind, "name": s.name} for s in subjects]
    assert "greta" not in [s.name for s in subjects]
    vms = client.CustomObjectsApi(sim.api("greta")).list_namespaced_custom_object(
        "virtualization.deckhouse.io", "v1alpha2", "project-a", "virtualmachines")
    assert "demo-vm" in [vm["metadata"]["name"] for vm in vms["items"]]
