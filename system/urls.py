"""/system/: each System page's own routes (from the System registry), then the generic ones of every page."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, register_converter

from virtualization.registry import converter

from . import access, kinds, registry  # noqa: F401 (kinds registers the System pages)
from .generic import delete, detail, list_view, status


# `<system:resource>`: a registered System page's <section>/<slug>.
register_converter(converter("[a-z]+/[a-z][-a-z0-9]*", registry.get, lambda resource: resource.path), "system")


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
