"""Delete any registered kind: a confirmation page, then the delete as the user."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from portal.htmx import is_partial
from projects.access import get_project, kube_for

from ..registry import Resource
from .detail import get_object, namespace_of


@require_http_methods(["GET", "POST"])
def delete(request, project, resource: Resource, name):
    project = get_project(request.user, project)
    obj = get_object(request.user, project, resource, name)
    extra = resource.delete_extra
    if request.method == "POST":
        kube_for(request.user).delete(resource.kind, name, namespace_of(project, resource))
        messages.success(request, f"The {resource.noun} {name} is being deleted.")
        if extra:
            extra.after(request, project, obj)
        url = reverse("virtualization:list", args=[project.name, resource])
        return HttpResponseClientRedirect(url) if is_partial(request) else redirect(url)
    return render(request, "virtualization/delete.html", {
        "project": project, "resource": resource, "obj": obj, "name": name,
        "extra_fields": extra.template if extra else "", **(extra.context(request.user, project, obj) if extra else {})})
