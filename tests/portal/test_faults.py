"""The console survives a failing API: errors become pages or form messages, never a 500."""
import pytest
from django.urls import reverse

from tests.kube import get_dvp, sample_url, stopped_vm


@pytest.fixture(scope="module", autouse=True)
def demo_vm(sim, project):
    """A VM to read (named as the demo's)."""
    stopped_vm(sim, project, "demo-vm")


@pytest.fixture
def faults(sim):
    sim.clear_faults()
    yield sim
    sim.clear_faults()


def test_it_shows_an_api_failure_of_a_list_as_a_page_with_the_reason(project, owner, faults):
    faults.inject(verb="list", resource="virtualmachines", namespace=project, status=500)
    response = owner.get(reverse("virtualization:list", args=[project, "vms"]))
    assert response.status_code == 503
    assert "injected fault" in response.content.decode()


def test_it_keeps_the_form_when_the_api_refuses_to_create(project, owner, faults, unique):
    name = unique("img")
    faults.inject(verb="create", resource="virtualimages", namespace=project, status=503)
    response = owner.post(reverse("virtualization:image-create-http", args=[project]),
                          {"name": name, "storage": "ContainerRegistry", "url": sample_url(faults)})
    page = response.content.decode()
    assert response.status_code == 422
    assert "injected fault" in page and f'value="{name}"' in page
    assert get_dvp(faults, "virtualimages", project, name) is None


def test_it_still_answers_a_slow_api(project, owner, faults, settings):
    faults.inject(verb="get", resource="virtualmachines", namespace=project, latency=0.3)
    response = owner.get(reverse("virtualization:detail", args=[project, "vms", "demo-vm"]))
    assert response.status_code == 200


def test_it_reports_a_timeout_as_unavailable(project, owner, faults, settings):
    settings.DVP_REQUEST_TIMEOUT = 0.5
    faults.inject(verb="get", resource="virtualmachines", namespace=project, latency=2)
    response = owner.get(reverse("virtualization:detail", args=[project, "vms", "demo-vm"]))
    assert response.status_code == 503
