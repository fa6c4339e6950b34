"""VM Disks: sizes against the image, from a snapshot, resize (pencil and Configuration tab), storage class change."""
import time


from django.urls import reverse

from tests.kube import create_dvp, custom, get_dvp, sample_url, wait_for_phase, GROUP, VERSION


def ready_image(project, sim, name):
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {
            "url": sample_url(sim, "alpine-virt.qcow2")}}}})
    return wait_for_phase(sim, "virtualimages", project, name, "Ready")


def ready_disk(project, sim, name, size="1Gi", storage_class=None, phase="Ready"):
    pvc = {"size": size, **({"storageClassName": storage_class} if storage_class else {})}
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": name}, "spec": {"persistentVolumeClaim": pvc}})
    return wait_for_phase(sim, "virtualdisks", project, name, phase)


def test_it_refuses_a_size_below_the_image_with_the_image_size(project, owner, sim, unique):
    image = unique("img")
    ready_image(project, sim, image)  # 200Mi unpacked
    name = unique("vd")
    response = owner.post(reverse("virtualization:disk-create", args=[project]), {
        "name": name, "source": "project", "project_image": image, "size": "100Mi"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "at least as large as the unpacked image: 200Mi (209715200 bytes)" in page
    assert 'value="100Mi"' in page
    assert get_dvp(sim, "virtualdisks", project, name) is None
    assert owner.post(reverse("virtualization:disk-create", args=[project]), {
        "name": name, "source": "project", "project_image": image, "size": ""}).status_code == 302
    assert wait_for_phase(sim, "virtualdisks", project, name, "Ready")["status"]["capacity"] == "200Mi"


def test_it_restores_a_disk_from_a_snapshot(project, owner, sim, unique):
    source, snap, name = unique("src"), unique("snap"), unique("vd")
    ready_disk(project, sim, source, "2Gi")
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, project, "virtualdisksnapshots", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualDiskSnapshot", "metadata": {"name": snap},
        "spec": {"virtualDiskName": source}})
    wait_for_phase(sim, "virtualdisksnapshots", project, snap, "Ready")
    form = owner.get(reverse("virtualization:disk-create", args=[project])).content.decode()
    assert snap in form
    assert 'value="snapshot"' in form and "> Snapshots</label>" in form  # the guide's "Snapshots" checkbox
    response = owner.post(reverse("virtualization:disk-create", args=[project]), {
        "name": name, "source": "snapshot", "snapshot": snap})
    assert response.status_code == 302
    disk = wait_for_phase(sim, "virtualdisks", project, name, "Ready")
    assert disk["spec"]["dataSource"]["objectRef"] == {"kind": "VirtualDiskSnapshot", "name": snap}
    assert disk["status"]["capacity"] == "2Gi"


