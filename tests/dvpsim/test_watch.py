"""Watch streams: replay, synthetic ADDED, 410 Expired, timeouts, bookmarks and Table events."""

import json
import threading
import time
import urllib.parse
import http.client

import pytest
from kubernetes import client, watch

from dvpsim.server import BOOKMARK_INTERVAL
from tests.conftest import start_sim, stop_sim
from tests.dvpsim.rawhttp import call, make_namespace

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def stream(sim, path, headers=None, max_events=100, until=None, timeout=15):
    """Read watch events from `path` until `until(events)` is true, the stream ends, or `max_events`."""
    u = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    conn.request("GET", path, headers={"Authorization": f"Bearer {sim.token('admin')}", **(headers or {})})
    resp = conn.getresponse()
    assert resp.status == 200
    events = []
    while len(events) < max_events:
        line = resp.readline()
        if not line:
            break
        events.append(json.loads(line))
        if until and until(events):
            break
    conn.close()
    return events


@pytest.fixture(scope="module")
def core(sim):
    return client.CoreV1Api(sim.api())


def test_it_replays_changes_after_a_resource_version(sim, core):
    ns = make_namespace(sim, "w")
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"w": "1"}}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "other"}})
    core.delete_namespaced_config_map("a", ns)
    events = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}&labelSelector=w",
                    until=lambda e: len(e) == 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_it_starts_with_synthetic_added_events_without_a_resource_version(sim, core):
    ns = make_namespace(sim, "w")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "y"}})
    for query in ("watch=true", "watch=1&resourceVersion=0"):
        events = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?{query}&timeoutSeconds=1")
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "x"), ("ADDED", "y")]


def test_it_ends_the_stream_after_timeout_seconds(sim):
    ns = make_namespace(sim, "w")
    start = time.monotonic()
    events = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=1")
    assert events == [] and 0.8 < time.monotonic() - start < 5


def test_it_streams_live_events_to_the_official_client(sim, core):
    ns = make_namespace(sim, "w")
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "live"}})
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "ADDED":
            core.delete_namespaced_config_map("live", ns)
        if event["type"] == "DELETED":
            w.stop()
    assert seen == [("ADDED", "live"), ("DELETED", "live")]


def test_it_sends_bookmarks_when_asked(sim):
    ns = make_namespace(sim, "w")
    call(sim, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "b"}})
    events = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&allowWatchBookmarks=true"
                         f"&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=3",
                    until=lambda e: e[-1]["type"] == "BOOKMARK")
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert events[1]["object"]["kind"] == "ConfigMap"
    quiet = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=1")
    assert all(e["type"] != "BOOKMARK" for e in quiet)


def test_it_sends_bookmarks_while_other_objects_keep_changing(sim):
    """A watch of nothing still gets its bookmark every few seconds when the rest of the cluster is busy."""
    watched, busy = make_namespace(sim, "w"), make_namespace(sim, "w")
    stop = threading.Event()

    def churn():
        for i in range(10_000):
            if stop.wait(0.2):
                return
            call(sim, "POST", f"/api/v1/namespaces/{busy}/configmaps", {"metadata": {"name": f"c{i}"}})
    worker = threading.Thread(target=churn)
    worker.start()
    try:
        started = time.monotonic()
        events = stream(sim, f"/api/v1/namespaces/{watched}/configmaps?watch=1&allowWatchBookmarks=true"
                             f"&timeoutSeconds={int(BOOKMARK_INTERVAL * 3)}",
                        until=lambda e: e[-1]["type"] == "BOOKMARK")
    finally:
        stop.set()
        worker.join()
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert time.monotonic() - started < BOOKMARK_INTERVAL * 2


def test_it_wraps_events_in_tables_when_asked(sim):
    ns = make_namespace(sim, "w")
    call(sim, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "t"}, "data": {"a": "1"}})
    [event] = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=1",
                     headers={"Accept": TABLE})
    table = event["object"]
    assert event["type"] == "ADDED" and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert len(table["rows"]) == 1 and table["rows"][0]["cells"][:2] == ["t", 1]
    assert table["rows"][0]["object"]["metadata"]["name"] == "t"


def test_it_expires_resource_versions_older_than_the_history():
    small = start_sim("--watch-history", "5", demo=False)
    try:
        ns = make_namespace(small, "w")
        for i in range(10):
            call(small, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"c{i}"}})
        events = stream(small, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion=2")
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
        _, _, listed = call(small, "GET", f"/api/v1/namespaces/{ns}/configmaps")
        rv = listed["metadata"]["resourceVersion"]
        call(small, "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "fresh"}})
        events = stream(small, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}",
                        until=lambda e: True)
        assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "fresh"
    finally:
        stop_sim(small)


def test_it_reports_objects_entering_and_leaving_a_label_selection(sim, core):
    ns = make_namespace(sim, "w")
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "m", "labels": {"sel": "no"}}})
    core.patch_namespaced_config_map("m", ns, {"metadata": {"labels": {"sel": "yes"}}})
    core.patch_namespaced_config_map("m", ns, {"data": {"a": "1"}})
    core.patch_namespaced_config_map("m", ns, {"metadata": {"labels": {"sel": "no"}}})
    events = stream(sim, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}&labelSelector=sel%3Dyes",
                    until=lambda e: len(e) == 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
