"""The wire protocol of dvpsim, through the official client and plain HTTP."""

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from dvpsim import kinds, tables
from tests.dvpsim.rawhttp import call, make_namespace, unique

DVP = "virtualization.deckhouse.io"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


@pytest.fixture(scope="module")
def ns(sim):
    return make_namespace(sim, "wire")


@pytest.fixture(scope="module")
def custom(sim):
    return client.CustomObjectsApi(sim.api())


@pytest.fixture(scope="module")
def core(sim):
    return client.CoreV1Api(sim.api())


def _status(exc):
    return json.loads(exc.body)


# discovery --------------------------------------------------------------------------

def test_it_serves_version_and_core_discovery(sim):
    for path in ("/version", "/version/"):
        status, _, body = call(sim, "GET", path)
        assert status == 200 and body["gitVersion"].startswith("v1.31")
    status, _, body = call(sim, "GET", "/api")
    assert body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    _, _, body = call(sim, "GET", "/api/v1")
    names = {r["name"]: r for r in body["resources"]}
    assert names["namespaces"]["namespaced"] is False
    assert names["persistentvolumeclaims"]["shortNames"] == ["pvc"]


def test_it_serves_group_discovery_with_dvp_resources(sim):
    status, hdrs, body = call(sim, "GET", "/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
    assert status == 200 and hdrs["Content-Type"].startswith("application/json")
    groups = {g["name"]: g for g in body["groups"]}
    assert groups[DVP]["preferredVersion"]["version"] == "v1alpha3"
    assert {v["version"] for v in groups[DVP]["versions"]} == {"v1alpha2", "v1alpha3"}
    assert "subresources.virtualization.deckhouse.io" in groups
    _, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha2")
    res = {r["name"]: r for r in body["resources"]}
    vm = res["virtualmachines"]
    assert vm["kind"] == "VirtualMachine" and vm["shortNames"] == ["vm"] and vm["namespaced"]
    assert vm["categories"] == ["all", "virtualization"] and "watch" in vm["verbs"]
    assert "virtualmachines/status" in res
    assert res["virtualmachinesnapshots"]["shortNames"] == ["vmsnapshot", "vms"]
    assert "virtualmachinepools" not in res
    _, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha3")
    assert [r["name"] for r in body["resources"] if "/" not in r["name"]] == ["virtualmachineclasses"]
    _, _, body = call(sim, "GET", "/apis/subresources.virtualization.deckhouse.io/v1alpha2")
    assert {r["name"] for r in body["resources"]} >= {
        "virtualmachines", "virtualmachines/console", "virtualmachines/vnc", "virtualmachines/portforward"}
    status, _, body = call(sim, "GET", "/apis/nope.example.com")
    assert status == 404 and body["reason"] == "NotFound"


# CRUD -------------------------------------------------------------------------------

def test_it_creates_gets_lists_and_deletes_namespaced_objects(sim, ns, core):
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg", "labels": {"app": "a"}},
                                                "data": {"k": "v"}})
    assert cm.metadata.uid and cm.metadata.resource_version and cm.metadata.creation_timestamp
    assert core.read_namespaced_config_map("cfg", ns).data == {"k": "v"}
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == ["cfg"]
    assert "cfg" in [c.metadata.name for c in core.list_config_map_for_all_namespaces().items]
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}})
    assert e.value.status == 409 and _status(e.value)["reason"] == "AlreadyExists"
    core.delete_namespaced_config_map("cfg", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("cfg", ns)
    body = _status(e.value)
    assert e.value.status == 404 and body["reason"] == "NotFound" and body["message"] == 'configmaps "cfg" not found'


def test_it_generates_names_and_bumps_generation_only_on_spec_change(sim, ns, custom):
    vd = custom.create_namespaced_custom_object(DVP, "v1alpha2", ns, "virtualdisks", {
        "apiVersion": f"{DVP}/v1alpha2", "kind": "VirtualDisk",
        "metadata": {"generateName": "disk-"}, "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    name = vd["metadata"]["name"]
    assert name.startswith("disk-") and len(name) == len("disk-") + 5
    assert vd["metadata"]["generation"] == 1
    patched = custom.patch_namespaced_custom_object(DVP, "v1alpha2", ns, "virtualdisks", name,
                                                   {"metadata": {"labels": {"x": "y"}}})
    assert patched["metadata"]["generation"] == 1
    assert int(patched["metadata"]["resourceVersion"]) > int(vd["metadata"]["resourceVersion"])
    patched = custom.patch_namespaced_custom_object(DVP, "v1alpha2", ns, "virtualdisks", name,
                                                   {"spec": {"persistentVolumeClaim": {"size": "2Gi"}}})
    assert patched["metadata"]["generation"] == 2


def test_it_keeps_no_generation_for_built_in_kinds_that_have_none(sim, ns, core):
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "no-gen"}, "data": {"k": "v"}})
    assert cm.metadata.generation is None
    cm = core.patch_namespaced_config_map("no-gen", ns, {"data": {"k": "w"}})
    assert cm.metadata.generation is None
    status, _, ingress = call(sim, "POST", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses", {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "gen"},
        "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}})
    assert status == 201 and ingress["metadata"]["generation"] == 1


def test_it_rejects_a_stale_resource_version_with_conflict(sim, ns, core):
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "rv"}, "data": {"a": "1"}})
    cm.data = {"a": "2"}
    core.replace_namespaced_config_map("rv", ns, cm)
    cm.data = {"a": "3"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("rv", ns, cm)
    body = _status(e.value)
    assert e.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    assert core.read_namespaced_config_map("rv", ns).data == {"a": "2"}


def test_it_applies_merge_json_and_strategic_patches(sim, ns, core):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}})
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/p", {"data": {"a": None, "c": "3"}},
                           content_type="application/merge-patch+json")
    assert status == 200 and body["data"] == {"b": "2", "c": "3"}
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/p",
                           [{"op": "replace", "path": "/data/b", "value": "20"},
                            {"op": "add", "path": "/metadata/labels", "value": {"l": "v"}}],
                           content_type="application/json-patch+json")
    assert status == 200 and body["data"]["b"] == "20" and body["metadata"]["labels"] == {"l": "v"}
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/p", {"data": {"d": "4"}},
                           content_type="application/strategic-merge-patch+json")
    assert status == 200 and body["data"] == {"b": "20", "c": "3", "d": "4"}
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/p",
                           [{"op": "test", "path": "/data/b", "value": "nope"}],
                           content_type="application/json-patch+json")
    assert status == 422 and body["reason"] == "Invalid"
    status, _, body = call(sim, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/p", {"data": {}},
                           content_type="text/plain")
    assert status == 415


def test_it_keeps_status_apart_from_the_main_endpoint(sim, custom):
    name = unique("mc")
    obj = custom.create_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", {
        "apiVersion": "deckhouse.io/v1alpha1", "kind": "ModuleConfig", "metadata": {"name": name},
        "spec": {"enabled": True, "version": 1}, "status": {"message": "ignored on create"}})
    assert "status" not in obj
    custom.patch_cluster_custom_object_status("deckhouse.io", "v1alpha1", "moduleconfigs", name,
                                              {"status": {"message": "hello"}, "spec": {"version": 9}})
    obj = custom.get_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", name)
    assert obj["status"] == {"message": "hello"} and obj["spec"]["version"] == 1
    obj["status"] = {"message": "changed through main"}
    obj["spec"]["version"] = 2
    obj = custom.replace_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", name, obj)
    assert obj["status"] == {"message": "hello"} and obj["spec"]["version"] == 2
    assert obj["metadata"]["generation"] == 2


def test_it_holds_objects_with_finalizers_until_they_are_removed(sim, ns, core):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("fin", ns)
    held = core.read_namespaced_config_map("fin", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("fin", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("fin", ns)
    assert e.value.status == 404


def test_it_filters_lists_by_label_and_field_selectors(sim, ns, core):
    for name, labels in (("s1", {"tier": "web", "env": "prod"}), ("s2", {"tier": "db", "env": "prod"}),
                         ("s3", {"tier": "web"})):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(**kw):
        return sorted(c.metadata.name for c in core.list_namespaced_config_map(ns, **kw).items)

    assert names(label_selector="tier=web") == ["s1", "s3"]
    assert names(label_selector="tier==web,env=prod") == ["s1"]
    assert names(label_selector="tier!=web,env") == ["s2"]
    assert names(label_selector="tier in (db, cache)") == ["s2"]
    assert names(label_selector="tier notin (db),tier") == ["s1", "s3"]
    assert names(label_selector="!env,tier") == ["s3"]
    assert names(field_selector="metadata.name=s2") == ["s2"]
    assert names(field_selector="metadata.name!=s2", label_selector="tier") == ["s1", "s3"]
    all_ns = client.CoreV1Api(sim.api()).list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={ns}", label_selector="tier")
    assert sorted(c.metadata.name for c in all_ns.items) == ["s1", "s2", "s3"]
    status, _, body = call(sim, "GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=%3D%3Dbad")
    assert status == 400 and body["reason"] == "BadRequest"


def test_it_pages_lists_with_limit_and_continue(sim, core):
    ns = make_namespace(sim, "page")
    for i in range(5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"c{i}"}})
    seen, token = [], None
    while True:
        page = core.list_namespaced_config_map(ns, limit=2, _continue=token)
        seen += [c.metadata.name for c in page.items]
        assert len(page.items) <= 2
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"c{i}" for i in range(5)]


def test_it_serves_cluster_scoped_kinds_and_converts_vmclass_versions(sim, custom):
    name = unique("cls")
    custom.create_cluster_custom_object(DVP, "v1alpha3", "virtualmachineclasses", {
        "apiVersion": f"{DVP}/v1alpha3", "kind": "VirtualMachineClass", "metadata": {"name": name},
        "spec": {"cpu": {"type": "Host"},
                 "sizingPolicies": [{"cores": {"min": 1, "max": 4}, "coreFractions": ["5%", "50%", "100%"]}]}})
    v2 = custom.get_cluster_custom_object(DVP, "v1alpha2", "virtualmachineclasses", name)
    assert v2["apiVersion"] == f"{DVP}/v1alpha2"
    assert v2["spec"]["sizingPolicies"][0]["coreFractions"] == [5, 50, 100]
    v3 = custom.get_cluster_custom_object(DVP, "v1alpha3", "virtualmachineclasses", name)
    assert v3["spec"]["sizingPolicies"][0]["coreFractions"] == ["5%", "50%", "100%"]
    custom.patch_cluster_custom_object(DVP, "v1alpha2", "virtualmachineclasses", name,
                                       {"spec": {"sizingPolicies": [{"cores": {"min": 1, "max": 4},
                                                                     "coreFractions": [25, 100]}]}})
    listed = custom.list_cluster_custom_object(DVP, "v1alpha3", "virtualmachineclasses")
    mine = [o for o in listed["items"] if o["metadata"]["name"] == name][0]
    assert mine["spec"]["sizingPolicies"][0]["coreFractions"] == ["25%", "100%"]
    with pytest.raises(ApiException) as e:
        custom.get_namespaced_custom_object(DVP, "v1alpha3", "default", "virtualmachines", "x")
    assert e.value.status == 404


def test_it_answers_invalid_names_with_field_causes(sim, ns, core):
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    body = _status(e.value)
    assert e.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_it_answers_bad_requests_and_unsupported_methods(sim, ns):
    status, _, body = call(sim, "POST", f"/api/v1/namespaces/{ns}/configmaps", b"{not json")
    assert status == 400 and body["kind"] == "Status" and body["reason"] == "BadRequest"
    status, _, body = call(sim, "DELETE", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    status, _, body = call(sim, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                           {"metadata": {"name": "x", "namespace": "other"}})
    assert status == 400
    status, _, body = call(sim, "POST", "/api/v1/namespaces/no-such-ns/configmaps", {"metadata": {"name": "x"}})
    assert status == 404 and body["message"] == 'namespaces "no-such-ns" not found'


def test_it_supports_server_side_dry_run(sim, ns, core):
    status, _, body = call(sim, "POST", f"/api/v1/namespaces/{ns}/configmaps?dryRun=All",
                           {"metadata": {"name": "dry"}, "data": {"a": "b"}})
    assert status == 201 and body["metadata"]["name"] == "dry"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", ns)


def test_it_deletes_namespace_contents_with_the_namespace(sim, core):
    ns = make_namespace(sim, "gone")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "inside"}})
    core.delete_namespace(ns)
    with pytest.raises(ApiException) as e:
        core.read_namespace(ns)
    assert e.value.status == 404
    assert not [c for c in core.list_config_map_for_all_namespaces().items if c.metadata.namespace == ns]


