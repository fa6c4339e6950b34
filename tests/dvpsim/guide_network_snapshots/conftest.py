"""The namespace of each test module of the user guide's "Network configuration", "Snapshots" and "Creating a VM
clone" sections."""

import pytest

from tests.kube import Dvp, fresh_namespace


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guidenet"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless
