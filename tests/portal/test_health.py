"""/healthz, /readyz and /metrics without login, the request id, and log lines as JSON."""
import json
import logging

import yaml
from django.test import Client

from portal.kube import config as kube_config
from portal.logs import JsonFormatter, RequestIdFilter

POD = {"HTTP_HOST": "10.111.0.17:8000"}  # the kubelet and Prometheus use the pod's address


def test_it_says_alive_without_login_on_the_pods_address(db):
    response = Client().get("/healthz", **POD)
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_it_is_ready_when_the_database_and_the_api_answer(db):
    response = Client().get("/readyz", **POD)
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": "ok", "kubernetes": "ok"}}


def test_it_is_not_ready_when_the_api_cannot_be_reached(db, settings, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "gone", "user": {"token": "x"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}))
    settings.DVP_KUBECONFIG, settings.DVP_KUBE_CONTEXT = str(kubeconfig), "gone"
    kube_config.reset()
    response = Client().get("/readyz", **POD)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["kubernetes"].startswith("failed: 503 The Kubernetes API cannot be reached")


def test_it_keeps_the_other_pages_behind_the_login_and_the_host_check(db):
    assert Client().get("/projects/").status_code == 302
    assert Client().get("/projects/", **POD).status_code == 400


def test_it_serves_metrics_to_a_direct_scrape(db, owner):
    owner.get("/projects/")
    page = Client().get("/metrics", **POD).content.decode()
    assert 'django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="projects:list"}' \
        in page


def test_it_hides_metrics_from_requests_through_the_ingress(db):
    response = Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9", **POD)
    assert response.status_code == 404


def test_it_takes_the_proxys_request_id_and_sends_it_back(db, owner):
    response = owner.get("/projects/", HTTP_X_REQUEST_ID="4f1c0ffee-proxy-id")
    assert response["X-Request-ID"] == "4f1c0ffee-proxy-id"


def test_it_makes_a_request_id_when_there_is_none_or_it_is_not_one(db, owner):
    fresh = owner.get("/projects/")["X-Request-ID"]
    forged = owner.get("/projects/", HTTP_X_REQUEST_ID='x" injected="1')["X-Request-ID"]
    assert len(fresh) == 32 and len(forged) == 32 and fresh != forged


def test_it_writes_log_lines_as_json_with_the_request_id(db, settings, tmp_path, caplog):
    settings.DVP_KUBECONFIG, settings.DVP_KUBE_CONTEXT = str(tmp_path / "missing"), "gone"
    kube_config.reset()
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="portal.health"):
        Client().get("/readyz", HTTP_X_REQUEST_ID="req-42", **POD)
    [record] = [record for record in caplog.records if record.name == "portal.health"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["logger"] == "portal.health" and line["level"] == "WARNING"
    assert line["message"].startswith("not ready: ")


def test_it_logs_each_request_and_djangos_own_warnings_with_the_request_id(db, owner, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO):
        owner.get("/projects/no-such-project/vms/", HTTP_X_REQUEST_ID="req-404")
    lines = [json.loads(JsonFormatter().format(record)) for record in caplog.records]
    [access] = [line for line in lines if line["logger"] == "dvp.access"]
    assert (access["method"], access["path"], access["status"], access["request_id"]) == \
        ("GET", "/projects/no-such-project/vms/", 404, "req-404")
    assert access["duration_ms"] >= 0
    [warning] = [line for line in lines if line["logger"] == "django.request"]
    assert warning["request_id"] == "req-404" and warning["status_code"] == 404
