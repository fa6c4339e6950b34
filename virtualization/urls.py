"""The project's pages: each kind's own (generated from the registry), then the generic ones of every kind."""
from django.urls import path, register_converter

from . import registry
from .generic import delete, detail, list as listing, yaml_edit


register_converter(registry.converter("[a-z][-a-z0-9]*", registry.get, lambda resource: resource.slug), "resource")

app_name = "virtualization"
urlpatterns = [
    *registry.urlpatterns(),
    path("<resource:resource>/", listing.list_view, name="list"),
    path("<resource:resource>/<str:name>/", detail.detail, name="detail"),
    path("<resource:resource>/<str:name>/status/", detail.status, name="status"),
    path("<resource:resource>/<str:name>/delete/", delete.delete, name="delete"),
    path("<resource:resource>/<str:name>/yaml/edit/", yaml_edit.edit, name="yaml-edit"),
    path("<resource:resource>/<str:name>/yaml/review/", yaml_edit.review, name="yaml-review"),
    path("<resource:resource>/<str:name>/yaml/save/", yaml_edit.save, name="yaml-save"),
    path("<resource:resource>/<str:name>/yaml/rebase/", yaml_edit.rebase, name="yaml-rebase"),
    path("<resource:resource>/<str:name>/<str:tab>/", detail.detail, name="detail-tab"),
]
