"""'Create Image' with every source of the user guide, and the Configuration tab (.spec until Ready)."""
from django.core.cache import cache
from django.urls import reverse

from tests.kube import create_dvp, get_dvp, sample_url, wait_for_phase


def create_url(project, source):
    return reverse("virtualization:image-create-" + source, args=[project])


def test_the_create_menu_lists_every_source_of_the_guide(project, owner):
    page = owner.get(reverse("virtualization:list", args=[project, "images"])).content.decode()
    for label in ("Load data from link (HTTP)", "Upload data from container image", "Upload from computer",
                  "Write data from disk", "Write data from disk snapshot"):
        assert label in page


def test_it_suggests_the_embedded_registry_and_pulls_the_chosen_container_image(project, owner, sim, unique, settings):
    settings.DVP_SAMPLE_IMAGES_URL = f"{sim.url}/dvpsim/samples/index.json"
    cache.delete("sample-images")
    form = owner.get(create_url(project, "container-image")).content.decode()
    assert "Image in Container Registry" in form  # the guide's field label
    reference = f"{sim.url.split('://', 1)[1]}/samples/noble-server-cloudimg-amd64:latest"
    assert f'<option value="{reference}">' in form
    name = unique("ci")
    response = owner.post(create_url(project, "container-image"), {
        "name": name, "storage": "PersistentVolumeClaim", "storage_class": "", "image": reference})
    assert response.status_code == 302
    spec = get_dvp(sim, "virtualimages", project, name)["spec"]
    assert spec["storage"] == "PersistentVolumeClaim"
    assert spec["dataSource"] == {"type": "ContainerImage", "containerImage": {"image": reference}}
    image = wait_for_phase(sim, "virtualimages", project, name, "Ready")
    assert image["status"]["format"] == "qcow2"


def test_it_sends_the_pull_secret_and_shows_the_wait_for_it(project, owner, sim, unique):
    name = unique("ci")
    response = owner.post(create_url(project, "container-image"), {
        "name": name, "storage": "ContainerRegistry", "image_pull_secret": "regcred",
        "image": "registry.example.com/images/ubuntu:24.04"})
    assert response.status_code == 302
    spec = get_dvp(sim, "virtualimages", project, name)["spec"]
    assert spec["dataSource"] == {"type": "ContainerImage", "containerImage": {
        "image": "registry.example.com/images/ubuntu:24.04", "imagePullSecret": {"name": "regcred"}}}
    wait_for_phase(sim, "virtualimages", project, name, "Pending")
    page = owner.get(response["Location"]).content.decode()
    assert 'data-phase="Pending"' in page and "Container registry secret not found." in page


