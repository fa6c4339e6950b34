"""Download of a disk from its page (virtualization/downloads.py), in Chromium as alice on the demo's project-a:
Download opens the export's page, which follows it and starts the browser's download once it is Ready; the file
arrives through the console with the disk's size, and the DataExport it needed is gone afterwards (also when the
browser's download or the page's Cancel stops it)."""
import time

import pytest
from kubernetes import client
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"
PROJECT = "project-a"
MiB = 1024**2


def make_disk(sim, name, size):
    api = client.CustomObjectsApi(sim.api("admin"))
    api.create_namespaced_custom_object(GROUP, VERSION, PROJECT, "virtualdisks", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualDisk", "metadata": {"name": name},
        "spec": {"persistentVolumeClaim": {"size": size}}})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        disk = api.get_namespaced_custom_object(GROUP, VERSION, PROJECT, "virtualdisks", name)
        if (disk.get("status") or {}).get("phase") == "Ready":
            return
        time.sleep(0.2)
    raise AssertionError(f"disk {name} not Ready")


def exports(sim):
    return client.CustomObjectsApi(sim.api("admin")).list_namespaced_custom_object(
        "storage.deckhouse.io", "v1alpha1", PROJECT, "dataexports")["items"]


def wait_no_exports(sim, timeout=15):
    deadline = time.monotonic() + timeout
    while exports(sim) and time.monotonic() < deadline:
        time.sleep(0.2)
    return exports(sim)


def test_it_downloads_a_disk_from_its_page(log_in, sim, tmp_path):
    make_disk(sim, "e2e-download", "24Mi")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/disks/e2e-download/")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
        expect(page.get_by_role("heading", name="Download the disk e2e-download")).to_be_visible()
    download = info.value
    assert download.suggested_filename == "e2e-download.img"
    assert "dataexport" not in download.url and "/dvpsim/" not in download.url
    assert "/disks/e2e-download/download/de-vd-e2e-download-" in page.url  # the page stays, following the export
    target = tmp_path / "e2e-download.img"
    download.save_as(target)
    assert download.failure() is None
    data = target.read_bytes()
    assert len(data) == 24 * MiB and data.count(0) == len(data)
    assert wait_no_exports(sim) == []
    expect(page.locator("#download-status")).to_contain_text("the data was sent")
    page.goto(f"/projects/{PROJECT}/disks/e2e-download/")
    expect(page.locator("#status [data-phase]").first).to_have_attribute("data-phase", "Ready")


def test_it_ends_the_export_when_the_download_is_cancelled(log_in, sim):
    make_disk(sim, "e2e-download-big", "4Gi")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/disks/e2e-download-big/")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    download = info.value
    download.cancel()
    assert download.failure() == "canceled"
    assert wait_no_exports(sim) == []


def test_it_cancels_on_the_export_page(log_in, sim):
    make_disk(sim, "e2e-download-cancel", "4Gi")
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/disks/e2e-download-cancel/")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    download = info.value
    expect(page.locator("#download-status")).to_contain_text("The data is on its way")
    assert len(exports(sim)) == 1
    page.locator("#download-status").get_by_role("button", name="Cancel").click()
    expect(page.locator("#messages")).to_contain_text("The download of e2e-download-cancel was cancelled.")
    assert page.url.endswith(f"/projects/{PROJECT}/disks/e2e-download-cancel/")
    download.cancel()
    assert wait_no_exports(sim) == []


def test_it_offers_no_download_of_a_running_vms_disk(log_in, sim):
    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/disks/")
    # The demo's running VM boots from its disk: find that disk from the VM's page.
    api = client.CustomObjectsApi(sim.api("admin"))
    vm = next(v for v in api.list_namespaced_custom_object(GROUP, VERSION, PROJECT, "virtualmachines")["items"]
              if (v.get("status") or {}).get("phase") == "Running")
    disk = next(ref["name"] for ref in vm["spec"]["blockDeviceRefs"] if ref["kind"] == "VirtualDisk")
    page.goto(f"/projects/{PROJECT}/disks/{disk}/")
    button = page.get_by_role("button", name="Download")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", f"The disk is used by the running VM {vm['metadata']['name']}: "
                                              "stop it to download the disk.")