def test_it_collects_dependents_by_owner_references(sim, ns, core):
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "dependent", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]}})
    core.delete_namespaced_config_map("owner", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("dependent", ns)
    assert e.value.status == 404


# tables -----------------------------------------------------------------------------

def test_it_renders_tables_with_printer_columns(sim, custom):
    name = unique("nusb")
    custom.create_cluster_custom_object(DVP, "v1alpha2", "nodeusbdevices", {
        "apiVersion": f"{DVP}/v1alpha2", "kind": "NodeUSBDevice", "metadata": {"name": name},
        "spec": {"assignedNamespace": "default"}})
    custom.patch_cluster_custom_object_status(DVP, "v1alpha2", "nodeusbdevices", name, {"status": {
        "nodeName": "node-1", "conditions": [{"type": "Ready", "status": "True"},
                                             {"type": "Attached", "status": "False"}]}})
    status, hdrs, table = call(sim, "GET", f"/apis/{DVP}/v1alpha2/nodeusbdevices?fieldSelector=metadata.name%3D{name}",
                               headers={"Accept": TABLE})
    assert status == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    cols = [c["name"] for c in table["columnDefinitions"]]
    assert cols == ["Name", "Node", "Ready", "Assigned", "Attached", "Namespace", "Age"]
    assert table["columnDefinitions"][0]["format"] == "name"
    [row] = table["rows"]
    assert row["cells"][:6] == [name, "node-1", "True", None, "False", "default"]
    assert row["cells"][6].endswith("s")
    assert row["object"]["kind"] == "PartialObjectMetadata" and "spec" not in row["object"]
    _, _, table = call(sim, "GET", f"/apis/{DVP}/v1alpha2/nodeusbdevices/{name}?includeObject=Object",
                       headers={"Accept": TABLE})
    assert table["rows"][0]["object"]["spec"] == {"assignedNamespace": "default"}


def test_it_computes_dvp_printer_column_cells():
    from datetime import datetime, timezone
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    vd = {"metadata": {"name": "d", "creationTimestamp": "2026-01-01T11:55:00Z"},
          "status": {"phase": "Ready", "capacity": "10Gi", "progress": "100%", "storageClassName": "local",
                     "attachedToVirtualMachines": [{"name": "old", "mounted": False}, {"name": "vm1", "mounted": True}],
                     "conditions": [{"type": "Ready", "status": "True"}, {"type": "InUse", "status": "True"}],
                     "target": {"persistentVolumeClaimName": "vd-d-pvc"}}}
    row = tables.row(kinds.get("VirtualDisk"), vd, now)
    assert row["cells"] == ["d", "Ready", "10Gi", "True", "vm1", "100%", "local", "vd-d-pvc", "5m"]
    cls = {"metadata": {"name": "generic", "creationTimestamp": "2025-12-30T12:00:00Z", "annotations": {
        "virtualmachineclass.virtualization.deckhouse.io/is-default-class": "true"}}, "status": {"phase": "Ready"}}
    assert tables.row(kinds.get("VirtualMachineClass"), cls, now)["cells"] == ["generic", "Ready", "true", "2d"]
    lease = {"metadata": {"name": "ip-10-0-0-1", "creationTimestamp": "2026-01-01T12:00:00Z"},
             "spec": {"virtualMachineIPAddressRef": {"name": "vm1", "namespace": "p"}}}
    assert tables.row(kinds.get("VirtualMachineIPAddressLease"), lease, now)["cells"][1] == '{"name":"vm1","namespace":"p"}'
    sc = {"metadata": {"name": "fast", "creationTimestamp": "2026-01-01T12:00:00Z",
                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "x", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
          "allowVolumeExpansion": True}
    assert tables.row(kinds.get("StorageClass"), sc, now)["cells"] == [
        "fast (default)", "x", "Delete", "WaitForFirstConsumer", True, "0s"]


# process ----------------------------------------------------------------------------

def test_it_saves_state_and_restores_it_after_sigterm(tmp_path):
    from tests.conftest import start_sim, stop_sim
    state = str(tmp_path / "state.json")
    first = start_sim("--state", state, demo=False)
    try:
        ns = make_namespace(first, "keep")
        status, _, _ = call(first, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                            {"metadata": {"name": "kept"}, "data": {"a": "b"}})
        assert status == 201
        _, _, listed = call(first, "GET", "/api/v1/configmaps")
        rv = int(listed["metadata"]["resourceVersion"])
    finally:
        stop_sim(first)
    assert first.proc.returncode == 0
    second = start_sim("--state", state, demo=False)
    try:
        status, _, body = call(second, "GET", f"/api/v1/namespaces/{ns}/configmaps/kept")
        assert status == 200 and body["data"] == {"a": "b"}
        assert second.token("admin") == first.token("admin")
        _, _, created = call(second, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "new"}})
        assert int(created["metadata"]["resourceVersion"]) > rv
    finally:
        stop_sim(second)
