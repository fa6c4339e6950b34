"""Admin guide, "Images": the three web-interface procedures that create a cluster image, step by step as the
guide words them, as the operator; the cluster's state checked with kubectl afterwards."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from dvpsim.samples import qcow2
from tests.kube import sample_url
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]
MiB = 1024**2


def cluster_images_section(page):
    """'Go to the "System" tab, then to the "Virtualization" -> "Cluster Images" section.'"""
    page.get_by_role("link", name="System", exact=True).click()
    page.get_by_role("navigation", name="System navigation").get_by_role("link", name="Cluster Images").click()
    expect(page.get_by_role("heading", name="Cluster Images")).to_be_visible()


def cvi(sim, name):
    return json.loads(kubectl(sim, "get", "clustervirtualimage", name, "-o", "json").stdout)


def test_it_creates_an_image_from_an_http_server(log_in, sim):
    name = f"ubuntu-{uuid.uuid4().hex[:6]}"
    page = log_in("operator")
    cluster_images_section(page)
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Load data from link (HTTP)").click()
    page.get_by_label("Image Name").fill(name)
    page.get_by_label("URL").fill(sample_url(sim))
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)
    assert cvi(sim, name)["spec"]["dataSource"] == {"type": "HTTP", "http": {"url": sample_url(sim)}}
    assert cvi(sim, name)["status"]["phase"] == "Ready"


def test_it_creates_an_image_from_a_container_registry(log_in, sim):
    name = f"alpine-{uuid.uuid4().hex[:6]}"
    image = sim.url.split("://", 1)[1] + "/samples/alpine-virt:latest"
    page = log_in("operator")
    cluster_images_section(page)
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Load data from container image").click()
    page.get_by_label("Image Name").fill(name)
    page.get_by_label("Image in Container Registry").fill(image)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)
    assert cvi(sim, name)["spec"]["dataSource"] == {"type": "ContainerImage", "containerImage": {"image": image}}


def test_it_uploads_an_image_from_the_computer(log_in, sim, tmp_path):
    """The file is chosen on the image's page once it is created (the console streams it from there)."""
    name = f"upload-{uuid.uuid4().hex[:6]}"
    image_file = tmp_path / "small.qcow2"
    image_file.write_bytes(qcow2(256 * MiB, 6 * MiB, seed=5))
    page = log_in("operator")
    cluster_images_section(page)
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Upload from Computer").click()
    page.get_by_label("Image Name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "WaitForUserUpload")
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("[data-upload-text]")).to_contain_text("Uploaded 6.0 MiB", timeout=30000)
    page.reload()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)
    assert cvi(sim, name)["status"]["phase"] == "Ready"
    assert cvi(sim, name)["status"]["format"] == "qcow2"


def test_it_shows_a_project_manager_no_operator_page(log_in):
    page = log_in("alice")
    # The System tab offers her Storage Classes only (every user may list them: they choose one for a disk).
    page.get_by_role("link", name="System", exact=True).click()
    nav = page.get_by_role("navigation", name="System navigation")
    expect(nav.get_by_role("link", name="Storage Classes")).to_be_visible()
    expect(nav.get_by_role("link")).to_have_count(1)
    assert page.goto("/system/virtualization/cluster-images/").status == 404
