"""dvp-console settings: one module, driven by environment variables (see README)."""
import os
from pathlib import Path

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


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY") or "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

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
    "portal",
    "projects",
    "virtualization",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.KubeErrorMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("DVP_DATABASE_PATH") or BASE_DIR / "var" / "db.sqlite3",
    }
}

AUTH_PASSWORD_VALIDATORS = []
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT") or None  # only for collectstatic; WhiteNoise serves from the finders
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end libraries come from npm (package.json); only the files the pages load are exposed.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", NODE_MODULES / "htmx-ext-ws" / "dist"),
    ("vendor/xterm", NODE_MODULES / "@xterm" / "xterm"),
    ("vendor/xterm-addon-fit", NODE_MODULES / "@xterm" / "addon-fit" / "lib"),
    ("vendor/xterm-addon-search", NODE_MODULES / "@xterm" / "addon-search" / "lib"),
    ("vendor/novnc", NODE_MODULES / "@novnc" / "novnc"),
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
]
WHITENOISE_USE_FINDERS = True
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DVP_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
