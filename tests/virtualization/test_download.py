"""Download of a disk or disk snapshot (virtualization/downloads.py): a DataExport made as the user and a page
following it at once (no request waits), Cancel, failures in words, then the volume streamed through the console
from that export's own exporter only, the DataExport gone afterwards."""
import re
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from prometheus_client import REGISTRY

from portal.kube import Forbidden
from portal.kube.download import exporter_url
from tests.kube import blank_disk, create_dvp, custom, get_dvp, wait_for, wait_for_phase
from virtualization import downloads

MiB = 1024**2


@pytest.fixture(scope="module")
def small_disk(sim, project):
    create_dvp(sim, "virtualdisks", project, blank_disk("dl-disk", size="16Mi"))
    wait_for_phase(sim, "virtualdisks", project, "dl-disk", "Ready")
    create_dvp(sim, "virtualdisksnapshots", project, {"metadata": {"name": "dl-snap"}, "spec": {
        "virtualDiskName": "dl-disk", "requiredConsistency": False}})
    wait_for_phase(sim, "virtualdisksnapshots", project, "dl-snap", "Ready")
    return "dl-disk"


def exports(sim, project):
    return custom(sim).list_namespaced_custom_object("storage.deckhouse.io", "v1alpha1", project, "dataexports")["items"]


def collect(response, limit=None):
    """The streamed body (at most `limit` bytes, then the stream is closed as a browser's cancel closes it)."""
    async def read():
        body = bytearray()
        stream = response.streaming_content
        try:
            async for chunk in stream:
                body += chunk
                if limit is not None and len(body) >= limit:
                    break
        finally:
            await stream.aclose()
        return bytes(body)
    return async_to_sync(read)()


def download_url(project, slug, name):
    return reverse(f"virtualization:{slug[:-1]}-download", args=[project, name])


def no_exports_left(sim, project):
    wait_for(lambda: exports(sim, project) == [], timeout=10)
    return True


@pytest.fixture
def no_sleep(monkeypatch):
    """No request of the console sleeps: time.sleep fails the test while this fixture holds."""
    def forbidden(seconds):
        raise AssertionError(f"a request slept {seconds} s")
    monkeypatch.setattr(time, "sleep", forbidden)


def start(client, project, slug, name):
    """POST Download: the answer is a redirect to the export's page at once; (that page's URL, the export's name)."""
    response = client.post(download_url(project, slug, name))
    assert response.status_code == 302, response.content[:300]
    url = response["Location"]
    prefix = reverse(f"virtualization:{slug[:-1]}-download", args=[project, name])
    assert url.startswith(prefix), url
    return url, url[len(prefix):].strip("/")


def status(client, url):
    """The status partial of an export's page, as htmx asks for it: (state, html)."""
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    return re.search(r'id="download-status" data-state="(\w+)"', html).group(1), html


def follow(client, url, until=("ready", "failed", "gone")):
    """Ask the status partial as the page does (every so often) until the export is in one of `until` states."""
    deadline = time.monotonic() + 15
    while True:
        state, html = status(client, url)
        if state in until or time.monotonic() > deadline:
            return state, html
        threading.Event().wait(0.2)  # the test's own pause (`no_sleep` forbids time.sleep)


def data(client, url):
    return client.post(url + "data/")


