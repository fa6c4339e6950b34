"""Server-side apply and metadata.managedFields, through kubectl and plain HTTP."""

import json
import shutil

import pytest

from tests.dvpsim.rawhttp import call
from tests.kube import fresh_namespace
from tests.kubectl import KUBECTL, kubectl

APPLY = "application/apply-patch+yaml"

pytestmark = pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed")


def get(sim, ns, resource, name):
    return json.loads(kubectl(sim, "get", resource, name, "-n", ns, "-o", "json", "--show-managed-fields").stdout)


def managers(obj):
    """{(manager, operation): fieldsV1} of an object."""
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields") or []}


def config_map(name, **data):
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


@pytest.fixture(scope="module")
def ns(sim):
    name = fresh_namespace(sim, "ssa")
    yield name
    kubectl(sim, "delete", "namespace", name, "--wait=false", check=False)


def test_it_creates_by_apply_and_removes_what_the_manager_no_longer_applies(sim, ns):
    out = kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("one", a="1", b="2")).stdout
    assert "configmap/one serverside-applied" in out
    obj = get(sim, ns, "configmap", "one")
    assert obj["data"] == {"a": "1", "b": "2"}
    entry = obj["metadata"]["managedFields"][0]
    assert len(obj["metadata"]["managedFields"]) == 1
    assert entry["manager"] == "kubectl" and entry["operation"] == "Apply" and entry["apiVersion"] == "v1"
    assert entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}}
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("one", a="1"))
    obj = get(sim, ns, "configmap", "one")
    assert obj["data"] == {"a": "1"}
    assert managers(obj) == {("kubectl", "Apply"): {"f:data": {"f:a": {}}}}


def test_it_reports_a_conflict_with_another_manager_and_force_takes_ownership(sim, ns):
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("two", a="1", b="2"))
    proc = kubectl(sim, "apply", "--server-side", "--field-manager", "other", "-n", ns, "-f", "-",
                   stdin=config_map("two", a="changed"), check=False)
    assert proc.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.a' in proc.stderr
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/two?fieldManager=other",
                           config_map("two", a="changed", b="changed").encode(), content_type=APPLY)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Apply failed with 2 conflicts: conflicts with "kubectl":\n- .data.a\n- .data.b')
    assert body["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "kubectl"', "field": ".data.a"},
        {"type": "FieldManagerConflict", "message": 'conflict with "kubectl"', "field": ".data.b"}]
    # The same value is no conflict: both managers own the field.
    kubectl(sim, "apply", "--server-side", "--field-manager", "other", "-n", ns, "-f", "-",
            stdin=config_map("two", b="2"))
    obj = get(sim, ns, "configmap", "two")
    assert managers(obj)[("other", "Apply")] == {"f:data": {"f:b": {}}}
    assert managers(obj)[("kubectl", "Apply")] == {"f:data": {"f:a": {}, "f:b": {}}}
    kubectl(sim, "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-n", ns, "-f", "-",
            stdin=config_map("two", a="changed", b="2"))
    obj = get(sim, ns, "configmap", "two")
    assert obj["data"] == {"a": "changed", "b": "2"}
    assert managers(obj)[("kubectl", "Apply")] == {"f:data": {"f:b": {}}}
    assert managers(obj)[("other", "Apply")] == {"f:data": {"f:a": {}, "f:b": {}}}
    # kubectl no longer applies b, but "other" still does: b stays.
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("two"))
    assert get(sim, ns, "configmap", "two")["data"] == {"a": "changed", "b": "2"}


def test_it_records_update_managers_of_kubectl_create_and_edit(sim, ns):
    kubectl(sim, "create", "configmap", "three", "-n", ns, "--from-literal=a=one", "--from-literal=b=2")
    obj = get(sim, ns, "configmap", "three")
    # data is a map the create added: "." marks the map itself, as kube records an Update.
    assert managers(obj) == {("kubectl-create", "Update"): {"f:data": {".": {}, "f:a": {}, "f:b": {}}}}
    kubectl(sim, "edit", "configmap", "three", "-n", ns, env={"KUBE_EDITOR": "sed -i -e s/one/ten/"})
    obj = get(sim, ns, "configmap", "three")
    assert obj["data"]["a"] == "ten"
    fields = managers(obj)
    assert fields[("kubectl-edit", "Update")] == {"f:data": {"f:a": {}}}
    assert fields[("kubectl-create", "Update")] == {"f:data": {".": {}, "f:b": {}}}
    edit = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "kubectl-edit")
    assert edit["apiVersion"] == "v1" and edit["fieldsType"] == "FieldsV1"
    # An applier changing a field an Update manager owns conflicts ("using <version>").
    proc = kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("three", b="20"),
                   check=False)
    assert 'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.b' in proc.stderr
    # The User-Agent's first token names the manager when the request has no fieldManager.
    status, _, _ = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/three", {"data": {"c": "3"}},
                        content_type="application/merge-patch+json", headers={"User-Agent": "robot/1.0 (linux)"})
    assert status == 200
    assert managers(get(sim, ns, "configmap", "three"))[("robot", "Update")] == {"f:data": {"f:c": {}}}


