"""Turn Kubernetes API errors that escape a view into a page with the API's words, never a 500."""
from django.shortcuts import render

from portal.htmx import is_partial
from portal.kube import KubeError, ModuleDisabled

TITLES = {
    401: "The API did not accept the console's credentials",
    403: "You do not have access",
    404: "Not found",
    409: "Conflict",
    422: "The API refused the request",
    503: "The Kubernetes API is unavailable",
}


class KubeErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, KubeError):
            return None
        status = exception.status if 400 <= exception.status < 600 else 502
        if isinstance(exception, ModuleDisabled):
            return render(request, "htmx/module_off.html" if is_partial(request) else "module_off.html",
                          {"error": exception}, status=status)
        template = "htmx/api_error.html" if is_partial(request) else "api_error.html"
        return render(request, template, {
            "title": TITLES.get(status, "The API answered with an error"),
            "error": exception,
        }, status=status)