def test_it_keeps_a_bad_container_reference_with_its_message(project, owner, sim, unique):
    name = unique("ci")
    response = owner.post(create_url(project, "container-image"), {"name": name, "storage": "ContainerRegistry",
                                                          "image": "Not A Reference"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "container image reference" in page
    assert 'value="Not A Reference"' in page
    assert get_dvp(sim, "virtualimages", project, name) is None


def test_it_writes_an_image_from_a_free_disk_but_not_from_one_a_running_vm_uses(project, running_vm, owner, sim, unique):
    free = unique("free")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": free},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    wait_for_phase(sim, "virtualdisks", project, free, "Ready")
    vm, busy = unique("vm"), unique("busy")
    running_vm(vm, busy)
    form_page = owner.get(create_url(project, "disk")).content.decode()
    assert free in form_page
    assert f"attached to the running VM {vm}" in form_page

    refused = owner.post(create_url(project, "disk"), {"name": unique("img"), "storage": "ContainerRegistry",
                                              "source_name": busy})
    assert refused.status_code == 422
    assert "stop it first" in refused.content.decode()

    name = unique("img")
    assert owner.post(create_url(project, "disk"), {"name": name, "storage": "ContainerRegistry",
                                           "source_name": free}).status_code == 302
    assert get_dvp(sim, "virtualimages", project, name)["spec"]["dataSource"] == {
        "type": "ObjectRef", "objectRef": {"kind": "VirtualDisk", "name": free}}
    assert wait_for_phase(sim, "virtualimages", project, name, "Ready")["status"]["size"]["unpacked"] == "1Gi"


def test_the_http_form_shows_the_yaml_it_will_apply(project, owner, sim, unique):
    name = unique("img")
    response = owner.post(create_url(project, "http"), {"name": name, "storage": "ContainerRegistry",
                                               "url": sample_url(sim), "preview": "1"})
    page = response.content.decode()
    assert "kind: VirtualImage" in page and "type: HTTP" in page
    assert get_dvp(sim, "virtualimages", project, name) is None


def test_it_edits_the_spec_until_ready_and_keeps_the_text_on_a_conflict(project, owner, sim, unique):
    name = unique("up")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    waiting = wait_for_phase(sim, "virtualimages", project, name, "WaitForUserUpload")
    tab = owner.get(reverse("virtualization:detail-tab", args=[project, "images", name, "configuration"]))
    assert "can be changed until" in tab.content.decode()
    spec_url = reverse("virtualization:images-configuration-save", args=[project, name])
    new_spec = f"storage: ContainerRegistry\ndataSource:\n  type: HTTP\n  http:\n    url: {sample_url(sim)}\n"

    stale = owner.post(spec_url, {"spec": new_spec, "resource_version": "1"})
    page = stale.content.decode()
    assert stale.status_code == 409
    assert "changed by someone else" in page
    assert sample_url(sim) in page  # the user's text is kept
    assert get_dvp(sim, "virtualimages", project, name)["spec"]["dataSource"]["type"] == "Upload"

    saved = owner.post(spec_url, {"spec": new_spec, "resource_version": waiting["metadata"]["resourceVersion"]})
    if saved.status_code == 409:  # the controller wrote the status meanwhile: save again as the page offers
        current = get_dvp(sim, "virtualimages", project, name)["metadata"]["resourceVersion"]
        saved = owner.post(spec_url, {"spec": new_spec, "resource_version": current})
    assert saved.status_code == 302
    ready = wait_for_phase(sim, "virtualimages", project, name, "Ready")
    assert ready["spec"]["dataSource"]["http"]["url"] == sample_url(sim)
    locked = owner.get(reverse("virtualization:detail-tab", args=[project, "images", name, "configuration"]))
    assert "can no longer be changed" in locked.content.decode()


def test_a_viewer_sees_the_spec_but_may_not_edit_it(project, cast, login, sim, unique, db):
    name = unique("up")
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}})
    wait_for_phase(sim, "virtualimages", project, name, "WaitForUserUpload")
    client = login(cast.viewer)
    page = client.get(reverse("virtualization:detail-tab", args=[project, "images", name, "configuration"]))
    assert "You may not change this image" in page.content.decode()
    detail = client.get(reverse("virtualization:detail", args=[project, "images", name])).content.decode()
    assert "You may not upload" in detail


def test_an_unreachable_link_fails_with_the_reason_on_the_page(project, owner, sim, unique):
    name = unique("img")
    assert owner.post(create_url(project, "http"), {"name": name, "storage": "ContainerRegistry",
                                           "url": "http://127.0.0.1:9/disk.qcow2"}).status_code == 302
    wait_for_phase(sim, "virtualimages", project, name, "Failed")
    page = owner.get(reverse("virtualization:detail", args=[project, "images", name])).content.decode()
    assert "dial tcp 127.0.0.1:9: connect: connection refused" in page


def test_an_upload_disk_offers_the_upload_on_its_page(project, owner, sim, unique):
    name = unique("vd")
    assert owner.post(reverse("virtualization:disk-create", args=[project]),
                      {"name": name, "source": "upload"}).status_code == 302
    disk = wait_for_phase(sim, "virtualdisks", project, name, "WaitForUserUpload")
    page = owner.get(reverse("virtualization:detail", args=[project, "disks", name])).content.decode()
    assert f'data-upload-socket="/ws/projects/{project}/disks/{name}/upload/"' in page
    assert disk["status"]["imageUploadURLs"]["external"] in page
