"""A cluster where the virtualization module was never enabled (none of its kinds are served): every project page
says in one line that the module is off, never a 500, and the project list still opens. This module's own
dvpsim (its `sim` replaces the session's, so the console talks to it)."""
import re
import uuid

import pytest
from django.urls import reverse

from projects.access import MODULE_OFF
from tests.conftest import start_sim_never_enabled, stop_sim
from tests.kube import make_project
from virtualization.registry import REGISTRY


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    sim = start_sim_never_enabled(tmp_path_factory.mktemp("never-enabled"))
    yield sim
    stop_sim(sim)


def test_it_says_on_every_project_page_that_the_module_is_off(sim, login):
    user = f"owner-{uuid.uuid4().hex[:6]}"
    project = make_project(sim, f"absent-{uuid.uuid4().hex[:6]}", {user: "manager"})
    client = login(user)
    listed = client.get(reverse("projects:list"))
    assert listed.status_code == 200 and project in listed.content.decode()
    pages = [reverse("projects:detail", args=[project]),
             reverse("virtualization:detail", args=[project, "vms", "any-vm"]),
             reverse("virtualization:image-create-http", args=[project]),
             *(reverse("virtualization:list", args=[project, slug]) for slug in REGISTRY)]
    for url in pages:
        response = client.get(url)
        text = response.content.decode()
        assert response.status_code == 503, url
        assert len(re.findall(r'<p class="notice module-off"', text)) == 1 and MODULE_OFF in text, url
