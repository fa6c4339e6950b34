"""A user of project B can neither see nor act on project A's VM: pages, fragments, mutations."""
import pytest
from django.test import Client
from django.urls import reverse

from tests.console.conftest import OUTSIDER, OWNER, PROJECT_A
from tests.console.helpers import create_dvp, get_dvp, list_dvp, make_vm, sample_url


@pytest.fixture(scope="module")
def project_a_vm(sim):
    make_vm(sim, PROJECT_A, "iso-vm", "iso-disk")
    return "iso-vm"


@pytest.fixture
def outsider(login, db):
    return login(OUTSIDER)


@pytest.mark.parametrize("url_name,args", [
    ("virtualization:list", ["vms"]),
    ("virtualization:detail", ["vms", "{vm}"]),
    ("virtualization:detail-tab", ["vms", "{vm}", "yaml"]),
    ("virtualization:detail-tab", ["vms", "{vm}", "events"]),
    ("virtualization:vm-tty", ["{vm}"]),
    ("virtualization:status", ["vms", "{vm}"]),
    ("virtualization:delete", ["vms", "{vm}"]),
    ("virtualization:vm-create", []),
])
def test_it_hides_every_page_and_fragment_of_project_a_from_an_outsider(outsider, project_a_vm, url_name, args):
    url = reverse(url_name, args=[PROJECT_A] + [a.format(vm=project_a_vm) for a in args])
    assert outsider.get(url).status_code == 404
    assert outsider.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_it_lets_the_owner_see_the_same_fragment(owner, project_a_vm):
    response = owner.get(reverse("virtualization:status", args=[PROJECT_A, "vms", project_a_vm]),
                         HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-phase="Running"' in response.content.decode()


def test_it_refuses_an_outsiders_delete_and_operation(outsider, sim, project_a_vm):
    assert outsider.post(reverse("virtualization:delete", args=[PROJECT_A, "vms", project_a_vm])).status_code == 404
    assert outsider.post(reverse("virtualization:vm-operation", args=[PROJECT_A, project_a_vm]),
                         {"type": "Stop"}).status_code == 404
    assert get_dvp(sim, "virtualmachines", PROJECT_A, project_a_vm)["metadata"].get("deletionTimestamp") is None
    assert [o for o in list_dvp(sim, "virtualmachineoperations", PROJECT_A)
            if o["spec"]["virtualMachineName"] == project_a_vm] == []


def test_it_refuses_a_mutation_without_the_csrf_token(sim, django_user_model, unique, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create(username=OWNER))
    name = unique("img")
    response = client.post(reverse("virtualization:image-create-http", args=[PROJECT_A]),
                           {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)})
    assert response.status_code == 403
    assert get_dvp(sim, "virtualimages", PROJECT_A, name) is None


def test_it_escapes_cluster_data(owner, sim, unique):
    name = unique("img")
    hostile = f"{sim.url}/dvpsim/samples/<script>alert(1)</script>.img"
    create_dvp(sim, "virtualimages", PROJECT_A, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": hostile}}}})
    for tab in ("", "yaml/"):
        page = owner.get(reverse("virtualization:detail", args=[PROJECT_A, "images", name]) + tab).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
