"""Prometheus metrics at /metrics: HTTP by view and status, Kubernetes API calls by verb and result with
latency, open watches, open console sessions and relayed bytes, upload bytes."""
import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dvpsim.samples import qcow2
from tests.kube import create_dvp, delete_vm, guest_vm, wait_for, wait_for_phase
from tests.websockets import connect

pytestmark = pytest.mark.django_db(transaction=True)
POD = {"HTTP_HOST": "10.111.0.17:8000"}


def scrape():
    """{(sample name, sorted labels): value} of the /metrics page, as Prometheus reads it."""
    page = Client().get("/metrics", **POD).content.decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(page) for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_it_counts_pages_by_view_and_status_and_api_calls_by_verb_and_result(project, owner, sim):
    before = scrape()
    assert owner.get(f"/projects/{project}/vms/").status_code == 200
    assert owner.get(f"/projects/{project}/vms/absent-vm/").status_code == 404
    after = scrape()
    http = "django_http_responses_total_by_status_view_method_total"
    assert value(after, http, method="GET", status="200", view="virtualization:list") == \
        value(before, http, method="GET", status="200", view="virtualization:list") + 1
    assert value(after, http, method="GET", status="404", view="virtualization:detail") == \
        value(before, http, method="GET", status="404", view="virtualization:detail") + 1
    api = "dvp_kube_api_requests_total"
    assert value(after, api, verb="list", result="200") > value(before, api, verb="list", result="200")
    assert value(after, api, verb="get", result="404") > value(before, api, verb="get", result="404")
    latency = "dvp_kube_api_request_duration_seconds_count"
    assert value(after, latency, verb="list") > value(before, latency, verb="list")


@pytest.fixture(scope="module")
def metrics_vm(sim, project):
    guest_vm(sim, project, "metrics-vm")
    yield "metrics-vm"
    delete_vm(sim, project, "metrics-vm")


async def test_it_counts_open_watches_and_console_sessions_and_relayed_bytes(project, cast, metrics_vm):
    before = await sync_to_async(scrape)()
    live, _ = await connect(f"/ws/projects/{project}/live/vms/{metrics_vm}/", cast.owner)
    console, connected = await connect(f"/ws/projects/{project}/vms/{metrics_vm}/console/", cast.owner)
    assert connected
    await console.send_to(bytes_data=b"\r")
    await console.receive_output(timeout=10)
    await asyncio.sleep(0.5)
    during = await sync_to_async(scrape)()
    await console.disconnect()
    await live.disconnect()
    assert value(during, "dvp_console_sessions_open", stream="console") == \
        value(before, "dvp_console_sessions_open", stream="console") + 1
    assert value(during, "dvp_kube_watches_open") > value(before, "dvp_kube_watches_open")
    assert value(during, "dvp_console_relayed_bytes_total", stream="console", direction="to_vm") >= \
        value(before, "dvp_console_relayed_bytes_total", stream="console", direction="to_vm") + 1
    assert value(during, "dvp_console_relayed_bytes_total", stream="console", direction="to_browser") > \
        value(before, "dvp_console_relayed_bytes_total", stream="console", direction="to_browser")
    assert value(during, "dvp_kube_api_requests_total", verb="connect", result="101") > \
        value(before, "dvp_kube_api_requests_total", verb="connect", result="101")
    await sync_to_async(wait_for)(lambda: value(scrape(), "dvp_console_sessions_open", stream="console")
                                  == value(before, "dvp_console_sessions_open", stream="console"))


async def test_it_counts_uploaded_bytes(project, cast, sim, unique):
    name = unique("up")
    await sync_to_async(create_dvp)(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "WaitForUserUpload")
    before = await sync_to_async(scrape)()
    data = qcow2(2 * 1024**2, 256 * 1024)
    communicator, _ = await connect(f"/ws/projects/{project}/images/{name}/upload/", cast.owner)
    assert json.loads(await communicator.receive_from(timeout=10)) == {"ready": True}
    await communicator.send_to(text_data=json.dumps({"size": len(data)}))
    await communicator.send_to(bytes_data=data)
    await communicator.send_to(text_data=json.dumps({"done": True}))
    while "ack" in json.loads(await communicator.receive_from(timeout=30)):
        pass
    await communicator.disconnect()
    after = await sync_to_async(scrape)()
    assert value(after, "dvp_upload_bytes_total") == value(before, "dvp_upload_bytes_total") + len(data)
