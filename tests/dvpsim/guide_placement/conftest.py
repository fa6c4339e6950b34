"""The private simulator of the user guide's placement sections ("Placement of VMs by nodes", "Attaching block
devices", "Organizing interaction with virtual machines", "Live virtual machine migration"), one per test module.

A private simulator, because these tests label and taint nodes and fill whole nodes to show what a soft rule
does when the preferred nodes are full; the shared one must keep its three plain nodes for the other tests.
"""


import pytest

from tests.conftest import start_sim, stop_sim
from tests.kube import Dvp, fresh_namespace
from tests.dvpsim.guide_placement.helpers import HDD, NODES, guide_vm, kubectl


@pytest.fixture(scope="module")
def psim():
    sim = start_sim()
    try:
        for node in NODES:
            kubectl(sim, "label", "node", node, f"disktype={'hdd' if node in HDD else 'ssd'}", check=True)
        kubectl(sim, "-n", "project-a", "delete", "vm", "demo-vm", check=True)  # the nodes start empty
        yield sim
    finally:
        stop_sim(sim)


@pytest.fixture(scope="module")
def dvp(psim):
    return Dvp(psim, fresh_namespace(psim, "placement"))


@pytest.fixture(scope="module")
def linux_vm(dvp):
    """The guide's linux-vm, for the sections that start from it (the guide made it in an earlier section)."""
    return guide_vm(dvp)
