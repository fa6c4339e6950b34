"""Who may open a System page: an access review made as the user (projects.access.can, cached briefly per
user), asked once per request for the sidebar. A user the cluster does not allow gets a 404, as for a page
that does not exist: nothing of a System page is shown to a project user who guesses its URL."""
from django.http import Http404

from portal.kube import KubeError, kinds
from projects.access import can

from . import registry


def may_open(user, resource) -> bool:
    return can(user, resource.gate, resource.kind)


def require(user, resource):
    if not may_open(user, resource):
        raise Http404("No such page")


def sidebar(request):
    """The System sidebar of this user, computed once per request; empty when the API cannot be asked (the page
    itself then says why: the sidebar of an error page must not fail again)."""
    if not hasattr(request, "_system_nav"):
        try:
            request._system_nav = registry.nav(lambda resource: may_open(request.user, resource)) \
                if request.user.is_authenticated else []
        except KubeError:
            request._system_nav = []
    return request._system_nav


def may_list_storage_classes(request) -> bool:
    """System → Storage → Storage Classes opens to whoever may list storage classes (on DVP every user may:
    they choose one for a disk), so the System tab shows for them too. Once per request; False when the API
    cannot be asked."""
    if not hasattr(request, "_storage_nav"):
        try:
            request._storage_nav = request.user.is_authenticated and can(request.user, "list", kinds.STORAGE_CLASS)
        except KubeError:
            request._storage_nav = False
    return request._storage_nav
