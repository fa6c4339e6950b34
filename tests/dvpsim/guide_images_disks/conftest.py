"""The namespace of each test module of the user guide's Images and Disks sections, and the guide's ubuntu-22-04
image."""

import subprocess
import time

import pytest

from tests.kube import Dvp, fresh_namespace
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_images_disks.helpers import apply, guide_yaml


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guide-vi-vd"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared nodes are not endless


@pytest.fixture(scope="module")
def ubuntu(sim, dvp):
    """The guide's `d8 k apply` of ubuntu-22-04 while `d8 k get vi ubuntu-22-04 -w` runs."""
    watcher = subprocess.Popen([KUBECTL, "--kubeconfig", sim.kubeconfig, "get", "vi", "-n", dvp.namespace,
                                "--field-selector", "metadata.name=ubuntu-22-04", "-w"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert "virtualimage.virtualization.deckhouse.io/ubuntu-22-04 created" in \
            apply(sim, dvp.namespace, guide_yaml(sim, "VirtualImage", "ubuntu-22-04"))
        dvp.wait_phase("virtualimages", "ubuntu-22-04", "Ready", timeout=30)
        time.sleep(0.5)
    finally:
        watcher.terminate()
    return watcher.communicate(timeout=10)[0]
