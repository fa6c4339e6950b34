import re

from django.urls import reverse

from tests.kube import create_dvp, get_dvp, sample_url, wait_for_phase


def make_image(project, sim, name):
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})


def create_url(project):
    return reverse("virtualization:disk-create", args=[project])


def test_it_offers_the_project_images_and_the_default_storage_class(project, owner, sim, unique):
    image = unique("img")
    make_image(project, sim, image)
    page = owner.get(create_url(project)).content.decode()
    assert f'value="{image}"' in page
    assert "(default)" in page
    for label in ("Disk Name", "Source", "Project", "Size", "StorageClass Name"):
        assert label in page


def test_it_creates_a_disk_from_a_project_image(project, owner, sim, unique):
    image, disk = unique("img"), unique("disk")
    make_image(project, sim, image)
    response = owner.post(create_url(project), {"name": disk, "source": "project", "project_image": image, "size": "5Gi"})
    assert response.status_code == 302
    created = get_dvp(sim, "virtualdisks", project, disk)
    assert created["spec"]["dataSource"] == {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": image}}
    assert created["spec"]["persistentVolumeClaim"] == {"size": "5Gi"}
    ready = wait_for_phase(sim, "virtualdisks", project, disk, "Ready")
    page = owner.get(response["Location"]).content.decode()
    assert ready["status"]["capacity"] in page


def test_it_creates_the_guides_empty_disk_with_the_forms_defaults(project, owner, sim):
    # The guide: "Disk Name" blank-disk, "Size" 100Mi, "StorageClass Name" left as it is, "Create"; the Source
    # stays as the form opens (Project, no image chosen).
    page = owner.get(create_url(project)).content.decode()
    assert re.search(r'value="project"[^>]*checked', page)
    response = owner.post(create_url(project), {"name": "blank-disk", "source": "project", "project_image": "",
                                                "cluster_image": "", "snapshot": "", "size": "100Mi",
                                                "storage_class": ""})
    assert response.status_code == 302
    created = get_dvp(sim, "virtualdisks", project, "blank-disk")
    assert "dataSource" not in created["spec"] and created["spec"]["persistentVolumeClaim"] == {"size": "100Mi"}
    assert wait_for_phase(sim, "virtualdisks", project, "blank-disk", "Ready")["status"]["capacity"] == "100Mi"


def test_it_asks_for_the_image_of_an_image_disk(project, owner, unique):
    disk = unique("disk")
    response = owner.post(create_url(project), {"name": disk, "source": "project", "project_image": "", "size": ""})
    assert response.status_code == 422
    assert "Choose the project image" in response.content.decode()
    assert f'value="{disk}"' in response.content.decode()


def test_it_asks_for_the_size_of_an_empty_disk(project, owner, unique):
    response = owner.post(create_url(project), {"name": unique("disk"), "source": "blank", "size": ""})
    assert "An empty disk needs a size" in response.content.decode()


def test_it_rejects_a_size_without_unit_sense(project, owner, unique):
    response = owner.post(create_url(project), {"name": unique("disk"), "source": "blank", "size": "ten gigs"})
    assert response.status_code == 422
    assert "Give a size with its unit" in response.content.decode()


def test_it_names_the_storage_class_field_as_the_guide_does_on_each_form(project, owner):
    """"StorageClass Name" on Create Disk; "Storage Class" in the VM form's "Create new disk" (the quick start)."""
    create_disk = owner.get(create_url(project)).content.decode()
    assert '<label for="id_storage_class">StorageClass Name</label>' in create_disk
    vm_form = owner.get(reverse("virtualization:vm-create", args=[project])).content.decode()
    assert '<label for="id_new-storage_class">Storage Class</label>' in vm_form
    assert '<label for="id_new-name">Disk Name</label>' in vm_form
