"""Shared by the contract tests: where the upstream CRDs are, and a cluster that has run the guide."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import start_sim, stop_sim
from tests.dvpsim.guide_examples import examples

CRDS = Path(os.environ.get("DVP_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "dvp-crds"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@pytest.fixture(scope="package")
def busy_cluster():
    """A demo cluster that has run every example of the guide for a while."""
    sim = start_sim(speed=20)
    try:
        subprocess.run([KUBECTL, "--kubeconfig", sim.kubeconfig, "create", "ns", "guide"], check=True,
                       capture_output=True)
        for _line, verb, text in examples():
            text = text.replace("$(date +%s)", "1").replace("https://cloud-images.ubuntu.com/noble/current/",
                                                             f"{sim.url}/dvpsim/samples/")
            subprocess.run([KUBECTL, "--kubeconfig", sim.kubeconfig, verb, "-n", "guide", "-f", "-"], input=text,
                           capture_output=True, text=True)
        time.sleep(3)  # at speed 20: a minute of controller work
        yield sim
    finally:
        stop_sim(sim)
