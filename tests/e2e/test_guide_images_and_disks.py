"""The guide's web procedures for images, disks and disk snapshots, followed word for word in the browser and
checked with kubectl: the images "from an HTTP server", "and store it in PVC", "from Container Registry", "from a
disk", "How to upload an image ... in the web interface" (the file chosen before Create), "How to create an empty
disk in the web interface" and "How to create a disk image in the web interface" (a disk snapshot, started from
"Disk Images"). The other disk procedures are in test_guide_disks.py.

The guide's links are external (cloud-images.ubuntu.com, docker.io/<username>/...): the tests give dvpsim's sample
of the same file (its HTTP server and its registry), and keep every label, choice and name of the guide. The module
works in a project of its own, where the guide's names (ubuntu-22-04, linux-vm-root) are free."""
import json
import re

import pytest
from playwright.sync_api import expect

from dvpsim.samples import qcow2
from tests.e2e.steps import open_project, open_section
from tests.kube import blank_disk, create_dvp, sample_url, wait_for_phase
from tests.kubectl import kubectl

pytestmark = pytest.mark.browser
MiB = 1024**2


def get_json(sim, project, kind, name):
    return json.loads(kubectl(sim, "-n", project, "get", kind, name, "-o", "json").stdout)


def create_image_from(page, project, source):
    """The first steps every "How to create an image ... in the web interface" shares."""
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Disk Images" section.
    open_section(page, "Disk Images")
    # Click "Create Image". Select "<source>" from the list.
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name=source, exact=True).click()


def expect_status_under_the_name(page, project, name, phase="Ready"):
    # The image status is displayed at the top left, under the image name.
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(f"/projects/{project}/images/{name}/$"))
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", phase,
                                                                                 timeout=60000)


def test_it_creates_an_image_from_an_http_server_as_the_guide_says(log_in, sim, project):
    page = log_in("alice")
    create_image_from(page, project, "Load data from link (HTTP)")
    # In the form that opens, enter the image name in the "Image name" field.
    page.get_by_label("Image name").fill("ubuntu-22-04")
    # Select `ContainerRegistry` in the "Storage" field.
    page.get_by_role("group", name="Storage").get_by_label("ContainerRegistry").check()
    # Specify the link to the image in the "URL" field.
    page.get_by_label("URL", exact=True).fill(sample_url(sim))
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect_status_under_the_name(page, project, "ubuntu-22-04")

    image = get_json(sim, project, "virtualimage", "ubuntu-22-04")
    assert image["spec"] == {"storage": "ContainerRegistry", "dataSource": {"type": "HTTP",
                                                                             "http": {"url": sample_url(sim)}}}
    assert re.search(r"ubuntu-22-04\s+Ready\s+false\s+100%", kubectl(sim, "-n", project, "get", "vi",
                                                                  "ubuntu-22-04").stdout)


def test_it_creates_an_image_stored_in_a_pvc_as_the_guide_says(log_in, sim, project):
    page = log_in("alice")
    create_image_from(page, project, "Load data from link (HTTP)")
    # In the form that opens, enter the image name in the "mage name" field (the guide's typo of "Image name").
    page.get_by_label("Image name").fill("ubuntu-22-04-pvc")
    # In the "Storage" field, select `PersistentVolumeClaim`.
    page.get_by_role("group", name="Storage").get_by_label("PersistentVolumeClaim").check()
    # In the "Storage class" field, you can select StorageClass or leave the default selection: the guide's
    # example substitutes i-sds-replicated-thin-r2.
    storage_class = page.get_by_label("Storage class", exact=True)
    expect(storage_class).to_be_visible()
    expect(storage_class).to_have_value("")
    storage_class.select_option("i-sds-replicated-thin-r2")
    # In the URL field, specify the link to the image.
    page.get_by_label("URL", exact=True).fill(sample_url(sim))
    # Click the Create button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect_status_under_the_name(page, project, "ubuntu-22-04-pvc")

    image = get_json(sim, project, "virtualimage", "ubuntu-22-04-pvc")
    assert image["spec"]["storage"] == "PersistentVolumeClaim"
    assert image["spec"]["persistentVolumeClaim"] == {"storageClassName": "i-sds-replicated-thin-r2"}
    assert image["spec"]["dataSource"] == {"type": "HTTP", "http": {"url": sample_url(sim)}}
    assert image["status"]["storageClassName"] == "i-sds-replicated-thin-r2"


