"""Upload from computer with its progress bar, and the pencil that resizes a disk from the list (its refusals)."""
import uuid

import pytest
from playwright.sync_api import expect

from dvpsim.samples import qcow2
from tests.kube import create_dvp, wait_for_phase

pytestmark = pytest.mark.browser
MiB = 1024**2


def open_section(page, section):
    page.get_by_role("navigation", name="Project navigation").get_by_role("link", name=section).click()


def test_it_uploads_an_image_from_the_computer(log_in, tmp_path):
    name = f"upload-{uuid.uuid4().hex[:6]}"
    image_file = tmp_path / "small.qcow2"
    image_file.write_bytes(qcow2(256 * MiB, 6 * MiB, seed=9))
    page = log_in("alice")
    page.get_by_role("link", name="project-a").click()
    open_section(page, "Disk Images")
    page.get_by_text("Create Image").click()
    page.get_by_role("link", name="Upload from computer").click()
    expect(page.get_by_text("start within 10 minutes")).to_be_visible()
    page.get_by_label("Image Name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "WaitForUserUpload")
    expect(page.locator("#upload-command")).to_contain_text("curl -T image.qcow2 http")

    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Upload", exact=True).click()
    bar = page.get_by_role("progressbar", name="Upload progress")
    expect(bar).to_be_visible()
    expect(page.locator("[data-upload-text]")).to_contain_text("Uploaded 6.0 MiB", timeout=30000)
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#status [data-phase]")).to_have_attribute("data-phase", "Ready", timeout=30000)
    status = page.locator("#status")
    expect(status).to_contain_text("qcow2")
    expect(status).to_contain_text("256Mi")
    expect(status).to_contain_text("6Mi")


def test_it_resizes_a_disk_with_the_pencil_in_the_size_column(log_in, sim):
    name = f"grow-{uuid.uuid4().hex[:6]}"
    create_dvp(sim, "virtualdisks", "project-a", {"metadata": {"name": name},
                                                  "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    wait_for_phase(sim, "virtualdisks", "project-a", name, "Ready")
    page = log_in("alice")
    page.goto("/projects/project-a/disks/")
    row = page.locator(f"#row-{name}")
    expect(row.locator("[data-column=Capacity]")).to_contain_text("1Gi")
    row.get_by_role("link", name=f"Change Size of {name}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Current size: 1Gi")
    dialog.get_by_label("Size", exact=True).fill("512Mi")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_contain_text("Disks can only grow: give more than the current 1Gi.")
    dialog.get_by_label("Size", exact=True).fill("4Gi")
    dialog.get_by_role("button", name="Apply").click()
    expect(page.get_by_text(f"The disk {name} is being resized to 4Gi.")).to_be_visible()
    expect(page.locator(f"#row-{name} [data-column=Capacity]")).to_contain_text("4Gi", timeout=30000)
