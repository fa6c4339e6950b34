"""How the console reaches the API server: kubeconfig + context, or in-cluster."""
import ssl
import threading
from dataclasses import dataclass

from django.conf import settings
from kubernetes import client, config

_lock = threading.Lock()
_api_client = None


def _load_configuration():
    configuration = client.Configuration()
    if settings.DVP_IN_CLUSTER:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(
            config_file=settings.DVP_KUBECONFIG or None,
            context=settings.DVP_KUBE_CONTEXT or None,
            client_configuration=configuration,
            persist_config=False,
        )
    configuration.retries = 0
    return configuration


def api_client():
    """The one shared ApiClient (a thread-safe connection pool); identity is set per request."""
    global _api_client
    with _lock:
        if _api_client is None:
            _api_client = client.ApiClient(_load_configuration())
            _api_client.user_agent = settings.DVP_USER_AGENT
        return _api_client


def reset():
    """Forget the loaded configuration (tests point the console at another cluster)."""
    global _api_client
    with _lock:
        _api_client = None


@dataclass(frozen=True)
class Endpoint:
    """What an asyncio client needs to open streams (watches, consoles) to the API server."""

    host: str
    headers: dict  # the console's own: User-Agent, and its bearer token if it has one
    ssl: object  # ssl.SSLContext, or False for plain HTTP / verification off

    def headers_as(self, identity, accept="application/json"):
        """Headers of a request made as `identity` (repeated Impersonate-Group: a list of pairs)."""
        own = {name: value for name, value in self.headers.items()
               if not (identity.token and name == "Authorization")}
        return [*own.items(), ("Accept", accept), *identity.headers()]

    def ws_url(self, path):
        if self.host.startswith("https://"):
            return "wss://" + self.host[len("https://"):] + path
        return "ws://" + self.host[len("http://"):] + path


def endpoint():
    configuration = api_client().configuration
    headers = {"User-Agent": settings.DVP_USER_AGENT}
    token = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken")
    if token:
        prefix = configuration.api_key_prefix.get("authorization", "")
        headers["Authorization"] = f"{prefix} {token}".strip() if prefix else token
    ssl_context = False
    if configuration.host.startswith("https://"):
        ssl_context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
        if not configuration.verify_ssl:
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl.CERT_NONE
        if configuration.cert_file:
            ssl_context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return Endpoint(host=configuration.host.rstrip("/"), headers=headers, ssl=ssl_context)