def test_it_creates_an_image_from_container_registry_as_the_guide_says(log_in, sim, project):
    # The guide's docker.io/<username>/ubuntu2204:latest, as dvpsim's registry holds the same cloud image.
    reference = sim.url.split("://", 1)[1] + "/samples/noble-server-cloudimg-amd64:latest"
    page = log_in("alice")
    create_image_from(page, project, "Upload data from container image")
    # In the form that opens, enter the image name in the "Image Name" field.
    page.get_by_label("Image Name").fill("ubuntu-2204")
    # In the "Storage" field, select `ContainerRegistry`.
    page.get_by_role("group", name="Storage").get_by_label("ContainerRegistry").check()
    # In the "Image in Container Registry" field, specify `docker.io/<username>/ubuntu2204:latest`.
    page.get_by_label("Image in Container Registry").fill(reference)
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect_status_under_the_name(page, project, "ubuntu-2204")

    image = get_json(sim, project, "virtualimage", "ubuntu-2204")
    assert image["spec"] == {"storage": "ContainerRegistry",
                             "dataSource": {"type": "ContainerImage", "containerImage": {"image": reference}}}
    assert image["status"]["format"] == "qcow2"


def test_it_creates_an_image_from_a_disk_as_the_guide_says(log_in, sim, project):
    # The disk is not attached to any virtual machine (the first of the guide's two conditions).
    create_dvp(sim, "virtualdisks", project, blank_disk("linux-vm-root"))
    wait_for_phase(sim, "virtualdisks", project, "linux-vm-root", "Ready")
    page = log_in("alice")
    create_image_from(page, project, "Write data from disk")
    # In the form that opens, enter `linux-vm-root` in the "Image Name" field.
    page.get_by_label("Image Name").fill("linux-vm-root")
    # In the "Storage" field, select `ContainerRegistry`.
    page.get_by_role("group", name="Storage").get_by_label("ContainerRegistry").check()
    # In the "Disk" field, select the desired disk from the drop-down list.
    page.get_by_label("Disk", exact=True).select_option("linux-vm-root")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    # The image status is displayed at the top left, under its name.
    expect_status_under_the_name(page, project, "linux-vm-root")

    image = get_json(sim, project, "virtualimage", "linux-vm-root")
    assert image["spec"] == {"storage": "ContainerRegistry", "dataSource": {
        "type": "ObjectRef", "objectRef": {"kind": "VirtualDisk", "name": "linux-vm-root"}}}
    assert image["status"]["size"]["unpacked"] == "1Gi"


def test_it_uploads_an_image_from_the_computer_as_the_guide_says(log_in, sim, project, tmp_path):
    image_file = tmp_path / "some-image.qcow2"
    image_file.write_bytes(qcow2(256 * MiB, 6 * MiB, seed=11))
    page = log_in("alice")
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" -> "Disk Images" section.
    open_section(page, "Disk Images")
    # Click "Create Image" then select "Upload from computer" from the drop-down menu.
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Upload from computer").click()
    # Enter the image name in the "Image Name" field.
    page.get_by_label("Image Name").fill("some-image")
    # In the "Upload File" field, click the "Choose a file from your computer" link; select the file.
    with page.expect_file_chooser() as chooser:
        page.get_by_role("link", name="Choose a file from your computer").click()
    chooser.value.set_files(str(image_file))
    expect(page.get_by_label("Upload File")).to_have_count(1)
    expect(page.locator("[data-upload-pick-name]")).to_have_text("some-image.qcow2")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="some-image", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(f"/projects/{project}/images/some-image/$"))
    bar = page.get_by_role("progressbar", name="Upload progress")
    expect(bar).to_be_visible()
    expect(page.locator("[data-upload-text]")).to_contain_text("Uploaded 6.0 MiB", timeout=60000)
    # Wait until the image changes to `Ready` status.
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)

    image = get_json(sim, project, "virtualimage", "some-image")
    assert image["spec"]["dataSource"] == {"type": "Upload"} and image["status"]["phase"] == "Ready"
    assert image["status"]["size"]["unpacked"] == "256Mi"


def test_it_keeps_the_chosen_file_when_the_create_is_refused(log_in, sim, project, tmp_path):
    image_file = tmp_path / "kept.qcow2"
    image_file.write_bytes(qcow2(64 * MiB, 1 * MiB, seed=12))
    page = log_in("alice")
    page.goto(f"/projects/{project}/images/_new/upload/")
    page.get_by_label("Image Name").fill("Not A Name")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("link", name="Choose a file from your computer").click()
    chooser.value.set_files(str(image_file))
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#id_name-error, .error").first).to_be_visible()
    expect(page.get_by_label("Image Name")).to_have_value("Not A Name")
    expect(page.locator("[data-upload-pick-name]")).to_have_text("kept.qcow2")
    page.get_by_label("Image Name").fill("kept-image")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("[data-upload-text]")).to_contain_text("Uploaded 1.0 MiB", timeout=60000)
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)
    assert get_json(sim, project, "virtualimage", "kept-image")["status"]["size"]["unpacked"] == "64Mi"


