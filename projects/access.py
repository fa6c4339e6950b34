"""The one authorization entry point for views and consumers.

Projects are namespaces created through deckhouse.io Projects. A user's projects are those in
which they may list VirtualMachines. Tenants usually cannot list Projects, so the console
enumerates them with its own credentials and keeps only those an access review made *as the
user* allows; nothing else is ever read with the console's rights.
"""
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import Http404

from portal.auth.identity import identity_of
from portal.kube import Kube, ModuleDisabled, kinds


@dataclass(frozen=True)
class Project:
    name: str
    description: str = ""
    state: str = ""


def kube_for(user) -> Kube:
    """The API as this Django user: impersonated with their groups, or with their own token."""
    return Kube(identity_of(user))


def _cached(key, compute):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, settings.DVP_ACCESS_CACHE_SECONDS)
    return value


def can(user, verb, kind, namespace=None, name=None, subresource=None, *, group=None, resource=None):
    """SelfSubjectAccessReview as the user, cached briefly per user, their groups and the question."""
    key = "ssar:" + "|".join(str(part) for part in (
        identity_of(user).key, verb, kind.kind if kind else f"{group}/{resource}", namespace, name, subresource))
    return _cached(key, lambda: kube_for(user).can(verb, kind, namespace, name, subresource=subresource,
                                                   group=group, resource=resource))


def can_console(user, namespace, vm, stream="console"):
    """Whether the user may open the VM's serial console ("console") or VNC display ("vnc"), cached like can()."""
    key = "ssar:" + "|".join((identity_of(user).key, "console", namespace, vm, stream))
    return _cached(key, lambda: kube_for(user).can_open_console(namespace, vm, stream))


def _all_projects():
    """Every Project, read with the console's own identity (the same for every user, so cached once)."""
    def read():
        return {p["metadata"]["name"]: Project(name=p["metadata"]["name"],
                                               description=(p.get("spec") or {}).get("description", ""),
                                               state=(p.get("status") or {}).get("state", ""))
                for p in Kube(None).list(kinds.PROJECT)}
    return _cached("projects", read)


def visible_projects(user):
    return sorted((p for p in _all_projects().values() if can(user, "list", kinds.VM, p.name)), key=lambda p: p.name)


MODULE_OFF = ("The virtualization module is disabled in this cluster: virtual machines, disks and images are "
              "unavailable until an operator enables it.")


def virtualization_served(user):
    """Whether the cluster serves the virtualization module: its kinds' group and its APIService's group are in
    discovery (read as the user, cached like can()). Disabling the module removes the APIService and stops its
    controllers but keeps its CRDs; a cluster where it was never enabled has neither."""
    key = "groups:" + identity_of(user).key
    return _cached(key, lambda: {kinds.DVP, kinds.SUBRESOURCES} <= set(kube_for(user).groups()))


def get_project(user, name) -> Project:
    """The project if this user may work in it; 404 otherwise (existence is not revealed). With the virtualization
    module off, ModuleDisabled (every project page says so in one line: portal.middleware)."""
    if not can(user, "list", kinds.VM, name):
        raise Http404("No such project")
    project = _all_projects().get(name)
    if project is None:
        raise Http404("No such project")
    if not virtualization_served(user):
        raise ModuleDisabled(MODULE_OFF)
    return project
