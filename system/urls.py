"""/system/: each System page's own routes (from the System registry), then the generic ones of every page."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, register_converter

from . import access, kinds, registry  # noqa: F401 (kinds registers the System pages)
from .generic import delete, detail, list_view, status


class SystemResourceConverter:
    """`<system:resource>` matches a registered System page's <section>/<slug> and hands the view its resource."""

    regex = "[a-z]+/[a-z][-a-z0-9]*"

    def to_python(self, value):
        try:
            return registry.get(value)
        except KeyError:
            raise ValueError(value)

    def to_url(self, value):
        return value.path if isinstance(value, registry.SystemResource) else str(value)


register_converter(SystemResourceConverter, "system")


@login_required
def home(request):
    """The System section's contents: what this user's sidebar offers (a 404 when it offers nothing)."""
    if not access.sidebar(request):
        raise Http404("No such page")
    return render(request, "system/home.html", {"system_nav": access.sidebar(request)})


app_name = "system"
urlpatterns = [
    path("", home, name="home"),
    *registry.urlpatterns(),
    path("<system:resource>/", list_view, name="list"),
    path("<system:resource>/<str:name>/", detail, name="detail"),
    path("<system:resource>/<str:name>/status/", status, name="status"),
    path("<system:resource>/<str:name>/delete/", delete, name="delete"),
    path("<system:resource>/<str:name>/<str:tab>/", detail, name="detail-tab"),
]