def test_it_creates_an_empty_disk_as_the_guide_says(log_in, sim, project):
    page = log_in("alice")
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "VM Disks" section. Click "Create Disk".
    open_section(page, "VM Disks")
    page.get_by_role("button", name="Create Disk", exact=True).click()
    # In the form that opens, enter `blank-disk` in the "Disk Name" field.
    page.get_by_label("Disk Name").fill("blank-disk")
    # In the "Size" field, set the size with the measurement units `100Mi`.
    page.get_by_label("Size", exact=True).fill("100Mi")
    # In the "StorageClass Name" field, you can select a StorageClass or leave the default selection.
    expect(page.get_by_label("StorageClass Name")).to_have_value("")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    # The disk status is displayed at the top left, under the disk name.
    expect(page.get_by_role("heading", name="blank-disk", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)

    disk = get_json(sim, project, "virtualdisk", "blank-disk")
    assert "dataSource" not in disk["spec"] and disk["spec"]["persistentVolumeClaim"]["size"] == "100Mi"
    assert disk["status"]["capacity"] == "100Mi"
    assert "blank-disk   Ready   100Mi" in kubectl(sim, "-n", project, "get", "vd", "blank-disk").stdout


def test_it_creates_a_disk_snapshot_from_disk_images_as_the_guide_says(log_in, sim, project):
    create_dvp(sim, "virtualdisks", project, blank_disk("snapshot-source-disk"))
    wait_for_phase(sim, "virtualdisks", project, "snapshot-source-disk", "Ready")
    page = log_in("alice")
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Virtualization" → "Disk Images" section. Click "Create Disk Snapshot".
    open_section(page, "Disk Images")
    page.get_by_role("button", name="Create Disk Snapshot").click()
    # In the "Disk Snapshot Name" field, enter a name for the snapshot.
    page.get_by_label("Disk Snapshot Name").fill("snapshot-source-disk-1")
    # On the "Configuration" tab, in the "Disk Name" field, select the disk from which the snapshot will be created.
    page.get_by_label("Disk Name").select_option("snapshot-source-disk")
    # Enable the "Consistency Guarantee" switch.
    page.get_by_role("switch", name="Consistency Guarantee").check()
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    # The image status is displayed at the top left, under the snapshot name.
    expect(page.get_by_role("heading", name="snapshot-source-disk-1", exact=True)).to_be_visible()
    expect(page.locator(".detail-title #status [data-phase]")).to_have_attribute("data-phase", "Ready",
                                                                                 timeout=60000)

    snapshot = get_json(sim, project, "virtualdisksnapshot", "snapshot-source-disk-1")
    assert snapshot["spec"] == {"virtualDiskName": "snapshot-source-disk", "requiredConsistency": True}


def test_it_uploads_a_cluster_image_from_the_computer_as_the_admin_guide_says(log_in, sim, tmp_path):
    image_file = tmp_path / "cluster-image.qcow2"
    image_file.write_bytes(qcow2(128 * MiB, 2 * MiB, seed=13))
    page = log_in("operator")
    # Go to the "System" tab, then to the "Virtualization" -> "Cluster Images" section.
    page.get_by_role("link", name="System", exact=True).click()
    page.get_by_role("navigation", name="System navigation").get_by_role("link", name="Cluster Images").click()
    # Click "Create Image", then select "Upload from Computer" from the drop-down menu.
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Upload from Computer").click()
    # Enter the image name in the "Image Name" field.
    page.get_by_label("Image Name").fill("some-cluster-image")
    # In the "Upload File" field, click the "Select a file on your computer" link; select the file.
    with page.expect_file_chooser() as chooser:
        page.get_by_role("link", name="Select a file on your computer").click()
    chooser.value.set_files(str(image_file))
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="some-cluster-image", exact=True)).to_be_visible()
    expect(page.locator("[data-upload-text]")).to_contain_text("Uploaded 2.0 MiB", timeout=60000)
    # Wait until the image changes to `Ready` status.
    page.reload()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=60000)
    image = json.loads(kubectl(sim, "get", "clustervirtualimage", "some-cluster-image", "-o", "json").stdout)
    assert image["spec"]["dataSource"] == {"type": "Upload"} and image["status"]["size"]["unpacked"] == "128Mi"
