"""What the System tests share: the cluster-scoped objects a test makes, deleted after it; a Running VM of the
test's own in the module's project; the nodes schedulable again after a test that cordons them."""
import pytest
from kubernetes import client

from tests.kube import custom, get_cluster_object


@pytest.fixture
def cleanup(sim, request):
    """The list a test appends the names of the cluster-scoped objects it makes to, of its module's CLUSTER_KIND
    (group, version, plural); those still there afterwards are deleted."""
    names = []
    yield names
    group, version, plural = request.module.CLUSTER_KIND
    for name in names:
        if get_cluster_object(sim, plural, name, group, version):
            custom(sim).delete_cluster_custom_object(group, version, plural, name)


@pytest.fixture
def vm(running_vm, unique):
    """A Running VM on a disk of its own in the module's project, deleted after the test."""
    return running_vm(unique("vm"), unique("disk"))


@pytest.fixture
def uncordon_all(sim):
    yield
    api = client.CoreV1Api(sim.api("admin"))
    for item in api.list_node().items:
        if item.spec.unschedulable:
            api.patch_node(item.metadata.name, {"spec": {"unschedulable": None}})
