"""Strategic merge patch as kube-apiserver applies it to built-in kinds (per-kind merge keys and the
directives kubectl sends), its refusal for custom resources (415), through kubectl and plain HTTP."""

import json
import shutil

import pytest

from tests.dvpsim.rawhttp import call
from tests.kube import fresh_namespace
from tests.kubectl import KUBECTL, kubectl

SMP = "application/strategic-merge-patch+json"
UNSUPPORTED = ("the body of the request was in an unknown format - accepted media types include: "
               "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")

pytestmark = pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed")

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: https
    port: 443
    targetPort: 8443
  - name: metrics
    port: 9100
"""


def get(sim, ns, resource, name):
    return json.loads(kubectl(sim, "get", resource, name, "-n", ns, "-o", "json").stdout)


@pytest.fixture(scope="module")
def ns(sim):
    name = fresh_namespace(sim, "smp")
    yield name
    kubectl(sim, "delete", "namespace", name, "--wait=false", check=False)


def test_it_merges_service_ports_by_port_on_reapply(sim, ns):
    kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=SERVICE)
    # The live object gets a port nobody applied (as another client would add it).
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/services/web",
                           {"spec": {"ports": [{"name": "extra", "port": 7000}]}}, content_type=SMP)
    assert status == 200, body
    assert [p["port"] for p in body["spec"]["ports"]] == [80, 443, 9100, 7000]
    # Re-apply: 443 removed, 80's targetPort changed, 9100 moved before 80.
    changed = SERVICE.replace("""  - name: https
    port: 443
    targetPort: 8443
""", "").replace("targetPort: 8080", "targetPort: 8081")
    changed = changed.replace("""  - name: http
    port: 80
    targetPort: 8081
  - name: metrics
    port: 9100
""", """  - name: metrics
    port: 9100
  - name: http
    port: 80
    targetPort: 8081
""")
    out = kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=changed).stdout
    assert "service/web configured" in out
    ports = get(sim, ns, "service", "web")["spec"]["ports"]
    # kubectl sent $setElementOrder/ports and a `$patch: delete` element for 443; the port it
    # never applied stays, after the element that preceded it.
    assert [(p["name"], p["port"], p.get("targetPort")) for p in ports] == [
        ("metrics", 9100, 9100), ("http", 80, 8081), ("extra", 7000, 7000)]
    # Applied again, kubectl still sends `$setElementOrder/ports` (the live list has a port more):
    # it must leave the object as it is.
    before = get(sim, ns, "service", "web")
    kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=changed)
    after = get(sim, ns, "service", "web")
    assert after["spec"]["ports"] == ports
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_it_labels_and_annotates_core_and_dvp_kinds(sim, ns):
    kubectl(sim, "create", "configmap", "cm-label", "-n", ns, "--from-literal=a=1")
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin="""
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineIPAddress
metadata:
  name: ip-label
spec:
  type: Auto
""")
    for resource, name in (("configmap", "cm-label"), ("vmip", "ip-label")):
        kubectl(sim, "label", resource, name, "-n", ns, "tier=gold")
        kubectl(sim, "annotate", resource, name, "-n", ns, "note=hello")
        kubectl(sim, "label", resource, name, "-n", ns, "tier=silver", "--overwrite")
        obj = get(sim, ns, resource, name)
        assert obj["metadata"]["labels"]["tier"] == "silver"
        assert obj["metadata"]["annotations"]["note"] == "hello"
        kubectl(sim, "label", resource, name, "-n", ns, "tier-")
        assert "tier" not in (get(sim, ns, resource, name)["metadata"].get("labels") or {})
    kubectl(sim, "delete", "vmip", "ip-label", "-n", ns)


def test_it_edits_core_and_dvp_kinds_with_kubectl_edit(sim, ns):
    kubectl(sim, "create", "configmap", "cm-edit", "-n", ns, "--from-literal=greeting=hello")
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin="""
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineIPAddress
metadata:
  name: ip-edit
  labels:
    state: before
spec:
  type: Auto
""")
    editor = {"KUBE_EDITOR": "sed -i -e s/hello/goodbye/ -e s/state:.before/state:\\ after/"}
    out = kubectl(sim, "edit", "configmap", "cm-edit", "-n", ns, env=editor).stdout
    assert "configmap/cm-edit edited" in out
    assert get(sim, ns, "configmap", "cm-edit")["data"] == {"greeting": "goodbye"}
    out = kubectl(sim, "edit", "vmip", "ip-edit", "-n", ns, env=editor).stdout
    assert "edited" in out
    assert get(sim, ns, "vmip", "ip-edit")["metadata"]["labels"] == {"state": "after"}
    kubectl(sim, "delete", "vmip", "ip-edit", "-n", ns)


def test_it_honours_patch_delete_and_set_element_order_on_service_ports(sim, ns):
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin=SERVICE.replace("name: web", "name: order"))
    patch = {"spec": {"$setElementOrder/ports": [{"port": 9100}, {"port": 8000}, {"port": 80}],
                      "ports": [{"port": 443, "$patch": "delete"}, {"port": 8000, "name": "alt"},
                                {"port": 80, "name": "plain"}]}}
    kubectl(sim, "patch", "service", "order", "-n", ns, "--type", "strategic", "-p", json.dumps(patch))
    ports = get(sim, ns, "service", "order")["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [("metrics", 9100), ("alt", 8000), ("plain", 80)]
    assert ports[2]["targetPort"] == 8080  # merged by the key "port", not replaced
    # `$patch: replace` on the list: exactly the given elements.
    patch = {"spec": {"ports": [{"$patch": "replace"}, {"name": "only", "port": 1234}]}}
    kubectl(sim, "patch", "service", "order", "-n", ns, "--type", "strategic", "-p", json.dumps(patch))
    assert [(p["name"], p["port"]) for p in get(sim, ns, "service", "order")["spec"]["ports"]] == [("only", 1234)]


def test_it_honours_map_directives_and_primitive_lists(sim, ns):
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin="""
apiVersion: v1
kind: ConfigMap
metadata:
  name: directives
  labels: {a: "1", b: "2"}
  finalizers: [example.com/one, example.com/two]
