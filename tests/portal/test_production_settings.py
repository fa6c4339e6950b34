"""Production settings: the console refuses an unsafe configuration, and `check --deploy` is clean."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DJANGO_SECRET_KEY": "k" * 20 + "-production-key-of-sufficient-length-0123456789",
              "DJANGO_ALLOWED_HOSTS": "console.example.com", "DVP_HTTPS": "1"}


def manage(*args, **environment):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "DVP_", "DATABASE_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DVP_DATABASE_PATH="/nonexistent/db.sqlite3", **environment)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_it_refuses_to_start_on_the_development_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="console.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_it_refuses_a_short_secret_key_such_as_the_manifests_placeholder():
    result = manage("check", DJANGO_SECRET_KEY="replace-me", DJANGO_ALLOWED_HOSTS="console.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too short (10 characters)" in result.stderr


def test_it_refuses_to_start_with_no_allowed_hosts():
    result = manage("check", DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"], DJANGO_ALLOWED_HOSTS="")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS is empty" in result.stderr


def test_it_starts_on_the_development_key_in_debug_mode():
    result = manage("check", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_it_passes_check_deploy_with_the_production_settings():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_is_flagged_by_check_deploy_without_https():
    """The check above can fail: the same settings served over plain HTTP are reported."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", **dict(PRODUCTION, DVP_HTTPS="0"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS
    assert "security.W012" in result.stderr + result.stdout  # session cookie not secure


def test_it_trusts_the_proxys_scheme_and_marks_cookies_secure_behind_tls():
    script = ("from django.conf import settings as s; "
              "print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)")
    result = manage("shell", "-v", "0", "-c", script, **PRODUCTION)
    assert result.stdout.split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "True", "True", "31536000"]


def test_it_sends_hsts_and_the_policy_over_tls_and_redirects_plain_http():
    script = """
from django.test import Client
client = Client(HTTP_HOST="console.example.com")
tls = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/login/")
print(tls.status_code, tls["Strict-Transport-Security"])
print(plain.status_code, plain["Location"], plain.has_header("Strict-Transport-Security"))
print(tls["Content-Security-Policy"])
"""
    result = manage("shell", "-v", "0", "-c", script, **PRODUCTION)
    tls, plain, policy = result.stdout.splitlines()
    assert tls == "200 max-age=31536000; includeSubDomains; preload"
    assert plain == "301 https://console.example.com/login/ False"
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
