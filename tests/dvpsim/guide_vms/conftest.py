"""The namespace of each test module of the user guide's "Virtual machines" sections, and the guide's linux-vm."""

import pytest
from kubernetes import client

from tests.dvpsim.guide_vms.helpers import guide_example, kubectl
from tests.kube import GROUP, VERSION, Dvp, blank_disk, fresh_namespace


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guide-vms"))
    dvp.classes = []
    yield dvp
    for vm in dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachines")["items"]:
        dvp.delete("virtualmachines", vm["metadata"]["name"])  # the shared nodes are not endless
    for vm in dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachines")["items"]:
        dvp.wait_gone("virtualmachines", vm["metadata"]["name"], timeout=60)
    dvp.core.delete_namespace(dvp.namespace)
    for name in dvp.classes:
        try:
            dvp.delete("virtualmachineclasses", name)
        except client.ApiException:
            pass


@pytest.fixture(scope="module")
def linux_vm(sim, dvp):
    """The guide's linux-vm, applied with kubectl from the guide's own YAML, on a disk named as in the guide."""
    dvp.create("virtualdisks", blank_disk("linux-vm-root", "10Gi"))
    _, text = guide_example("VirtualMachine", "linux-vm")
    applied = kubectl(sim, dvp, "apply", "-f", "-", stdin=text)
    assert applied.returncode == 0, applied.stderr
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm created" in applied.stdout
    return dvp.wait_phase("virtualmachines", "linux-vm", "Running", timeout=30)
