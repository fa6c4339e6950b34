"""The audit trail: every change made through the console writes one structured line (portal.audit)."""
import io
import json
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.urls import reverse

from dvpsim.samples import qcow2
from portal.asgi import application
from portal.logs import JsonFormatter, RequestIdFilter
from tests.kube import create_dvp, delete_vm, get_dvp, guest_vm, sample_url, wait_for, wait_for_phase
from tests.websockets import _session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def audit_lines():
    """lines(): the audit lines written so far, as the JSON log format writes them, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("dvp.audit")
    logger.addHandler(handler)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]
    yield lines
    logger.removeHandler(handler)


def audit_of(lines):
    return [line["audit"] for line in lines() if line["logger"] == "dvp.audit"]


def stopped_vm(sim, project, name):
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-absent"}]}})


def test_it_records_a_create_with_who_what_result_and_request_id(project, cast, owner, sim, unique, audit_lines):
    name = unique("img")
    User.objects.get(username=cast.owner).groups.add(Group.objects.get_or_create(name="audit-ops")[0])
    response = owner.post(reverse("virtualization:image-create-http", args=[project]),
                          {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)},
                          HTTP_X_REQUEST_ID="audit-create-1")
    assert response.status_code == 302
    [line] = audit_lines()
    assert line["request_id"] == "audit-create-1" and line["message"].startswith(f"{cast.owner} create VirtualImage")
    assert line["audit"] == {"user": cast.owner, "groups": ["audit-ops"], "verb": "create", "kind": "VirtualImage",
                             "project": project, "name": name, "result": "success", "request_id": "audit-create-1"}


def test_it_records_a_refused_change_as_a_failure_with_the_apis_status(project, cast, viewer, sim, unique,
                                                                        audit_lines):
    name = unique("img")
    viewer.post(reverse("virtualization:image-create-http", args=[project]),
                {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)})
    [entry] = audit_of(audit_lines)
    assert (entry["user"], entry["verb"], entry["name"], entry["result"], entry["status"]) == \
        (cast.viewer, "create", name, "failure", 403)
    assert "forbidden" in entry["reason"]


def test_it_records_a_patch_an_operation_and_a_delete(project, cast, owner, sim, unique, audit_lines):
    vm = unique("vm")
    stopped_vm(sim, project, vm)
    assert owner.post(reverse("virtualization:vms-meta-save", args=[project, vm]),
                      {"labels-key-new": "team", "labels-value-new": "blue"}).status_code == 302
    owner.post(reverse("virtualization:vm-operation", args=[project, vm]), {"type": "Start"})
    assert owner.post(reverse("virtualization:delete", args=[project, "vms", vm])).status_code == 302
    entries = [(e["verb"], e["kind"], e["project"], e["result"]) for e in audit_of(audit_lines)]
    assert entries == [("patch", "VirtualMachine", project, "success"),
                       ("operation", "VirtualMachineOperation", project, "success"),
                       ("delete", "VirtualMachine", project, "success")]
    patch, operation, delete = audit_of(audit_lines)
    assert patch["name"] == vm and delete["name"] == vm
    assert operation["operation"] == "Start" and operation["virtualMachine"] == vm
    assert get_dvp(sim, "virtualmachineoperations", project, operation["name"]) is not None  # the made name


def test_it_records_no_dry_run_and_no_read(project, owner, sim, unique, audit_lines):
    vm = unique("vm")
    stopped_vm(sim, project, vm)
    owner.get(reverse("virtualization:detail", args=[project, "vms", vm]))
    owner.get(reverse("virtualization:list", args=[project, "vms"]))
    assert audit_of(audit_lines) == []


@pytest.fixture(scope="module")
def console_vm(sim, project):
    guest_vm(sim, project, "audit-vm")
    yield "audit-vm"
    delete_vm(sim, project, "audit-vm")


async def test_it_records_a_console_session_opened_and_closed_with_the_sockets_request_id(
        project, cast, console_vm, audit_lines):
    cookie = await sync_to_async(_session_cookie)(cast.owner)
    communicator = WebsocketCommunicator(application, f"/ws/projects/{project}/vms/{console_vm}/console/", headers=[
        (b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode()),
        (b"x-request-id", b"audit-socket-7")])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.send_to(bytes_data=b"\r")
    await communicator.receive_output(timeout=10)
    await communicator.disconnect()
    await sync_to_async(wait_for)(lambda: len(audit_of(audit_lines)) == 2)
    opened, closed = audit_of(audit_lines)
    for entry, verb in ((opened, "console-open"), (closed, "console-close")):
        assert (entry["verb"], entry["user"], entry["kind"], entry["project"], entry["name"], entry["stream"],
                entry["result"], entry["request_id"]) == \
            (verb, cast.owner, "VirtualMachine", project, console_vm, "console", "success", "audit-socket-7")
    assert closed["seconds"] >= 0


async def test_it_records_an_upload_with_its_size(project, cast, sim, unique, audit_lines):
    name = unique("up")
    await sync_to_async(create_dvp)(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "WaitForUserUpload")
    data = qcow2(4 * 1024**2, 512 * 1024)
    cookie = await sync_to_async(_session_cookie)(cast.owner)
    communicator = WebsocketCommunicator(application, f"/ws/projects/{project}/images/{name}/upload/", headers=[
        (b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode())])
    assert (await communicator.connect(timeout=10))[0]
    assert json.loads(await communicator.receive_from(timeout=10)) == {"ready": True}
    await communicator.send_to(text_data=json.dumps({"size": len(data)}))
    await communicator.send_to(bytes_data=data)
    await communicator.send_to(text_data=json.dumps({"done": True}))
    while "ack" in (answer := json.loads(await communicator.receive_from(timeout=30))):
        pass
    assert answer == {"ok": True}
    await communicator.disconnect()
    [entry] = audit_of(audit_lines)
    assert (entry["verb"], entry["user"], entry["kind"], entry["project"], entry["name"], entry["result"],
            entry["bytes"]) == ("upload", cast.owner, "VirtualImage", project, name, "success", len(data))
