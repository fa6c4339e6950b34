from django.urls import reverse

from tests.kube import create_dvp, get_dvp, sample_url, wait_for_phase


def create_url(project):
    return reverse("virtualization:image-create-http", args=[project])


def test_it_creates_an_image_from_a_link_as_the_user(project, owner, sim, unique):
    name = unique("img")
    response = owner.post(create_url(project), {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)})
    assert response.status_code == 302
    assert response["Location"] == reverse("virtualization:detail", args=[project, "images", name])
    image = get_dvp(sim, "virtualimages", project, name)
    assert image["spec"]["storage"] == "ContainerRegistry"
    assert image["spec"]["dataSource"] == {"type": "HTTP", "http": {"url": sample_url(sim)}}
    wait_for_phase(sim, "virtualimages", project, name, "Ready")
    page = owner.get(response["Location"]).content.decode()
    assert 'data-phase="Ready"' in page
    assert "qcow2" in page


def test_it_lists_images_with_kubectl_columns(project, owner, sim, unique):
    name = unique("img")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})
    page = owner.get(reverse("virtualization:list", args=[project, "images"])).content.decode()
    for column in ("Phase", "CDROM", "Progress", "Age"):
        assert f">{column}</a>" in page
    assert "StoredSize" not in page
    assert name in page
    wide = owner.get(reverse("virtualization:list", args=[project, "images"]) + "?wide=1").content.decode()
    assert "StoredSize" in wide and "UnpackedSize" in wide


def test_it_keeps_the_input_and_names_the_field_of_a_bad_name(project, owner, sim):
    response = owner.post(create_url(project), {"name": "Bad_Name", "storage": "ContainerRegistry",
                                         "url": sample_url(sim)})
    page = response.content.decode()
    assert response.status_code == 422
    assert "lower-case letters" in page
    assert 'value="Bad_Name"' in page
    assert sample_url(sim) in page


def test_it_says_the_name_is_taken(project, owner, sim, unique):
    name = unique("img")
    data = {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)}
    assert owner.post(create_url(project), data).status_code == 302
    response = owner.post(create_url(project), data)
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_it_shows_a_viewer_why_creating_is_refused(project, cast, login, sim, unique, db):
    client = login(cast.viewer)
    name = unique("img")
    listing = client.get(reverse("virtualization:list", args=[project, "images"])).content.decode()
    assert "You may not create" in listing
    response = client.post(create_url(project), {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim)})
    assert response.status_code == 422
    assert "forbidden" in response.content.decode().lower()
    assert get_dvp(sim, "virtualimages", project, name) is None


def test_it_deletes_an_image_after_confirmation(project, owner, sim, unique):
    name = unique("img")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})
    url = reverse("virtualization:delete", args=[project, "images", name])
    assert "Delete image" in owner.get(url).content.decode()
    assert owner.post(url).status_code == 302
    import time
    for _ in range(50):
        if get_dvp(sim, "virtualimages", project, name) is None:
            break
        time.sleep(0.1)
    assert get_dvp(sim, "virtualimages", project, name) is None


def test_it_shows_an_unreachable_link_as_failed_with_the_reason(project, owner, sim, unique):
    name = unique("img")
    owner.post(create_url(project), {"name": name, "storage": "ContainerRegistry",
                              "url": f"{sim.url}/dvpsim/samples/no-such-file.img"})
    image = wait_for_phase(sim, "virtualimages", project, name, "Failed")
    page = owner.get(reverse("virtualization:detail", args=[project, "images", name])).content.decode()
    assert 'data-phase="Failed"' in page
    reason = [c for c in image["status"]["conditions"] if c["type"] == "Ready"][0]["message"]
    assert reason and reason.split(":")[0] in page


def test_it_shows_the_yaml_it_would_apply_without_creating(project, owner, sim, unique):
    name = unique("img")
    response = owner.post(create_url(project), {"name": name, "storage": "ContainerRegistry", "url": sample_url(sim),
                                         "preview": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "apiVersion: virtualization.deckhouse.io/v1alpha2" in page
    assert "kind: VirtualImage" in page and f"name: {name}" in page and f"namespace: {project}" in page
    assert "d8 k apply -f - &lt;&lt;EOF" in page
    assert f'value="{name}"' in page  # the form keeps its input
    assert get_dvp(sim, "virtualimages", project, name) is None
