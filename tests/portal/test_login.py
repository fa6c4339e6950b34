"""Local accounts: passwords checked by Django's validators, wrong passwords counted, logged and locked out.
The auth proxy: identity headers believed only from the proxy's addresses."""
import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from tests.ways_in import PROXY_ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(settings):
    settings.DVP_AUTH = "local"
    settings.DVP_LOGIN_FAILURES = 3
    from django.core.cache import cache
    cache.clear()
    get_user_model().objects.create_user("paula", password="Correct-horse-9")
    return "paula"


def test_it_logs_in_with_the_right_password(account):
    response = Client().post("/login/", {"username": account, "password": "Correct-horse-9"})
    assert response.status_code == 302 and response["Location"] == "/projects/"


def test_it_locks_out_repeated_wrong_passwords_and_logs_them(account, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="portal.auth"):
        for _ in range(3):
            response = client.post("/login/", {"username": account, "password": "wrong"})
            assert response.status_code == 200 and "correct username and password" in response.content.decode()
        locked = client.post("/login/", {"username": account, "password": "Correct-horse-9"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins" in page and 'value="paula"' in page
    assert "_auth_user_id" not in client.session  # the right password is not even tried while locked
    assert sum("failed login of 'paula'" in r.getMessage() for r in caplog.records) == 3
    assert any("refused: too many failed attempts" in r.getMessage() for r in caplog.records)


def test_it_checks_local_passwords_with_djangos_validators(account):
    user = get_user_model().objects.get(username=account)
    for weak in ("short", "12345678901", "password123", "Paula2026"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("Correct-horse-9", user)


def test_it_refuses_a_password_login_in_the_other_modes(account, settings):
    for mode in ("proxy", "oidc"):
        settings.DVP_AUTH = mode
        response = Client().post("/login/", {"username": account, "password": "Correct-horse-9"})
        assert response.status_code == 200 and "_auth_user_id" not in Client().session
        assert 'name="password"' not in response.content.decode()


@pytest.fixture
def proxied(settings):
    settings.DVP_AUTH = "proxy"
    settings.DVP_AUTH_PROXY_ADDRESSES = [PROXY_ADDRESS + "/32"]


def test_it_logs_in_whom_the_proxy_names_with_its_groups(proxied):
    client = Client(REMOTE_ADDR=PROXY_ADDRESS, HTTP_X_AUTH_REQUEST_EMAIL="pat@example.com",
                    HTTP_X_AUTH_REQUEST_GROUPS="devs, ops")
    assert client.get("/projects/").status_code == 200
    user = get_user_model().objects.get(username="pat@example.com")
    assert sorted(user.groups.values_list("name", flat=True)) == ["devs", "ops"]
    client.defaults["HTTP_X_AUTH_REQUEST_GROUPS"] = "devs"  # the proxy says the groups changed
    client.get("/projects/")
    assert list(user.groups.values_list("name", flat=True)) == ["devs"]


def test_it_refuses_and_logs_identity_headers_from_elsewhere(proxied, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.auth"):
        response = Client(REMOTE_ADDR="10.20.30.41", HTTP_X_AUTH_REQUEST_EMAIL="admin@example.com").get("/projects/")
        groups_only = Client(HTTP_X_AUTH_REQUEST_GROUPS="system:masters").get("/projects/")
    assert response.status_code == 403 and groups_only.status_code == 403
    assert not get_user_model().objects.filter(username="admin@example.com").exists()
    assert [r.getMessage() for r in caplog.records if "refused identity headers" in r.getMessage()] == [
        "refused identity headers (X-Auth-Request-Email) from 10.20.30.41, which is not an authenticating proxy",
        "refused identity headers (X-Auth-Request-Groups) from 127.0.0.1, which is not an authenticating proxy"]


def test_it_drops_a_proxy_session_used_from_elsewhere(proxied):
    client = Client(REMOTE_ADDR=PROXY_ADDRESS, HTTP_X_AUTH_REQUEST_EMAIL="pat@example.com")
    assert client.get("/projects/").status_code == 200
    direct = Client()
    direct.cookies = client.cookies  # the session cookie, without the proxy
    response = direct.get("/projects/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_proxy_sessions_socket_that_bypasses_the_proxy(settings, sim, cast, project, project_vm):
    from tests.ways_in import WayIn

    way = WayIn("proxy", settings, sim)
    path = f"/ws/projects/{project}/live/vms/"
    _, connected = await way.socket(path, cast.owner)
    assert connected
    way.headers = lambda username, groups: ([(b"x-auth-request-email", username.encode())], "10.20.30.41")
    _, connected = await way.socket(path, cast.owner)
    assert not connected
    way.headers = lambda username, groups: ([], "127.0.0.1")
    _, connected = await way.socket(path, cast.owner)
    assert not connected
    way.headers = lambda username, groups: ([(b"x-auth-request-email", b"other@example.com")], PROXY_ADDRESS)
    _, connected = await way.socket(path, cast.owner)
    assert not connected
