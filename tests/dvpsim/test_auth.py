"""Authentication, impersonation, RBAC, access reviews and the VM console routes."""

import asyncio
import base64
import time

import aiohttp
import pytest
from kubernetes import client

from tests.dvpsim.rawhttp import call, make_namespace, unique

DVP = "virtualization.deckhouse.io"
SUB = "subresources.virtualization.deckhouse.io"
CONSOLE_SA = "system:serviceaccount:d8-console:dvp-console"


def sa_token(sim, ns, name):
    call(sim, "POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": name}})
    status, _, body = call(sim, "POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    assert status == 201, body
    return body["status"]["token"]


def bind(sim, ns, user, role):
    status, _, body = call(sim, "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", {
        "metadata": {"name": unique("rb")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]})
    assert status == 201, body


def as_user(sim, user):
    """Headers the console sends: its own token plus Impersonate-User."""
    return {"token": sim.token(CONSOLE_SA), "headers": {"Impersonate-User": user}}


def ssar(sim, user, verb, resource, ns=None, group=DVP, subresource=None):
    attrs = {"verb": verb, "group": group, "resource": resource}
    if ns:
        attrs["namespace"] = ns
    if subresource:
        attrs["subresource"] = subresource
    status, _, body = call(sim, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                           {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                            "spec": {"resourceAttributes": attrs}}, **as_user(sim, user))
    assert status == 201, body
    return body["status"]["allowed"]


def test_it_rejects_missing_and_unknown_tokens(sim):
    status, _, body = call(sim, "GET", "/api/v1/namespaces", token=False)
    assert status == 401 and body["reason"] == "Unauthorized" and body["code"] == 401
    status, _, _ = call(sim, "GET", "/api/v1/namespaces", token="not-a-token")
    assert status == 401
    status, _, _ = call(sim, "GET", "/version", token=False)
    assert status == 200


def test_it_forbids_with_kubernetes_messages(sim):
    ns = make_namespace(sim, "authz")
    token = sa_token(sim, ns, "nobody")
    user = f"system:serviceaccount:{ns}:nobody"
    status, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines/x", token=token)
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (f'virtualmachines.{DVP} "x" is forbidden: User "{user}" cannot get resource '
                               f'"virtualmachines" in API group "{DVP}" in the namespace "{ns}"')
    status, _, body = call(sim, "GET", "/api/v1/secrets", token=token)
    assert body["message"] == (f'secrets is forbidden: User "{user}" cannot list resource "secrets" in API group "" '
                               f'at the cluster scope')
    status, _, body = call(sim, "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1", token=token)
    assert status == 403 and "cannot watch resource" in body["message"]


def test_it_lets_the_console_impersonate_but_not_others(sim):
    ns = make_namespace(sim, "imp")
    bind(sim, ns, "bob", "d8:use:role:viewer")
    status, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines", **as_user(sim, "bob"))
    assert status == 200 and body["kind"] == "VirtualMachineList"
    status, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines", **as_user(sim, "eve"))
    assert status == 403 and 'User "eve"' in body["message"]
    # the console itself may list projects and namespaces but read nothing else
    status, _, _ = call(sim, "GET", "/apis/deckhouse.io/v1alpha2/projects", token=sim.token(CONSOLE_SA))
    assert status == 200
    status, _, _ = call(sim, "GET", "/api/v1/namespaces", token=sim.token(CONSOLE_SA))
    assert status == 200
    status, _, _ = call(sim, "GET", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines",
                        token=sim.token(CONSOLE_SA))
    assert status == 403
    status, _, _ = call(sim, "GET", f"/api/v1/namespaces/{ns}/secrets", token=sim.token(CONSOLE_SA))
    assert status == 403
    # a subject without the impersonate verb gets 403
    token = sa_token(sim, ns, "sneaky")
    status, _, body = call(sim, "GET", "/api/v1/namespaces", token=token, headers={"Impersonate-User": "admin"})
    assert status == 403 and 'cannot impersonate resource "users"' in body["message"]
    # impersonated groups count
    status, _, _ = call(sim, "GET", f"/api/v1/namespaces/{ns}/secrets", token=sim.token(CONSOLE_SA),
                        headers={"Impersonate-User": "carol", "Impersonate-Group": ["devs", "system:masters"]})
    assert status == 200


def test_it_grows_rights_along_the_dvp_role_chain(sim):
    ns = make_namespace(sim, "chain")
    for user, role in (("v", "viewer"), ("u", "user"), ("m", "manager"), ("a", "admin")):
        bind(sim, ns, user, f"d8:use:role:{role}")
    checks = [
        ("list", "virtualmachines", DVP, None, {"v", "u", "m", "a"}),
        ("list", "events", "", None, {"v", "u", "m", "a"}),
        ("get", "virtualmachines", SUB, "console", {"u", "m", "a"}),
        ("get", "virtualmachines", SUB, "vnc", {"u", "m", "a"}),
        ("create", "virtualmachineoperations", DVP, None, {"u", "m", "a"}),
        ("create", "virtualdisks", DVP, None, {"m", "a"}),
        ("delete", "virtualmachines", DVP, None, {"m", "a"}),
        ("create", "secrets", "", None, {"m", "a"}),
        ("create", "rolebindings", "rbac.authorization.k8s.io", None, {"a"}),
    ]
    for verb, resource, group, sub, allowed in checks:
        for user in ("v", "u", "m", "a", "outsider"):
            got = ssar(sim, user, verb, resource, ns, group, sub)
            assert got == (user in allowed), (verb, resource, sub, user)
    # the shared catalogue is readable cluster-wide by everyone signed in
    for user in ("v", "outsider"):
        assert ssar(sim, user, "list", "virtualmachineclasses")
        assert ssar(sim, user, "list", "storageclasses", group="storage.k8s.io")
        assert not ssar(sim, user, "create", "virtualmachineclasses")
    assert not ssar(sim, "v", "list", "virtualmachines", "other-namespace")


def test_it_answers_subject_access_reviews_and_whoami(sim):
    auth = client.AuthorizationV1Api(sim.api())
    review = auth.create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "x", "groups": ["system:masters"], "resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    assert review.status.allowed is True
    review = auth.create_self_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    assert review.status.allowed is True
    status, _, body = call(sim, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, **as_user(sim, "zed"))
    assert status == 201 and body["status"]["userInfo"]["username"] == "zed"


# console / vnc subresources ------------------------------------------------------------

@pytest.fixture(scope="module")
def vm_ns(sim):
    ns = make_namespace(sim, "con")
    bind(sim, ns, "con-user", "d8:use:role:user")
    bind(sim, ns, "con-viewer", "d8:use:role:viewer")
    return ns


def _make_vm(sim, ns, phase):
    name = unique("vm")
    status, _, body = call(sim, "POST", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines", {
        "apiVersion": f"{DVP}/v1alpha2", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1},
                 "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "none"}]}})
    assert status == 201, body
    status, _, body = call(sim, "PATCH", f"/apis/{DVP}/v1alpha2/namespaces/{ns}/virtualmachines/{name}/status",
                           {"status": {"phase": phase}}, content_type="application/merge-patch+json")
    assert status == 200, body
    return name


def test_it_guards_the_console_route(sim, vm_ns):
    base = f"/apis/{SUB}/v1alpha2/namespaces/{vm_ns}/virtualmachines"
    op = as_user(sim, "con-user")
    status, _, body = call(sim, "GET", f"{base}/missing/console", **op)
    assert status == 404 and body["reason"] == "NotFound"
    stopped = _make_vm(sim, vm_ns, "Stopped")
    status, _, body = call(sim, "GET", f"{base}/{stopped}/console", **op)
    assert status == 500 and body["message"] == "VirtualMachine is not Running or Migrating"
    status, _, body = call(sim, "GET", f"{base}/{stopped}/console?probe=true", **op)
    assert status == 200 and body == {}
    status, _, body = call(sim, "GET", f"{base}/{stopped}/console", **as_user(sim, "con-viewer"))
    assert status == 403 and 'cannot get resource "virtualmachines/console"' in body["message"]
    status, _, body = call(sim, "GET", f"{base}/{stopped}", **as_user(sim, "con-viewer"))
    assert status == 200 and body["kind"] == "VirtualMachine" and body["apiVersion"] == f"{SUB}/v1alpha2"


def running_vm(sim, timeout=30):
    """(namespace, name) of a Running VM of the demo's project-a (where alice works), waiting for the
    controllers to start it; other tests' VMs elsewhere do not count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, _, body = call(sim, "GET", f"/apis/{DVP}/v1alpha2/namespaces/project-a/virtualmachines")
        for vm in body["items"]:
            if (vm.get("status") or {}).get("phase") == "Running":
                return vm["metadata"]["namespace"], vm["metadata"]["name"]
        time.sleep(0.3)
    pytest.fail("no VirtualMachine reached Running")


async def _open(sim, path, user, protocols=("plain.kubevirt.io",)):
    session = aiohttp.ClientSession()
    headers = {"Authorization": f"Bearer {sim.token(CONSOLE_SA)}", "Impersonate-User": user}
    ws = await session.ws_connect(sim.url + path, protocols=protocols, headers=headers)
    return session, ws


async def test_it_streams_consoles_exclusively(sim):
    ns, name = running_vm(sim)
    path = f"/apis/{SUB}/v1alpha2/namespaces/{ns}/virtualmachines/{name}/console"
    status, _, body = call(sim, "GET", path, **as_user(sim, "alice"))
    assert status == 400 and body["message"] == "Upgrade request required"
    s1, ws1 = await _open(sim, path, "alice", ("plain.virtualization.deckhouse.io",))
    assert ws1.protocol == "plain.virtualization.deckhouse.io"
    status, _, probe = call(sim, "GET", path + "?probe=true", **as_user(sim, "alice"))
    assert probe["holder"] == "alice" and probe["startTime"]
    s2, ws2 = await _open(sim, path, "alice")
    assert ws2.protocol == "plain.kubevirt.io"
    msg = await asyncio.wait_for(ws1.receive(), 10)
    while msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
        msg = await asyncio.wait_for(ws1.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001 and msg.extra == "close by another connection"
    await ws2.close()
    for s in (s1, s2):
        await s.close()


async def test_it_takes_the_bearer_token_from_the_websocket_subprotocol(sim):
    ns, name = running_vm(sim)
    path = f"/apis/{SUB}/v1alpha2/namespaces/{ns}/virtualmachines/{name}/console"
    enc = base64.urlsafe_b64encode(sim.token("admin").encode()).decode().rstrip("=")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(sim.url + path, protocols=(
                f"base64url.bearer.authorization.k8s.io.{enc}", "plain.kubevirt.io")) as ws:
            assert ws.protocol == "plain.kubevirt.io"
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await session.ws_connect(sim.url + path, protocols=("plain.kubevirt.io",))
        assert e.value.status == 401