data: {x: "1", y: "2", z: "3"}
""")

    def patch(body):
        kubectl(sim, "patch", "configmap", "directives", "-n", ns, "--type", "strategic", "-p", json.dumps(body))
        return get(sim, ns, "configmap", "directives")

    obj = patch({"metadata": {"labels": {"$patch": "replace", "c": "3"}}})
    assert obj["metadata"]["labels"] == {"c": "3"}
    obj = patch({"data": {"$retainKeys": ["x", "w"], "w": "0"}})
    assert obj["data"] == {"x": "1", "w": "0"}
    # finalizers are a merge list of primitives: new values are added, not replacing the list.
    obj = patch({"metadata": {"finalizers": ["example.com/three"]}})
    assert obj["metadata"]["finalizers"] == ["example.com/one", "example.com/two", "example.com/three"]
    obj = patch({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/one"],
                              "$setElementOrder/finalizers": ["example.com/three", "example.com/two"]}})
    assert obj["metadata"]["finalizers"] == ["example.com/three", "example.com/two"]
    obj = patch({"metadata": {"labels": {"$patch": "delete"}}})
    assert "labels" not in obj["metadata"]
    patch({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/two", "example.com/three"]}})
    kubectl(sim, "delete", "configmap", "directives", "-n", ns)


def test_it_replaces_lists_without_a_patch_strategy(sim, ns):
    # ServiceAccount.imagePullSecrets has no patch strategy (atomic); secrets merge by name.
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin="""
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
secrets: [{name: s1}]
imagePullSecrets: [{name: p1}]
""")
    kubectl(sim, "patch", "serviceaccount", "robot", "-n", ns, "-p",
            json.dumps({"secrets": [{"name": "s2"}], "imagePullSecrets": [{"name": "p2"}]}))
    sa = get(sim, ns, "serviceaccount", "robot")
    assert sa["secrets"] == [{"name": "s1"}, {"name": "s2"}]
    assert sa["imagePullSecrets"] == [{"name": "p2"}]


def test_it_refuses_strategic_merge_patch_for_custom_resources_with_415(sim, ns):
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin="""
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineIPAddress
metadata:
  name: ip-smp
spec:
  type: Auto
""")
    path = f"/apis/virtualization.deckhouse.io/v1alpha2/namespaces/{ns}/virtualmachineipaddresses/ip-smp"
    status, _, body = call(sim, "PATCH", path, {"metadata": {"labels": {"a": "b"}}}, content_type=SMP)
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType" and body["message"] == UNSUPPORTED
    # kubectl patch's default type is strategic: it fails as against kube-apiserver...
    proc = kubectl(sim, "patch", "vmip", "ip-smp", "-n", ns, "-p", '{"metadata":{"labels":{"a":"b"}}}', check=False)
    assert proc.returncode != 0 and UNSUPPORTED in proc.stderr
    # ...while merge and JSON patches work.
    kubectl(sim, "patch", "vmip", "ip-smp", "-n", ns, "--type", "merge", "-p", '{"metadata":{"labels":{"a":"b"}}}')
    kubectl(sim, "patch", "vmip", "ip-smp", "-n", ns, "--type", "json",
            "-p", '[{"op":"add","path":"/metadata/labels/c","value":"d"}]')
    assert get(sim, ns, "vmip", "ip-smp")["metadata"]["labels"] == {"a": "b", "c": "d"}
    # kubectl apply uses a JSON merge patch for custom resources.
    out = kubectl(sim, "apply", "-n", ns, "-f", "-", stdin="""
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineIPAddress
metadata:
  name: ip-smp
  labels: {applied: "yes"}
spec:
  type: Auto
""").stdout
    assert "configured" in out
    assert get(sim, ns, "vmip", "ip-smp")["metadata"]["labels"]["applied"] == "yes"
    kubectl(sim, "delete", "vmip", "ip-smp", "-n", ns)


def test_it_keeps_merge_and_json_patch_of_core_kinds(sim, ns):
    kubectl(sim, "create", "-n", ns, "-f", "-", stdin=SERVICE.replace("name: web", "name: plain"))
    kubectl(sim, "patch", "service", "plain", "-n", ns, "--type", "merge",
            "-p", json.dumps({"spec": {"ports": [{"name": "one", "port": 1}]}}))
    assert [p["port"] for p in get(sim, ns, "service", "plain")["spec"]["ports"]] == [1]
    kubectl(sim, "patch", "service", "plain", "-n", ns, "--type", "json",
            "-p", json.dumps([{"op": "add", "path": "/spec/ports/-", "value": {"name": "two", "port": 2}}]))
    assert [p["port"] for p in get(sim, ns, "service", "plain")["spec"]["ports"]] == [1, 2]
