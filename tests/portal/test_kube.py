"""portal.kube's client as the cast sees dvpsim: discovery, the console question, Invalid's summary, fetch."""
import json

import pytest
from django.contrib.auth import get_user_model

from portal.kube import Identity, Invalid, Kube, Unavailable, kinds
from portal.kube.errors import from_status
from portal.kube.fetch import json_document
from projects.access import can_console
from tests.kube import guest_vm

VIRTUALIZATION = "virtualization.deckhouse.io"


@pytest.fixture(scope="module")
def console_vm(sim, project):
    guest_vm(sim, project, "kube-vm")
    return "kube-vm"


def test_it_lists_the_served_groups_with_their_versions(cast):
    groups = Kube(Identity(cast.viewer)).groups()
    assert f"{VIRTUALIZATION}/v1alpha2" in groups[VIRTUALIZATION]
    assert all(gv.startswith(f"{group}/") for group, versions in groups.items() for gv in versions)
    assert f"{kinds.SUBRESOURCES}/v1alpha2" in groups[kinds.SUBRESOURCES]
    assert "no.such.group.example" not in groups


def test_it_asks_once_whether_the_user_may_open_a_console(cast, project, console_vm):
    User = get_user_model()
    for stream in ("console", "vnc"):
        assert Kube(Identity(cast.owner)).can_open_console(project, console_vm, stream)
        assert can_console(User(username=cast.owner), project, console_vm, stream)
        assert not Kube(Identity(cast.viewer)).can_open_console(project, console_vm, stream)
        assert not can_console(User(username=cast.viewer), project, console_vm, stream)
        assert not can_console(User(username=cast.outsider), project, console_vm, stream)


def test_it_sums_up_the_causes_of_a_refusal(cast, project):
    with pytest.raises(Invalid) as refused:
        Kube(Identity(cast.owner)).create(kinds.VM, {"metadata": {"name": "Not_A_Name"}, "spec": {
            "virtualMachineClassName": "generic", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "none"}]}}, project)
    causes = refused.value.causes
    assert causes and refused.value.summary() == "; ".join(c["message"] for c in causes)
    assert refused.value.summary(fields=True).startswith(f"{causes[0]['field']}: {causes[0]['message']}")


def test_it_falls_back_to_the_message_without_causes():
    body = json.dumps({"kind": "Status", "code": 422, "reason": "Invalid", "message": "spec is wrong",
                       "details": {"causes": [{"field": "spec", "message": ""}]}})
    assert from_status(422, body).summary() == "spec is wrong"


def test_it_reads_a_json_document(sim):
    samples = json_document(f"{sim.url}/dvpsim/samples/index.json")
    assert isinstance(samples, list) and any(s.get("url") for s in samples)


def test_it_says_when_a_document_cannot_be_read(sim):
    with pytest.raises(Unavailable):
        json_document("http://127.0.0.1:9/index.json", timeout=1)
    with pytest.raises(Unavailable):
        json_document(f"{sim.url}/dvpsim/samples/no-such-index.json")
    with pytest.raises(Unavailable):  # not JSON
        json_document(f"{sim.url}/healthz")
