"""What dvpsim stores for the user guide's flows fits the upstream CRDs of ../shared/dvp-crds.

Every DVP object in a simulated cluster that has run the guide's examples is validated against
the openAPIV3Schema of its CRD version: types, required fields, enums, patterns, bounds, and no
field a real API server would prune.
"""

from pathlib import Path

import pytest
from kubernetes import client

from tests.contract.openapi import validate
from tests.contract.conftest import CRDS, crds
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_examples import GUIDE

pytestmark = [
    pytest.mark.skipif(not CRDS.is_dir(), reason=f"the upstream CRDs are not at {CRDS}"),
    pytest.mark.skipif(not GUIDE.exists() or not Path(KUBECTL).exists(), reason="needs the user guide and kubectl"),
]


def stored(sim, group, version, plural):
    """Every object of the kind, across namespaces, as served in that version."""
    return client.CustomObjectsApi(sim.api()).list_cluster_custom_object(group, version, plural)["items"]


@pytest.mark.parametrize("key", sorted(crds()), ids=lambda key: f"{key[2]}.{key[1]}")
def test_it_stores_objects_that_fit_the_crd(busy_cluster, key):
    group, version, plural = key
    _scope, schema = crds()[key]
    if plural == "virtualmachinepools":
        pytest.skip("VirtualMachinePool is EE-only and not served by dvpsim (issue scope)")
    try:
        objects = stored(busy_cluster, group, version, plural)
    except client.exceptions.ApiException as exc:
        pytest.fail(f"dvpsim does not serve {plural}.{group}/{version}: {exc.status}")
    if not objects:
        pytest.skip(f"the guide's flows leave no {plural} to check")
    problems = []
    for obj in objects:
        body = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
        problems += [f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: {p}"
                     for p in validate({**schema, "properties": {k: v for k, v in schema["properties"].items()
                                                                  if k != "metadata"}}, body)]
    assert problems == []
