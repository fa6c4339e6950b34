"""A user of another project can neither see nor act on this project's VM: pages, fragments, mutations.
Every test runs in each way in (DVP_AUTH local, proxy and oidc: tests/ways_in.py)."""
import pytest
from django.test import Client
from django.urls import reverse

from tests.kube import create_dvp, get_dvp, list_dvp, sample_url
from tests.ways_in import MODES, WayIn


@pytest.fixture(params=MODES)
def way(request, settings, sim, db):
    return WayIn(request.param, settings, sim)


@pytest.fixture
def owner(way, cast, project):
    return way.client(cast.owner)


@pytest.fixture
def outsider(way, cast, project):
    return way.client(cast.outsider)


@pytest.mark.parametrize("url_name,args", [
    ("virtualization:list", ["vms"]),
    ("virtualization:detail", ["vms", "{vm}"]),
    ("virtualization:detail-tab", ["vms", "{vm}", "yaml"]),
    ("virtualization:detail-tab", ["vms", "{vm}", "events"]),
    ("virtualization:detail-tab", ["vms", "{vm}", "tty"]),  # the TTY page (was virtualization:vm-tty)
    ("virtualization:vm-console-window", ["{vm}", "tty"]),
    ("virtualization:status", ["vms", "{vm}"]),
    ("virtualization:delete", ["vms", "{vm}"]),
    ("virtualization:vm-create", []),
])
def test_it_hides_every_page_and_fragment_of_a_project_from_an_outsider(project, outsider, project_vm, url_name, args):
    url = reverse(url_name, args=[project] + [a.format(vm=project_vm) for a in args])
    assert outsider.get(url).status_code == 404
    assert outsider.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_it_lets_the_owner_see_the_same_fragment(project, owner, project_vm):
    response = owner.get(reverse("virtualization:status", args=[project, "vms", project_vm]),
                         HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-phase="Running"' in response.content.decode()


def test_it_refuses_an_outsiders_delete_and_operation(project, outsider, sim, project_vm):
    assert outsider.post(reverse("virtualization:delete", args=[project, "vms", project_vm])).status_code == 404
    assert outsider.post(reverse("virtualization:vm-operation", args=[project, project_vm]),
                         {"type": "Stop"}).status_code == 404
    assert get_dvp(sim, "virtualmachines", project, project_vm)["metadata"].get("deletionTimestamp") is None
    assert [o for o in list_dvp(sim, "virtualmachineoperations", project)
            if o["spec"]["virtualMachineName"] == project_vm] == []


def test_it_refuses_a_mutation_without_the_csrf_token(project, cast, sim, django_user_model, unique, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create(username=cast.owner))
    name = unique("img")
    response = client.post(reverse("virtualization:image-create-http", args=[project]),
                           {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)})
    assert response.status_code == 403
    assert get_dvp(sim, "virtualimages", project, name) is None


def test_it_escapes_cluster_data(project, owner, sim, unique):
    name = unique("img")
    hostile = f"{sim.url}/dvpsim/samples/<script>alert(1)</script>.img"
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": hostile}}}})
    for tab in ("", "yaml/"):
        page = owner.get(reverse("virtualization:detail", args=[project, "images", name]) + tab).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
