"""Shared by the contract tests: where the upstream CRDs are, and a cluster that has run the guide."""
import os
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import start_sim, stop_sim
from tests.dvpsim.guide_examples import examples
from tests.kubectl import kubectl

CRDS = Path(os.environ.get("DVP_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "dvp-crds"


def crds():
    """{(group, version, plural): (scope, openAPIV3Schema)} of every upstream CRD version."""
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            found[(crd["spec"]["group"], version["name"], crd["spec"]["names"]["plural"])] = (
                crd["spec"]["scope"], version["schema"]["openAPIV3Schema"])
    return found


@pytest.fixture(scope="package")
def busy_cluster():
    """A demo cluster that has run every example of the guide for a while."""
    sim = start_sim(speed=20)
    try:
        kubectl(sim, "create", "ns", "guide")
        for _line, verb, text in examples():
            text = text.replace("$(date +%s)", "1").replace("https://cloud-images.ubuntu.com/noble/current/",
                                                             f"{sim.url}/dvpsim/samples/")
            kubectl(sim, verb, "-n", "guide", "-f", "-", stdin=text, check=False)
        time.sleep(3)  # at speed 20: a minute of controller work
        yield sim
    finally:
        stop_sim(sim)