def test_it_downloads_a_small_disk_with_its_bytes_and_size(owner, sim, project, small_disk, no_sleep):
    page = owner.get(reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    assert f'action="{download_url(project, "disks", small_disk)}"' in page
    url, export = start(owner, project, "disks", small_disk)
    assert export.startswith(f"de-vd-{small_disk}-")
    [made] = exports(sim, project)  # made as the owner when the POST answered, Ready or not yet
    assert made["metadata"]["name"] == export
    assert made["spec"]["targetRef"] == {"kind": "VirtualDisk", "name": small_disk}
    state, html = follow(owner, url)
    assert state == "ready" and 'hx-trigger="every 1s"' in html and f'data-download-start="{export}"' in html
    response = data(owner, url)
    assert response.status_code == 200
    assert response["Content-Length"] == str(16 * MiB)
    assert response["Content-Disposition"] == f'attachment; filename="{small_disk}.img"'
    assert get_dvp(sim, "virtualdisks", project, small_disk)["status"]["phase"] == "Exporting"
    # While the data streams, the page says so and offers no second start.
    state, html = status(owner, url)
    assert state == "ready" and "The data is on its way" in html and "data-download-start" not in html
    body = collect(response)
    assert len(body) == 16 * MiB and body == bytes(16 * MiB)  # dvpsim's volumes read as zeros
    assert no_exports_left(sim, project)
    wait_for_phase(sim, "virtualdisks", project, small_disk, "Ready")
    assert "dataexport" not in response.serialize_headers().decode().lower()  # no cluster URL to the browser
    state, html = status(owner, url)
    assert state == "gone" and "the data was sent" in html and "hx-trigger" not in html


def test_it_downloads_a_disk_snapshot(owner, sim, project, small_disk):
    url, export = start(owner, project, "disk-snapshots", "dl-snap")
    assert export.startswith("de-vds-dl-snap-")
    assert follow(owner, url)[0] == "ready"
    response = data(owner, url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dl-snap.img"'
    body = collect(response)
    assert len(body) == int(response["Content-Length"]) == 16 * MiB
    assert no_exports_left(sim, project)


def test_it_shows_the_following_page_with_cancel_and_the_script(owner, sim, project, small_disk):
    url, export = start(owner, project, "disks", small_disk)
    page = owner.get(url).content.decode()
    assert f"Download the disk {small_disk}" in page and f"DataExport {export}" in page
    assert f'hx-get="{url}" hx-trigger="every 1s"' in page
    assert f'<form method="post" action="{url}cancel/">' in page and ">Cancel</button>" in page
    assert "js/download" in page and "/dvpsim/" not in page  # no exporter address on the page
    detail = owner.get(reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    assert f'<a href="{url}">{export}</a>' in detail  # the disk's page leads back to a download under way
    owner.post(url + "cancel/")
    assert no_exports_left(sim, project)


def test_it_cancels_on_the_page_by_deleting_the_export(owner, sim, project, small_disk):
    url, export = start(owner, project, "disks", small_disk)
    response = owner.post(url + "cancel/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("virtualization:detail", args=[project, "disks", small_disk])
    assert f"The download of {small_disk} was cancelled." in response.content.decode()
    assert no_exports_left(sim, project)
    state, html = status(owner, url)
    assert state == "gone" and "was cancelled or is over" in html
    response = data(owner, url)  # the data of a cancelled export: back to its page, nothing streamed
    assert response.status_code == 302 and response["Location"] == url


def test_it_deletes_the_export_when_the_browser_cancels(owner, sim, project, small_disk):
    url, _ = start(owner, project, "disks", small_disk)
    assert follow(owner, url)[0] == "ready"
    response = data(owner, url)
    assert len(collect(response, limit=2 * MiB)) < 16 * MiB
    assert no_exports_left(sim, project)
    wait_for_phase(sim, "virtualdisks", project, small_disk, "Ready")


def test_it_says_why_the_exporter_refused_a_disk_a_running_vm_uses(owner, running_vm, sim, project):
    running_vm("dl-vm", "dl-vm-root")
    detail = reverse("virtualization:detail", args=[project, "disks", "dl-vm-root"])
    page = owner.get(detail).content.decode()
    assert "used by the running VM dl-vm" in page
    assert f'action="{download_url(project, "disks", "dl-vm-root")}"' not in page
    # Posted anyway: the exporter refuses (TargetInUse); the page says why and nothing is left behind.
    url, _ = start(owner, project, "disks", "dl-vm-root")
    state, html = follow(owner, url)
    assert state == "failed" and "hx-trigger" not in html
    assert "The download of dl-vm-root did not start: The exporter refused:" in html and "in use by the running" in html
    assert no_exports_left(sim, project)
    assert "in use by the running" in owner.get(url).content.decode()  # the page, reloaded, still says why


def test_it_gives_up_on_an_export_not_ready_in_time(owner, running_vm, sim, project, monkeypatch):
    running_vm("dl-vm-2", "dl-vm-2-root")
    monkeypatch.setattr(downloads, "REFUSALS", set())  # the exporter's refusal taken as a wait that never ends
    monkeypatch.setattr(downloads, "READY_SECONDS", 0.5)
    url, _ = start(owner, project, "disks", "dl-vm-2-root")
    state, html = follow(owner, url)
    assert state == "failed" and "The export was not ready within 0 s: " in html and "in use by the running" in html
    assert no_exports_left(sim, project)


def test_it_refuses_a_viewer_by_the_apis_word(viewer, cast, sim, project, small_disk):
    page = viewer.get(reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    assert "needs create on dataexports" in page
    response = viewer.post(download_url(project, "disks", small_disk))
    assert response.status_code == 422  # the download's page says it, with no export to follow
    html = response.content.decode()
    assert re.search(r'id="download-status" data-state="failed"', html) and "hx-trigger" not in html
    assert "did not start: the API refused the export: " in html
    assert f"User &quot;{cast.viewer}&quot; cannot create" in html
    assert exports(sim, project) == []


def test_it_answers_404_for_an_export_of_another_object(owner, sim, project, small_disk):
    url, export = start(owner, project, "disks", small_disk)
    other = reverse("virtualization:disk-download-follow", args=[project, small_disk, "de-vd-other-123456"])
    assert owner.get(other).status_code == 404
    # The export's name under the snapshot's pages: its targetRef is the disk, not the snapshot.
    renamed = reverse("virtualization:disk-snapshot-download-follow", args=[project, small_disk, export])
    assert owner.get(renamed).status_code == 404
    owner.post(url + "cancel/")
    assert no_exports_left(sim, project)


def exporter_reads():
    """How many requests the console made to exporters (HEAD and GET), from its own metrics."""
    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "dvp_kube_api_requests"
               for sample in metric.samples if sample.name.endswith("_total")
               and sample.labels.get("verb") in ("download-head", "download"))


def test_it_refuses_an_exporter_url_other_than_the_exports_own(owner, sim, project, small_disk, settings):
    # The console now expects the exporter elsewhere: what dvpsim reports is, to it, a forged address.
    settings.DVP_DATA_EXPORT_URL = f"{sim.url}/elsewhere/{{namespace}}/{{name}}"
    reads = exporter_reads()
    url, _ = start(owner, project, "disks", small_disk)
    state, html = follow(owner, url)
    assert state == "failed" and "not the one of its own service" in html
    assert data(owner, url)["Location"] == url  # no data either
    assert exporter_reads() == reads  # neither the reported URL nor any other was requested
    assert no_exports_left(sim, project)


@pytest.mark.parametrize("forged", [
    "http://127.0.0.1:9/dvpsim/dataexport/p/de",                    # another port
    "http://evil.example/dvpsim/dataexport/p/de",                   # another host
    "http://127.0.0.1:6445@evil.example/dvpsim/dataexport/p/de",    # user-info trick
    "https://127.0.0.1:6445/dvpsim/dataexport/p/de",                # another scheme
    "http://127.0.0.1:6445/dvpsim/dataexport/p/other",              # another export
    "http://127.0.0.1:6445/dvpsim/dataexport/q/de",                 # another namespace
    "http://127.0.0.1:6445/dvpsim/dataexport/p/de/../../x",         # a path out of it
    "http://127.0.0.1:6445/dvpsim/dataexport/p/de?next=http://evil.example",
    "", None,
])
def test_it_refuses_forged_exporter_urls(forged, settings):
    settings.DVP_DATA_EXPORT_URL = "http://127.0.0.1:6445/dvpsim/dataexport/{namespace}/{name}"
    with pytest.raises(Forbidden):
        exporter_url(forged, "p", "de")
    assert exporter_url("http://127.0.0.1:6445/dvpsim/dataexport/p/de/", "p", "de") == \
        "http://127.0.0.1:6445/dvpsim/dataexport/p/de"


def test_it_downloads_nothing_without_a_known_exporter(owner, sim, project, small_disk, settings):
    settings.DVP_DATA_EXPORT_URL = None
    assert "Downloads are off" in owner.get(
        reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    response = owner.post(download_url(project, "disks", small_disk))
    assert response.status_code == 302 and exports(sim, project) == []


def test_it_says_an_export_failed_and_removes_it(owner, sim, project, small_disk):
    url, export = start(owner, project, "disks", small_disk)
    assert follow(owner, url)[0] == "ready"
    # The exporter gives up (a real cluster's phase Failed; dvpsim's exporter never does by itself).
    custom(sim).patch_namespaced_custom_object_status("storage.deckhouse.io", "v1alpha1", project, "dataexports",
                                                      export, {"status": {"phase": "Failed"}})
    state, html = status(owner, url)
    assert state == "failed" and f"The download of {small_disk} did not start: The export failed: " in html
    assert no_exports_left(sim, project)
    assert data(owner, url)["Location"] == url  # nothing to stream
