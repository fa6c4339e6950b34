"""Rights through a group binding count, whatever the way in: the group-only user sees and uses the
project (pages, live updates, console, VNC, upload) in every mode, and loses it when the binding goes."""
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from kubernetes import client as k8s

from portal.kube import Identity, Kube
from tests.kube import create_dvp, wait_for, wait_for_phase
from tests.ways_in import MODES, WayIn
from tests.websockets import read_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def team(sim, project):
    """A group bound as manager of the module's project; nobody is bound by name."""
    name = f"team-{uuid.uuid4().hex[:6]}"
    k8s.RbacAuthorizationV1Api(sim.api("admin")).create_namespaced_role_binding(project, {
        "metadata": {"name": f"test:{name}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "d8:use:role:manager"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}]})
    return name


@pytest.fixture(params=MODES)
def way(request, settings, sim):
    return WayIn(request.param, settings, sim)


@pytest.fixture
def member_of_team(way, team):
    """(username, groups) of a user whose only right is the team's; one more group that has no binding."""
    return f"grouped-{way.mode}-{uuid.uuid4().hex[:6]}", [team, "employees"]


def test_it_sends_every_group_with_the_user(sim, team):
    review = Kube(Identity("someone", (team, "employees"))).request(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == "someone"
    assert {team, "employees"} <= set(review["status"]["userInfo"]["groups"])


def test_it_serves_the_project_through_the_group_alone(way, member_of_team, project, project_vm):
    username, groups = member_of_team
    assert project not in way.client(username + "-alone", []).get("/projects/").content.decode()
    client = way.client(username, groups)
    assert project in client.get("/projects/").content.decode()
    page = client.get(f"/projects/{project}/vms/{project_vm}/")
    assert page.status_code == 200 and project_vm in page.content.decode()


async def test_it_pushes_live_updates_and_opens_console_and_vnc(way, member_of_team, project, project_vm):
    username, groups = member_of_team
    live, connected = await way.socket(f"/ws/projects/{project}/live/vms/", username, groups)
    assert connected
    assert project_vm in await live.receive_from(timeout=10)
    await live.disconnect()
    console, connected = await way.socket(f"/ws/projects/{project}/vms/{project_vm}/console/", username, groups)
    assert connected
    await console.send_to(bytes_data=b"\r")
    assert b"login:" in await read_until(console, b"login:")
    await console.disconnect()
    vnc, connected = await way.socket(f"/ws/projects/{project}/vms/{project_vm}/vnc/", username, groups)
    assert connected
    assert (await vnc.receive_output(10))["bytes"].startswith(b"RFB 003.008")
    await vnc.disconnect()


async def test_it_uploads_through_the_group(way, member_of_team, project, sim):
    from dvpsim.samples import qcow2

    username, groups = member_of_team
    name = f"up-{uuid.uuid4().hex[:6]}"
    await sync_to_async(create_dvp)(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "WaitForUserUpload")
    data = qcow2(4 * 1024**2, 1024**2)
    upload, connected = await way.socket(f"/ws/projects/{project}/images/{name}/upload/", username, groups)
    assert connected
    assert json.loads(await upload.receive_from(timeout=10)) == {"ready": True}
    await upload.send_to(text_data=json.dumps({"size": len(data)}))
    await upload.send_to(bytes_data=data)
    await upload.send_to(text_data=json.dumps({"done": True}))
    answer = {}
    while "ack" in answer or not answer:
        answer = json.loads(await upload.receive_from(timeout=30))
    assert answer == {"ok": True}
    await sync_to_async(wait_for_phase)(sim, "virtualimages", project, name, "Ready")


def test_it_loses_the_project_when_the_group_binding_goes(way, sim, project, project_vm, settings):
    name = f"gone-{uuid.uuid4().hex[:6]}"
    rbac = k8s.RbacAuthorizationV1Api(sim.api("admin"))
    rbac.create_namespaced_role_binding(project, {
        "metadata": {"name": f"test:{name}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "d8:use:role:viewer"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}]})
    client = way.client(f"leaver-{way.mode}-{uuid.uuid4().hex[:6]}", [name])
    url = f"/projects/{project}/vms/{project_vm}/"
    assert client.get(url).status_code == 200
    rbac.delete_namespaced_role_binding(f"test:{name}", project)
    wait_for(lambda: client.get(url).status_code == 404)
    assert project not in client.get("/projects/").content.decode()
