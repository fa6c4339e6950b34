"""events.k8s.io/v1: a second view of the stored core Events (discovery, CRUD, list, watch, Table),
through the official client, kubectl and plain HTTP."""

import json

import pytest
from kubernetes import client

from tests.dvpsim.rawhttp import call
from tests.kube import fresh_namespace
from tests.kubectl import kubectl as run_kubectl

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def kubectl(sim, *args):
    return run_kubectl(sim, *args).stdout


@pytest.fixture(scope="module")
def ns(sim):
    name = fresh_namespace(sim, "events")
    yield name
    client.CoreV1Api(sim.api()).delete_namespace(name)


@pytest.fixture(scope="module")
def core(sim):
    return client.CoreV1Api(sim.api())


@pytest.fixture(scope="module")
def events(sim):
    return client.EventsV1Api(sim.api())


def core_event(ns, name, **extra):
    return {"metadata": {"name": name, "namespace": ns},
            "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "namespace": ns, "uid": "u-1"},
            "reason": "Started", "message": "the thing started", "type": "Normal",
            "source": {"component": "tester", "host": "node-1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z", "count": 3,
            "reportingComponent": "tester", "reportingInstance": "tester-1", **extra}


def view_event(name, **extra):
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Warning",
            "note": "scaled to 3", "regarding": {"apiVersion": "v1", "kind": "Service", "name": "svc"},
            **extra}


def test_it_serves_events_k8s_io_discovery(sim):
    status, _, body = call(sim, "GET", "/apis/events.k8s.io/v1")
    assert status == 200 and body["groupVersion"] == "events.k8s.io/v1"
    assert [(r["name"], r["kind"], r["namespaced"]) for r in body["resources"]] == [("events", "Event", True)]
    assert set(body["resources"][0]["verbs"]) >= {"create", "get", "list", "watch", "patch", "update", "delete"}
    status, _, groups = call(sim, "GET", "/apis")
    assert any(g["name"] == "events.k8s.io" and g["preferredVersion"]["version"] == "v1" for g in groups["groups"])


def test_it_shows_a_core_event_converted(sim, ns, core, events):
    core.create_namespaced_event(ns, core_event(ns, "from-core"))
    status, _, view = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events/from-core")
    assert status == 200
    assert view["apiVersion"] == "events.k8s.io/v1" and view["kind"] == "Event"
    assert view["note"] == "the thing started" and view["reason"] == "Started" and view["type"] == "Normal"
    assert view["regarding"] == {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "namespace": ns, "uid": "u-1"}
    assert view["deprecatedSource"] == {"component": "tester", "host": "node-1"}
    assert view["deprecatedFirstTimestamp"] == "2026-01-01T00:00:00Z"
    assert view["deprecatedLastTimestamp"] == "2026-01-01T00:01:00Z" and view["deprecatedCount"] == 3
    assert view["reportingController"] == "tester" and view["reportingInstance"] == "tester-1"
    assert view["eventTime"] is None
    for core_only in ("message", "involvedObject", "source", "firstTimestamp", "lastTimestamp", "count",
                      "reportingComponent"):
        assert core_only not in view
    # (The official client's EventsV1Event refuses `eventTime: null`, which kube-apiserver serves for such
    # events too; hence plain HTTP here.)


def test_it_creates_updates_and_deletes_through_events_k8s_io(sim, ns, core, events):
    created = events.create_namespaced_event(ns, view_event("from-view", series={
        "count": 2, "lastObservedTime": "2026-01-01T00:05:00.000000Z"}))
    assert created.note == "scaled to 3" and created.action == "Scale"
    stored = core.read_namespaced_event("from-view", ns)
    assert stored.message == "scaled to 3" and stored.involved_object.kind == "Service"
    assert stored.reporting_component == "example.com/ctl" and stored.reporting_instance == "ctl-1"
    assert stored.action == "Scale" and stored.event_time is not None and stored.series.count == 2
    assert stored.source is None and stored.count is None
    raw = call(sim, "GET", f"/api/v1/namespaces/{ns}/events/from-view")[2]
    assert raw["eventTime"] == "2026-01-01T00:00:00.000000Z"  # MicroTime, however the client wrote it
    events.patch_namespaced_event("from-view", ns, {"note": "scaled to 4"})
    assert core.read_namespaced_event("from-view", ns).message == "scaled to 4"
    body = events.read_namespaced_event("from-view", ns).to_dict()
    view = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events/from-view")[2]
    view["reason"] = "ScaledAgain"
    status, _, replaced = call(sim, "PUT", f"/apis/events.k8s.io/v1/namespaces/{ns}/events/from-view", view)
    assert status == 200 and replaced["reason"] == "ScaledAgain" and body["reason"] == "Scaled"
    assert core.read_namespaced_event("from-view", ns).reason == "ScaledAgain"
    events.delete_namespaced_event("from-view", ns)
    status, _, gone = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events/from-view")
    assert status == 404 and gone["details"] == {"name": "from-view", "group": "events.k8s.io", "kind": "events"}


def test_it_validates_events_created_through_events_k8s_io(sim, ns):
    bad = view_event("bad")
    for key in ("eventTime", "reportingController", "action"):
        bad.pop(key)
    bad["deprecatedCount"] = 2
    status, _, body = call(sim, "POST", f"/apis/events.k8s.io/v1/namespaces/{ns}/events", bad)
    assert status == 422 and body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == ["eventTime", "reportingController", "action", "count"]
    assert body["message"].startswith('Event.events.k8s.io "bad" is invalid: [eventTime: Required value, ')


def test_it_lists_watches_and_prints_through_events_k8s_io(sim, ns, core):
    core.create_namespaced_event(ns, core_event(ns, "listed", involvedObject={
        "apiVersion": "v1", "kind": "ConfigMap", "name": "other", "namespace": ns}))
    status, _, body = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events?fieldSelector=regarding.name%3Dother")
    assert status == 200 and body["kind"] == "EventList" and body["apiVersion"] == "events.k8s.io/v1"
    assert [i["metadata"]["name"] for i in body["items"]] == ["listed"]
    assert body["items"][0]["note"] == "the thing started"
    rv = body["metadata"]["resourceVersion"]
    core.create_namespaced_event(ns, core_event(ns, "watched"))
    status, _, raw = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events?watch=1"
                                      f"&resourceVersion={rv}&timeoutSeconds=1", raw=True)
    seen = [json.loads(line) for line in raw.decode().splitlines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [("ADDED", "watched")]
    assert seen[0]["object"]["apiVersion"] == "events.k8s.io/v1" and seen[0]["object"]["note"] == "the thing started"
    status, _, table = call(sim, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events", headers={"Accept": TABLE})
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Last Seen", "Type", "Reason", "Object",
                                                               "Message"]
    row = next(r for r in table["rows"] if r["cells"][0] == "listed")
    assert row["cells"][2:] == ["Normal", "Started", "configmap/other", "the thing started"]
    out = kubectl(sim, "get", "events.events.k8s.io", "-n", ns)
    assert out.split("\n")[0].split() == ["NAME", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert "listed" in out and "configmap/other" in out
    out = kubectl(sim, "events", "-n", ns)
    assert "Started" in out and "ConfigMap/other" in out and "the thing started" in out