def test_it_hides_managed_fields_from_kubectl_get_but_stores_them(sim, ns):
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("four", a="1"))
    shown = kubectl(sim, "get", "configmap", "four", "-n", ns, "-o", "yaml").stdout
    assert "managedFields" not in shown
    status, _, body = call(sim, "GET", f"/api/v1/namespaces/{ns}/configmaps/four")
    assert body["metadata"]["managedFields"][0]["manager"] == "kubectl"


def test_it_does_nothing_on_a_dry_run_apply(sim, ns):
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("five", a="1"))
    before = get(sim, ns, "configmap", "five")
    out = kubectl(sim, "apply", "--server-side", "--dry-run=server", "-n", ns, "-f", "-",
                  stdin=config_map("five", a="2")).stdout
    assert "serverside-applied (server dry run)" in out
    out = kubectl(sim, "apply", "--server-side", "--dry-run=server", "-n", ns, "-f", "-",
                  stdin=config_map("never", a="2")).stdout
    assert "serverside-applied (server dry run)" in out
    assert get(sim, ns, "configmap", "five") == before
    assert kubectl(sim, "get", "configmap", "never", "-n", ns, check=False).returncode != 0


def test_it_requires_a_field_manager_for_apply(sim, ns):
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/six",
                           config_map("six", a="1").encode(), content_type=APPLY)
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                               'is required for apply patch')


def test_it_validates_patch_options_and_applied_configurations(sim, ns):
    kubectl(sim, "create", "configmap", "opts", "-n", ns, "--from-literal=a=1")
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/opts?force=true", {"data": {"a": "2"}},
                           content_type="application/merge-patch+json")
    assert status == 422 and body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                                 'may not be specified for non-apply patch')
    with_managed = json.loads(config_map("opts", a="2"))
    with_managed["metadata"]["managedFields"] = [{"manager": "me", "operation": "Apply"}]
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/opts?fieldManager=me",
                           json.dumps(with_managed).encode(), content_type=APPLY)
    assert status == 400 and body["message"] == "metadata.managedFields must be nil"
    assert get(sim, ns, "configmap", "opts")["data"] == {"a": "1"}


def test_it_merges_keyed_lists_of_core_kinds_on_apply(sim, ns):
    def service(*ports):
        return json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                           "spec": {"selector": {"app": "x"}, "ports": [{"name": f"p{p}", "port": p} for p in ports]}})
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=service(80, 443))
    kubectl(sim, "apply", "--server-side", "--field-manager", "other", "-n", ns, "-f", "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                              "spec": {"ports": [{"name": "p9", "port": 9}]}}))
    obj = get(sim, ns, "service", "svc")
    assert [p["port"] for p in obj["spec"]["ports"]] == [80, 443, 9]
    assert 'k:{"port":9,"protocol":"TCP"}' in managers(obj)[("other", "Apply")]["f:spec"]["f:ports"]
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=service(80))
    assert [p["port"] for p in get(sim, ns, "service", "svc")["spec"]["ports"]] == [80, 9]


def test_it_applies_dvp_kinds_server_side(sim, ns):
    def vmip(**labels):
        return json.dumps({"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineIPAddress",
                           "metadata": {"name": "ip-ssa", "labels": labels}, "spec": {"type": "Auto"}})
    out = kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=vmip(a="1", b="2")).stdout
    assert "serverside-applied" in out
    kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=vmip(a="1"))
    obj = get(sim, ns, "vmip", "ip-ssa")
    assert obj["metadata"]["labels"] == {"a": "1"}
    assert obj["spec"]["type"] == "Auto"
    entry = managers(obj)[("kubectl", "Apply")]
    assert entry == {"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:type": {}}}
    kubectl(sim, "delete", "vmip", "ip-ssa", "-n", ns)


def test_it_takes_managed_fields_a_client_writes_so_kubectl_can_move_from_client_side_apply(sim, ns):
    kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=config_map("seven", a="1"))
    assert ("kubectl-client-side-apply", "Update") in managers(get(sim, ns, "configmap", "seven"))
    # kubectl hands the client-side-apply fields to its server-side manager (a JSON patch of
    # metadata.managedFields) before applying, so changing a's value is no conflict.
    out = kubectl(sim, "apply", "--server-side", "-n", ns, "-f", "-", stdin=config_map("seven", a="2")).stdout
    assert "serverside-applied" in out
    obj = get(sim, ns, "configmap", "seven")
    assert obj["data"] == {"a": "2"}
    assert managers(obj)[("kubectl", "Apply")] == {"f:data": {"f:a": {}}}
    assert "f:a" not in json.dumps(managers(obj).get(("kubectl-client-side-apply", "Update"), {}))
