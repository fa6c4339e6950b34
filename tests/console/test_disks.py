from django.urls import reverse

from .conftest import PROJECT_A
from .helpers import create_dvp, get_dvp, sample_url, wait_for_phase


def make_image(sim, name):
    create_dvp(sim, "virtualimages", PROJECT_A, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})


def create_url():
    return reverse("virtualization:disk-create", args=[PROJECT_A])


def test_it_offers_the_project_images_and_the_default_storage_class(owner, sim, unique):
    image = unique("img")
    make_image(sim, image)
    page = owner.get(create_url()).content.decode()
    assert f'value="{image}"' in page
    assert "(default)" in page
    for label in ("Disk Name", "Source", "Project", "Size", "StorageClass Name"):
        assert label in page


def test_it_creates_a_disk_from_a_project_image(owner, sim, unique):
    image, disk = unique("img"), unique("disk")
    make_image(sim, image)
    response = owner.post(create_url(), {"name": disk, "source": "project", "project_image": image, "size": "5Gi"})
    assert response.status_code == 302
    created = get_dvp(sim, "virtualdisks", PROJECT_A, disk)
    assert created["spec"]["dataSource"] == {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": image}}
    assert created["spec"]["persistentVolumeClaim"] == {"size": "5Gi"}
    ready = wait_for_phase(sim, "virtualdisks", PROJECT_A, disk, "Ready")
    page = owner.get(response["Location"]).content.decode()
    assert ready["status"]["capacity"] in page


def test_it_asks_for_the_image_of_an_image_disk(owner, unique):
    disk = unique("disk")
    response = owner.post(create_url(), {"name": disk, "source": "project", "project_image": "", "size": ""})
    assert response.status_code == 422
    assert "Choose the project image" in response.content.decode()
    assert f'value="{disk}"' in response.content.decode()


def test_it_asks_for_the_size_of_an_empty_disk(owner, unique):
    response = owner.post(create_url(), {"name": unique("disk"), "source": "blank", "size": ""})
    assert "An empty disk needs a size" in response.content.decode()


def test_it_rejects_a_size_without_unit_sense(owner, unique):
    response = owner.post(create_url(), {"name": unique("disk"), "source": "blank", "size": "ten gigs"})
    assert response.status_code == 422
    assert "Give a size with its unit" in response.content.decode()
