"""OIDC against dvpsim's issuer: state and nonce checked, ID tokens checked (signature, audience, issuer,
expiry), the session renewed with the refresh token, and token mode sending the user's own ID token."""
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from kubernetes import client as k8s

from portal.auth.backends import OIDCBackend
from portal.auth.identity import attach, identity_of
from tests.ways_in import PASSWORD, WayIn, oidc_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def way(settings, sim):
    return WayIn("oidc", settings, sim)


@pytest.fixture
def team_member(way, sim, cast, project):
    """The module project's owner (bound by name), to log in through the issuer."""
    return cast.owner


def test_it_logs_in_through_the_issuer_and_keeps_the_tokens(way, team_member):
    client = way.client(team_member)
    session = client.session
    assert session["oidc_id_token"] and session["oidc_refresh_token"]
    assert session["oidc_id_token_exp"] > time.time() + 3600
    assert client.get("/projects/").status_code == 200


def test_it_refuses_a_callback_with_an_unknown_state(way, sim):
    sim.control("oidc/users", {"username": "stella", "password": PASSWORD})
    client = Client()
    callback = oidc_login(client, "stella", PASSWORD)
    forged = callback.replace("state=", "state=x")
    assert client.get(forged).status_code == 400
    assert "_auth_user_id" not in client.session
    other = Client()  # a callback into a session that never started a login
    assert other.get(callback).status_code == 302 and "_auth_user_id" not in other.session


def test_it_checks_the_nonce(way, sim):
    token = sim.control("oidc/tokens", {"username": "nina"})["id_token"]  # no nonce in it
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().verify_token(token, nonce="the-one-the-console-sent")


@pytest.mark.parametrize("claims", [{"expires_in": -120}, {"audience": "another-app"},
                                    {"issuer": "https://dex.example.com"}], ids=["expired", "audience", "issuer"])
def test_it_refuses_a_bad_id_token(way, sim, claims):
    backend = OIDCBackend()
    good = sim.control("oidc/tokens", {"username": "nina"})["id_token"]
    assert backend.verify_claims_of(good)["preferred_username"] == "nina"
    with pytest.raises(SuspiciousOperation):
        backend.verify_claims_of(sim.control("oidc/tokens", {"username": "nina", **claims})["id_token"])
    header, payload, signature = good.split(".")
    with pytest.raises(SuspiciousOperation):
        backend.verify_claims_of(f"{header}.{payload[:-4]}AAAA.{signature}")


def test_it_renews_the_token_before_it_expires_and_ends_the_session_when_it_cannot(way, team_member, project):
    client = way.client(team_member)
    first = client.session["oidc_id_token"]
    session = client.session
    session["oidc_id_token_exp"] = time.time() + 5  # about to expire
    session.save()
    assert client.get(f"/projects/{project}/").status_code == 200
    assert client.session["oidc_id_token"] != first
    assert client.session["oidc_id_token_exp"] > time.time() + 3600
    session = client.session
    session["oidc_id_token_exp"] = time.time() - 1
    session["oidc_refresh_token"] = "revoked"
    session.save()
    response = client.get(f"/projects/{project}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_it_sends_the_users_own_token_in_token_mode(way, settings, sim, project, project_vm):
    settings.DVP_KUBE_AUTH = "token"
    team = f"token-team-{uuid.uuid4().hex[:6]}"
    k8s.RbacAuthorizationV1Api(sim.api("admin")).create_namespaced_role_binding(project, {
        "metadata": {"name": f"test:{team}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "d8:use:role:viewer"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": team}]})
    username = f"tokened-{uuid.uuid4().hex[:6]}"
    client = way.client(username, [team])
    response = client.get(f"/projects/{project}/vms/{project_vm}/")
    assert response.status_code == 200
    user = get_user_model().objects.get(username=username)
    attach(user, client.session)
    assert identity_of(user).headers() == [("Authorization", f"Bearer {client.session['oidc_id_token']}")]


def test_it_offers_the_providers_logout(way, settings, team_member):
    settings.DVP_OIDC_LOGOUT_URL = "https://dex.example.com/sign_out"
    client = way.client(team_member)
    page = client.post("/logout/")
    assert page.status_code == 200 and 'href="https://dex.example.com/sign_out"' in page.content.decode()
    assert "_auth_user_id" not in client.session
