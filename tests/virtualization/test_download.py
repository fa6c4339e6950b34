"""Download of a disk or disk snapshot (virtualization/downloads.py): a DataExport made as the user, the volume
streamed through the console from that export's own exporter only, the DataExport gone afterwards."""
import pytest
from asgiref.sync import async_to_sync
from django.contrib.messages import get_messages
from django.urls import reverse
from prometheus_client import REGISTRY

from portal.kube import Forbidden
from portal.kube.download import exporter_url
from tests.kube import blank_disk, create_dvp, custom, get_dvp, wait_for, wait_for_phase

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


def test_it_downloads_a_small_disk_with_its_bytes_and_size(owner, sim, project, small_disk):
    page = owner.get(reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    assert f'action="{download_url(project, "disks", small_disk)}"' in page
    response = owner.post(download_url(project, "disks", small_disk))
    assert response.status_code == 200
    assert response["Content-Length"] == str(16 * MiB)
    assert response["Content-Disposition"] == f'attachment; filename="{small_disk}.img"'
    # While the data streams, the export exists, made as the owner, and the disk is Exporting.
    [export] = exports(sim, project)
    assert export["metadata"]["name"].startswith(f"de-vd-{small_disk}-")
    assert export["spec"]["targetRef"] == {"kind": "VirtualDisk", "name": small_disk}
    assert get_dvp(sim, "virtualdisks", project, small_disk)["status"]["phase"] == "Exporting"
    body = collect(response)
    assert len(body) == 16 * MiB and body == bytes(16 * MiB)  # dvpsim's volumes read as zeros
    assert no_exports_left(sim, project)
    wait_for_phase(sim, "virtualdisks", project, small_disk, "Ready")
    assert "dataexport" not in response.serialize_headers().decode().lower()  # no cluster URL to the browser


def test_it_downloads_a_disk_snapshot(owner, sim, project, small_disk):
    response = owner.post(download_url(project, "disk-snapshots", "dl-snap"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dl-snap.img"'
    body = collect(response)
    assert len(body) == int(response["Content-Length"]) == 16 * MiB
    assert no_exports_left(sim, project)


def test_it_deletes_the_export_when_the_browser_cancels(owner, sim, project, small_disk):
    response = owner.post(download_url(project, "disks", small_disk))
    assert len(exports(sim, project)) == 1
    assert len(collect(response, limit=2 * MiB)) < 16 * MiB
    assert no_exports_left(sim, project)
    wait_for_phase(sim, "virtualdisks", project, small_disk, "Ready")


def test_it_refuses_a_disk_a_running_vm_uses(owner, running_vm, sim, project):
    running_vm("dl-vm", "dl-vm-root")
    detail = reverse("virtualization:detail", args=[project, "disks", "dl-vm-root"])
    page = owner.get(detail).content.decode()
    assert "used by the running VM dl-vm" in page
    assert f'action="{download_url(project, "disks", "dl-vm-root")}"' not in page
    # Posted anyway: the exporter refuses (TargetInUse), the console says why and leaves nothing behind.
    response = owner.post(download_url(project, "disks", "dl-vm-root"))
    assert response.status_code == 302 and response["Location"] == detail
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("The download of dl-vm-root was refused") and "in use by the running" in message
    assert no_exports_left(sim, project)


def test_it_refuses_a_viewer_by_the_apis_word(viewer, cast, sim, project, small_disk):
    page = viewer.get(reverse("virtualization:detail", args=[project, "disks", small_disk])).content.decode()
    assert "needs create on dataexports" in page
    response = viewer.post(download_url(project, "disks", small_disk))
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f'User "{cast.viewer}" cannot create' in message
    assert exports(sim, project) == []


def exporter_reads():
    """How many requests the console made to exporters (HEAD and GET), from its own metrics."""
    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "dvp_kube_api_requests"
               for sample in metric.samples if sample.name.endswith("_total")
               and sample.labels.get("verb") in ("download-head", "download"))


def test_it_refuses_an_exporter_url_other_than_the_exports_own(owner, sim, project, small_disk, settings):
    # The console now expects the exporter elsewhere: what dvpsim reports is, to it, a forged address.
    settings.DVP_DATA_EXPORT_URL = f"{sim.url}/elsewhere/{{namespace}}/{{name}}"
    reads = exporter_reads()
    response = owner.post(download_url(project, "disks", small_disk))
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "not the one of its own service" in message
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
