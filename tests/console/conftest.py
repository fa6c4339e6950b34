"""The console's tests: Django pointed at the session's dvpsim, with the demo cast.

The cast follows the demo RBAC of dvpsim: alice manages project-a (owner), victor views it
(member), bob manages project-b only (outsider to project-a), operator is cluster-admin.
"""
import uuid

import pytest
from django.core.cache import cache

from portal.kube import config as kube_config

OWNER, MEMBER, OUTSIDER, OPERATOR = "alice", "victor", "bob", "operator"
PROJECT_A, PROJECT_B = "project-a", "project-b"


@pytest.fixture(autouse=True)
def console_on_sim(sim, settings):
    settings.DVP_KUBECONFIG = str(sim.kubeconfig)
    settings.DVP_KUBE_CONTEXT = "dvp-console"
    settings.DVP_ACCESS_CACHE_SECONDS = 0.001
    kube_config.reset()
    cache.clear()
    yield
    kube_config.reset()


@pytest.fixture
def login(client, django_user_model):
    def log_in(username):
        user, _ = django_user_model.objects.get_or_create(username=username)
        client.force_login(user)
        return client
    return log_in


@pytest.fixture
def owner(login, db):
    return login(OWNER)


@pytest.fixture
def unique():
    """A fresh object name, so tests sharing one simulated cluster never collide."""
    return lambda prefix="t": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def running_vm(sim):
    """make_vm, and the VM deleted afterwards so the simulated nodes keep room for the other tests."""
    from .helpers import GROUP, VERSION, custom, make_vm

    made = []

    def make(vm, disk):
        made.append(vm)
        return make_vm(sim, PROJECT_A, vm, disk)
    yield make
    for vm in made:
        custom(sim).delete_namespaced_custom_object(GROUP, VERSION, PROJECT_A, "virtualmachines", vm)
