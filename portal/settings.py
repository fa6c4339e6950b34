"""dvp-console settings: one module, driven by environment variables (see README)."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# Where templates/, static/ and node_modules/ are: the checkout, or the image's /app (the packages
# themselves are installed from the wheel, which holds only Python code).
SHARE_DIR = Path(env("DVP_SHARE_DIR") or BASE_DIR)

DEBUG = env_bool("DJANGO_DEBUG", False)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY") or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set: set it to a long random string "
                               "(or DJANGO_DEBUG=1 on a development machine)")
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(f"DJANGO_SECRET_KEY is too short ({len(SECRET_KEY)} characters): use at least 50 "
                               "random characters")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is empty: list the host names the console is served as")

# Behind a TLS-terminating proxy (the Ingress): trust its X-Forwarded-Proto, send cookies over
# HTTPS only, redirect plain HTTP and ask browsers for HTTPS (HSTS). The probes and the metrics
# scrape reach the pod directly over HTTP, so they are not redirected.
DVP_HTTPS = env_bool("DVP_HTTPS", False)
if DVP_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("DVP_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DVP_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DVP_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "django_prometheus",
    "portal",
    "projects",
    "virtualization",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "portal.logs.RequestIdMiddleware",
    "portal.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.auth.middleware.IdentityMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.KubeErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SHARE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "virtualization.registry.sidebar",
            ],
            "builtins": ["virtualization.templatetags.resources"],
        },
    },
]

# SQLite for the embedded demo; DATABASE_URL (postgres://user:password@host:5432/name) for replicas,
# which share sessions and logins through it. Connections are not kept across requests: under ASGI
# each request may run on another thread.
if env("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=0, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("DVP_DATABASE_PATH") or BASE_DIR / "var" / "db.sqlite3",
        }
    }

AUTH_PASSWORD_VALIDATORS = [{"NAME": f"django.contrib.auth.password_validation.{name}"} for name in (
    "UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
    "NumericPasswordValidator")]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# With DJANGO_STATIC_ROOT (the image), files are collected once with hashed names and served from
# there; without it (a checkout), WhiteNoise serves them from the finders.
STATIC_ROOT = env("DJANGO_STATIC_ROOT") or None
NODE_MODULES = SHARE_DIR / "node_modules"
# Front-end libraries come from npm (package.json); only the files the pages load are exposed.
STATICFILES_DIRS = [
    SHARE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", NODE_MODULES / "htmx-ext-ws" / "dist"),
    ("vendor/xterm", NODE_MODULES / "@xterm" / "xterm"),
    ("vendor/xterm-addon-fit", NODE_MODULES / "@xterm" / "addon-fit" / "lib"),
    ("vendor/xterm-addon-search", NODE_MODULES / "@xterm" / "addon-search" / "lib"),
    ("vendor/novnc", NODE_MODULES / "@novnc" / "novnc"),
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
]
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
if STATIC_ROOT:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# --- the Kubernetes API the console talks to ---------------------------------------------
# DVP_KUBECONFIG + DVP_KUBE_CONTEXT, or DVP_IN_CLUSTER=1 for the pod's service account.
DVP_KUBECONFIG = env("DVP_KUBECONFIG")
DVP_KUBE_CONTEXT = env("DVP_KUBE_CONTEXT")
DVP_IN_CLUSTER = env_bool("DVP_IN_CLUSTER", False)
DVP_REQUEST_TIMEOUT = float(env("DVP_REQUEST_TIMEOUT", "15"))
# Seconds an access review answer is reused for the same user.
DVP_ACCESS_CACHE_SECONDS = float(env("DVP_ACCESS_CACHE_SECONDS", "10"))
# Sent with every request to the API (DVP shows it as the console session's client).
DVP_USER_AGENT = env("DVP_USER_AGENT", "console/dvp-console")
# Seconds between the console relays' pings to the API server (idle consoles stay up).
DVP_CONSOLE_KEEPALIVE_SECONDS = float(env("DVP_CONSOLE_KEEPALIVE_SECONDS", "30"))
# JSON index of sample image URLs suggested in "Create Image" (dvpsim serves one).
DVP_SAMPLE_IMAGES_URL = env("DVP_SAMPLE_IMAGES_URL")
# Which of status.imageUploadURLs the console streams uploads to: "external" (Ingress) or "inCluster".
DVP_UPLOAD_URL = env("DVP_UPLOAD_URL", "external")
# Where the data exporter of a DataExport answers, with {namespace} and {name}: "Download" reads only from the
# address this gives for the export it made, and only when the DataExport's status.url is that address.
# Unset: no downloads.
DVP_DATA_EXPORT_URL = env("DVP_DATA_EXPORT_URL")

# --- who the user is (portal/auth; README "Logging in") ------------------------------------
# The way in: "local" (Django accounts), "oidc" (a client of the cluster's Dex) or "proxy" (behind an
# authenticating proxy such as a DexAuthenticator). Each backend answers only in its own mode.
DVP_AUTH = env("DVP_AUTH", "local")
AUTHENTICATION_BACKENDS = ["portal.auth.backends.LocalBackend", "portal.auth.backends.OIDCBackend",
                           "portal.auth.backends.ProxyBackend"]
# How API calls carry the user: "impersonate" (Impersonate-User + one Impersonate-Group per group) or
# "token" (an OIDC user's own ID token as the bearer; the console then needs no impersonation right).
DVP_KUBE_AUTH = env("DVP_KUBE_AUTH", "impersonate")
# Proxy mode: the identity headers are believed only from these addresses (IPs or CIDRs).
DVP_AUTH_PROXY_ADDRESSES = env_list("DVP_AUTH_PROXY_ADDRESSES")
DVP_AUTH_PROXY_USER_HEADER = env("DVP_AUTH_PROXY_USER_HEADER", "X-Auth-Request-Email")
DVP_AUTH_PROXY_GROUPS_HEADER = env("DVP_AUTH_PROXY_GROUPS_HEADER", "X-Auth-Request-Groups")
# Local accounts: after this many wrong passwords for one user name or from one address within the
# window, further attempts are refused until the window has passed.
DVP_LOGIN_FAILURES = int(env("DVP_LOGIN_FAILURES", "5"))
DVP_LOGIN_WINDOW_SECONDS = int(env("DVP_LOGIN_WINDOW_SECONDS", "900"))
# OIDC (mozilla-django-oidc): Dex's endpoints under its issuer URL.
DVP_OIDC_ISSUER = env("DVP_OIDC_ISSUER").rstrip("/")
OIDC_RP_CLIENT_ID = env("DVP_OIDC_CLIENT_ID", "dvp-console")
OIDC_RP_CLIENT_SECRET = env("DVP_OIDC_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = DVP_OIDC_ISSUER + "/auth"
OIDC_OP_TOKEN_ENDPOINT = DVP_OIDC_ISSUER + "/token"
OIDC_OP_JWKS_ENDPOINT = DVP_OIDC_ISSUER + "/keys"
OIDC_OP_USER_ENDPOINT = DVP_OIDC_ISSUER + "/userinfo"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env("DVP_OIDC_SCOPES", "openid email profile groups offline_access")
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = 10
# A CA bundle for the issuer's certificate (path), or verification on/off.
OIDC_VERIFY_SSL = env("DVP_OIDC_CA_FILE") or env_bool("DVP_OIDC_VERIFY_SSL", True)
DVP_OIDC_USERNAME_CLAIM = env("DVP_OIDC_USERNAME_CLAIM", "email")
DVP_OIDC_GROUPS_CLAIM = env("DVP_OIDC_GROUPS_CLAIM", "groups")
# The API server's --oidc-username-prefix / --oidc-groups-prefix (Deckhouse sets none), so that
# impersonated names match the ones RBAC bindings use.
DVP_OIDC_USERNAME_PREFIX = env("DVP_OIDC_USERNAME_PREFIX")
DVP_OIDC_GROUPS_PREFIX = env("DVP_OIDC_GROUPS_PREFIX")
# Offered on the logged-out page: ends the provider's session too (e.g. a DexAuthenticator's sign_out).
DVP_OIDC_LOGOUT_URL = env("DVP_OIDC_LOGOUT_URL")
LOGIN_REDIRECT_URL_FAILURE = "/login/?failed=1"

# Content-Security-Policy: no inline script or style (but <style> elements with the response's nonce,
# the ones xterm.js creates: portal/csp.py), nothing from other sites. WebSockets go to
# this same origin ('self' covers ws(s): in current browsers). noVNC draws on canvases from blob:.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'nonce-{nonce}'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
])
# Where browsers send CSP violation reports (empty: none are asked for).
CSP_REPORT_URI = env("DVP_CSP_REPORT_URI")

# One line per record on stderr: JSON (DVP_LOG_FORMAT=json, the image's default) or text; both carry
# the request id. Audit lines go to the logger "dvp.audit" (see portal.audit).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": env("DVP_LOG_FORMAT", "text")}},
    "root": {"handlers": ["console"], "level": env("DVP_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"},
                "dvp.audit": {"level": "INFO"}},
}
