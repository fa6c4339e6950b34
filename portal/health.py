"""/healthz, /readyz and /metrics: for the kubelet and Prometheus, without login.

They are answered before host validation and the login check: the kubelet and Prometheus reach the
pod by its IP, which is not one of ALLOWED_HOSTS. /metrics is refused (404) to requests that came
through a proxy (X-Forwarded-For, which ingress-nginx always sets): only in-cluster scrapes see it.
"""
import logging

from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django_prometheus.exports import ExportToDjangoView

from portal.kube import Kube, KubeError

log = logging.getLogger(__name__)


def healthz(request):
    """The process is alive and serving."""
    return HttpResponse("ok\n", content_type="text/plain")


def readyz(request):
    """The database and the Kubernetes API both answer: 200, else 503 naming what failed."""
    checks = {"database": _database(), "kubernetes": _kubernetes()}
    ready = all(result == "ok" for result in checks.values())
    if not ready:
        log.warning("not ready: %s", checks)
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver's error means "not ready"
        return f"failed: {exc.__class__.__name__}"
    finally:
        connection.close()


def _kubernetes():
    try:
        Kube(None).request("GET", "/version")
        return "ok"
    except KubeError as exc:
        return f"failed: {exc.status} {exc.message}"
    except Exception as exc:  # no usable kubeconfig or service account: not ready either
        return f"failed: {exc.__class__.__name__}: {exc}"


def metrics(request):
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return HttpResponseNotFound()
    return ExportToDjangoView(request)


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = PROBES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
