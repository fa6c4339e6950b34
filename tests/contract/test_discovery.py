"""`kubectl api-resources` and friends see what a real DVP serves: discovery follows every CRD's names,
scope, versions and subresources, and a deprecated version warns as kube-apiserver warns."""
import pytest
import yaml

from tests.contract.conftest import CRDS
from tests.dvpsim.rawhttp import call
from tests.kubectl import kubectl, needs_kubectl

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason=f"the upstream CRDs are not at {CRDS}")

CRD_VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
NOT_SERVED = {"virtualmachinepools": "VirtualMachinePool is EE-only and not served by dvpsim (issue scope)"}


def definitions():
    return [yaml.safe_load(path.read_text()) for path in sorted(CRDS.glob("*.yaml"))] if CRDS.is_dir() else []


@pytest.mark.parametrize("crd", definitions(), ids=lambda crd: crd["spec"]["names"]["plural"])
def test_it_lists_the_crd_in_discovery(sim, crd):
    spec, names = crd["spec"], crd["spec"]["names"]
    if names["plural"] in NOT_SERVED:
        pytest.skip(NOT_SERVED[names["plural"]])
    for version in spec["versions"]:
        status, _, body = call(sim, "GET", f"/apis/{spec['group']}/{version['name']}")
        assert status == 200, body
        resources = {r["name"]: r for r in body["resources"]}
        entry = resources[names["plural"]]
        assert entry["kind"] == names["kind"]
        assert entry["singularName"] == names.get("singular", names["kind"].lower())
        assert entry["namespaced"] == (spec["scope"] == "Namespaced")
        assert entry.get("shortNames", []) == names.get("shortNames", [])
        assert entry.get("categories", []) == names.get("categories", [])
        assert set(entry["verbs"]) == CRD_VERBS
        subresources = {name.split("/", 1)[1] for name in resources if name.startswith(names["plural"] + "/")}
        assert subresources == set(version.get("subresources") or {})


def test_it_prefers_the_newest_served_version_and_warns_on_a_deprecated_one(sim):
    crd = yaml.safe_load((CRDS / "virtualmachineclasses.yaml").read_text())
    deprecated = [v for v in crd["spec"]["versions"] if v.get("deprecated")]
    assert deprecated, "the CRD no longer deprecates a version: revisit this test"
    status, _, group = call(sim, "GET", f"/apis/{crd['spec']['group']}")
    assert group["preferredVersion"]["version"] == "v1alpha3"
    for version in crd["spec"]["versions"]:
        status, headers, _ = call(sim, "GET", f"/apis/{crd['spec']['group']}/{version['name']}/virtualmachineclasses")
        assert status == 200
        warnings = headers.get_all("Warning") or []
        if version.get("deprecated"):
            assert warnings == [f'299 - "{version["deprecationWarning"]}"']
        else:
            assert warnings == []


@needs_kubectl
def test_it_lets_kubectl_print_the_deprecation_warning(sim):
    version = next(v for v in yaml.safe_load((CRDS / "virtualmachineclasses.yaml").read_text())["spec"]["versions"]
                   if v.get("deprecated"))
    result = kubectl(sim, "get", f"virtualmachineclasses.{version['name']}.virtualization.deckhouse.io", "generic")
    assert f"Warning: {version['deprecationWarning']}" in result.stderr
    assert "Warning" not in kubectl(sim, "get", "vmclass", "generic").stderr