def test_the_capacity_column_has_a_pencil_that_grows_the_disk(project, owner, sim, unique):
    name = unique("vd")
    ready_disk(project, sim, name)
    listing = owner.get(reverse("virtualization:list", args=[project, "disks"])).content.decode()
    resize_url = reverse("virtualization:disk-resize", args=[project, name])
    assert f'aria-label="Change Size of {name}"' in listing
    assert resize_url in listing
    # The guide's headers: the pencil "in the "Size" column", the status "in the "Status" column".
    assert ">Size</a></th>" in listing and ">Status</a></th>" in listing
    assert ">Capacity</a></th>" not in listing and ">Phase</a></th>" not in listing
    dialog = owner.get(resize_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Current size: <strong>1Gi</strong>" in dialog
    assert '<label for="id_size">Size' in dialog and '<button type="submit">Apply</button>' in dialog

    shrink = owner.post(resize_url, {"size": "512Mi"}, HTTP_HX_REQUEST="true")
    assert shrink.status_code == 422
    assert "Disks can only grow: give more than the current 1Gi." in shrink.content.decode()
    assert 'value="512Mi"' in shrink.content.decode()

    grown = owner.post(resize_url, {"size": "3Gi", "next": reverse("virtualization:list", args=[project, "disks"])},
                       HTTP_HX_REQUEST="true")
    assert grown.status_code == 200
    assert grown["HX-Redirect"] == reverse("virtualization:list", args=[project, "disks"])
    for _ in range(100):
        disk = get_dvp(sim, "virtualdisks", project, name)
        if disk["status"].get("capacity") == "3Gi":
            break
        time.sleep(0.1)
    assert disk["status"]["capacity"] == "3Gi"


def test_a_viewer_gets_no_pencil(project, cast, login, sim, unique, db):
    name = unique("vd")
    ready_disk(project, sim, name)
    listing = login(cast.viewer).get(reverse("virtualization:list", args=[project, "disks"])).content.decode()
    assert name in listing
    assert "Change Size" not in listing


def test_the_configuration_tab_resizes_and_changes_the_storage_class_of_a_mounted_disk(project, running_vm, owner, sim, unique):
    vm, disk = unique("vm"), unique("root")
    running_vm(vm, disk)
    tab = owner.get(reverse("virtualization:detail-tab", args=[project, "disks", disk, "configuration"]))
    page = tab.content.decode()
    assert "Change StorageClass" in page and "Enterprise Edition" in page
    # The guide's Method #2: the "Size" field and the "Save" button that appears once it is changed.
    assert 'data-save-appears' in page and '<label for="id_size">Size' in page
    assert '<div class="form-actions" data-appears-on-change><button type="submit">Save</button></div>' in page
    response = owner.post(reverse("virtualization:disks-configuration-storage-class", args=[project, disk]),
                          {"storage_class": "i-sds-replicated-thin-r2"})
    assert response.status_code == 302
    migrated = None
    for _ in range(200):
        migrated = get_dvp(sim, "virtualdisks", project, disk)
        if (migrated["status"].get("migrationState") or {}).get("result") == "Succeeded":
            break
        time.sleep(0.1)
    assert migrated["status"]["storageClassName"] == "i-sds-replicated-thin-r2"
    assert migrated["status"]["phase"] == "Ready"
    after = owner.get(reverse("virtualization:detail-tab", args=[project, "disks", disk, "configuration"]))
    assert "Succeeded" in after.content.decode()


def test_a_storage_class_change_of_a_free_disk_waits_for_a_running_vm(project, owner, sim, unique):
    name = unique("vd")
    ready_disk(project, sim, name)
    owner.post(reverse("virtualization:disks-configuration-storage-class", args=[project, name]),
               {"storage_class": "i-sds-replicated-thin-r2"})
    for _ in range(100):
        disk = get_dvp(sim, "virtualdisks", project, name)
        migrating = [c for c in disk["status"].get("conditions", []) if c["type"] == "Migrating"]
        if migrating:
            break
        time.sleep(0.1)
    assert "starts when a running virtual machine mounts the disk" in migrating[0]["message"]
    page = owner.get(reverse("virtualization:detail", args=[project, "disks", name])).content.decode()
    assert "starts when a running virtual machine mounts the disk" in page


def test_a_wait_for_first_consumer_disk_is_explained_and_offered_to_a_vm(project, owner, sim, unique):
    name = unique("vd")
    ready_disk(project, sim, name, storage_class="sds-replicated-thin-r1", phase="WaitForFirstConsumer")
    page = owner.get(reverse("virtualization:detail", args=[project, "disks", name])).content.decode()
    assert "creates the volume only when a VM using this disk is scheduled" in page
    vm_form = owner.get(reverse("virtualization:vm-create", args=[project])).content.decode()
    assert name in vm_form
    create_form = owner.get(reverse("virtualization:disk-create", args=[project])).content.decode()
    assert "sds-replicated-thin-r1 · WaitForFirstConsumer" in create_form
    assert "i-sds-replicated-thin-r1 (default)" in create_form
