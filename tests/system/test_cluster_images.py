"""System → Virtualization → Cluster Images: the operator's list, detail and three "Create Image" forms at a
cluster-scoped URL; project users get a 404 and nothing of the page."""
import pytest
from django.urls import reverse

from tests.kube import GROUP, VERSION, get_cluster_object, sample_url, wait_for
from tests.kubectl import kubectl, needs_kubectl

LIST = reverse("system:list", args=["virtualization/cluster-images"])
CLUSTER_KIND = (GROUP, VERSION, "clustervirtualimages")  # what `cleanup` deletes


def cvi(sim, name):
    return get_cluster_object(sim, "clustervirtualimages", name)


def test_it_creates_a_cluster_image_from_an_http_link_and_shows_it_ready(operator, sim, unique, cleanup):
    name = unique("cvi")
    cleanup.append(name)
    form = operator.get(reverse("system:cluster-image-create-http"))
    assert form.status_code == 200 and "Image Name" in form.content.decode()
    response = operator.post(reverse("system:cluster-image-create-http"), {"name": name, "url": sample_url(sim)})
    assert response.status_code == 302
    assert response["Location"] == reverse("system:detail", args=["virtualization/cluster-images", name])
    assert cvi(sim, name)["spec"] == {"dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}
    wait_for(lambda: (cvi(sim, name).get("status") or {}).get("phase") == "Ready")
    page = operator.get(response["Location"]).content.decode()
    assert 'data-phase="Ready"' in page or ">Ready<" in page
    assert f'href="{response["Location"]}"' in operator.get(LIST).content.decode()


def test_it_creates_a_cluster_image_from_a_container_image(operator, sim, unique, cleanup):
    name = unique("cvi")
    cleanup.append(name)
    image = sim.url.split("://", 1)[1] + "/samples/alpine-virt:latest"
    response = operator.post(reverse("system:cluster-image-create-container-image"), {"name": name, "image": image})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert cvi(sim, name)["spec"]["dataSource"] == {"type": "ContainerImage", "containerImage": {"image": image}}


def test_it_names_the_namespace_of_a_pull_secret(operator, sim, unique, cleanup):
    name = unique("cvi")
    cleanup.append(name)
    url = reverse("system:cluster-image-create-container-image")
    refused = operator.post(url, {"name": name, "image": "registry.example.com/img:1", "image_pull_secret": "creds"})
    assert refused.status_code == 422
    assert "Name the namespace of the image pull secret." in refused.content.decode()
    assert cvi(sim, name) is None
    operator.post(url, {"name": name, "image": "registry.example.com/img:1", "image_pull_secret": "creds",
                        "image_pull_secret_namespace": "default"})
    assert cvi(sim, name)["spec"]["dataSource"]["containerImage"]["imagePullSecret"] == {
        "name": "creds", "namespace": "default"}


def test_it_offers_the_upload_on_the_page_of_an_image_made_for_upload(operator, sim, unique, cleanup):
    name = unique("cvi")
    cleanup.append(name)
    response = operator.post(reverse("system:cluster-image-create-upload"), {"name": name})
    assert response.status_code == 302
    wait_for(lambda: (cvi(sim, name).get("status") or {}).get("phase") == "WaitForUserUpload")
    page = operator.get(response["Location"]).content.decode()
    assert f'data-upload-socket="/ws/system/cluster-images/{name}/upload/"' in page


def test_it_keeps_bad_input_and_says_why_on_the_field(operator, sim, unique):
    name = unique("cvi")
    response = operator.post(reverse("system:cluster-image-create-http"), {"name": name, "url": "not a link"})
    page = response.content.decode()
    assert response.status_code == 422
    assert f'value="{name}"' in page and "Enter a valid URL." in page
    assert cvi(sim, name) is None


def test_it_says_a_name_is_taken(operator, sim, unique, cleanup):
    name = unique("cvi")
    cleanup.append(name)
    url = reverse("system:cluster-image-create-http")
    operator.post(url, {"name": name, "url": sample_url(sim)})
    again = operator.post(url, {"name": name, "url": sample_url(sim) + "?again"})
    assert again.status_code == 422
    assert "The cluster already has a cluster image with this name." in again.content.decode()
    assert cvi(sim, name)["spec"]["dataSource"]["http"]["url"] == sample_url(sim)


@needs_kubectl
def test_it_deletes_a_cluster_image(operator, sim, unique):
    name = unique("cvi")
    operator.post(reverse("system:cluster-image-create-http"), {"name": name, "url": sample_url(sim)})
    delete = reverse("system:delete", args=["virtualization/cluster-images", name])
    assert operator.get(delete).status_code == 200
    assert operator.post(delete)["Location"] == LIST
    wait_for(lambda: name not in kubectl(sim, "get", "cvi", "-o", "name").stdout)


@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
def test_it_shows_a_project_user_nothing_of_the_system_section(role, request, sim, project, unique):
    client = request.getfixturevalue(role)
    name = unique("cvi")
    for url in (reverse("system:home"), LIST, reverse("system:cluster-image-create-http")):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Cluster Images" not in response.content.decode()
    assert client.post(reverse("system:cluster-image-create-http"),
                       {"name": name, "url": sample_url(sim)}).status_code == 404
    assert cvi(sim, name) is None
    sidebar = client.get(reverse("projects:detail", args=[project])).content.decode()
    assert f'href="{reverse("system:home")}"' not in sidebar and LIST not in sidebar


def test_it_shows_the_operator_the_system_section_in_the_sidebar(operator, project):
    page = operator.get(reverse("projects:detail", args=[project])).content.decode()
    assert f'href="{reverse("system:home")}"' in page
    home = operator.get(reverse("system:home")).content.decode()
    assert f'href="{LIST}"' in home and "Virtualization" in home
