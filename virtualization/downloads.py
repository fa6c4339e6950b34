"""Download a disk or a disk snapshot: the guide's "Data export" (`d8 download`) from the browser.

"Download" posts to /projects/<p>/<disks|disk-snapshots>/<name>/download/. The console creates a
DataExport of the object as the user (`de-vd-<disk>-<suffix>`, `de-vds-<snapshot>-<suffix>`), waits
until it is Ready, checks that the exporter URL its status gives is the one of that export's own
service (portal.kube.download.exporter_url) and streams the volume from there to the browser as the
answer to the POST: the browser's download shows its progress (Content-Length) and may be cancelled.
The browser never sees the exporter's URL. The DataExport is deleted when the stream ends, however
it ends (done, cancelled by the browser, broken), and when the export is refused.
"""
import asyncio
import logging
import secrets
import time

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal import audit
from portal.kube import KubeError, NotFound, download, kinds
from projects.access import can, get_project, kube_for

from . import registry
from .generic.detail import get_object

log = logging.getLogger(__name__)

# As the d8 CLI names its exports; a suffix lets two downloads of one disk run side by side.
PREFIXES = {"disks": "de-vd-", "disk-snapshots": "de-vds-"}
TTL = "2m"  # the CLI's: the exporter stops after this long without a read
READY_SECONDS = 30.0
POLL_SECONDS = 0.25
# Ready=False reasons that will not change by waiting (storage-volume-data-manager's, as dvpsim gives them).
REFUSALS = {"TargetInUse", "TargetNotFound", "TargetNotReady", "UnsupportedTarget", "InvalidTTL", "Expired"}
RUNNING_PHASES = ("Starting", "Running", "Stopping", "Migrating", "Pause", "Degraded")


def _phase(obj):
    return (obj.get("status") or {}).get("phase") or "Pending"


def _running_vms(user, project, disk):
    """Names of the running VMs that use the disk (a running VM's disk is not exported: TargetInUse)."""
    names = [a.get("name") for a in (disk.get("status") or {}).get("attachedToVirtualMachines") or []]
    running = []
    kube = kube_for(user)
    for name in filter(None, names):
        try:
            vm = kube.get(kinds.VM, name, project.name)
        except NotFound:
            continue
        if _phase(vm) in RUNNING_PHASES:
            running.append(name)
    return running


def why_not(user, project, obj, resource):
    """Why this object cannot be downloaded now, in a sentence; "" when it can."""
    noun = resource.noun
    if not settings.DVP_DATA_EXPORT_URL:
        return "Downloads are off: the console does not know where this cluster's data exporter answers " \
               "(DVP_DATA_EXPORT_URL)."
    if not can(user, "create", kinds.DATA_EXPORT, project.name):
        return "You may not export data here (needs create on dataexports.storage.deckhouse.io)."
    if _phase(obj) not in ("Ready", "Exporting"):
        return f"Only a Ready {noun} can be downloaded; this one is {_phase(obj)}."
    if resource.slug == "disks":
        running = _running_vms(user, project, obj)
        if running:
            return f"The disk is used by the running VM {', '.join(running)}: stop it to download the disk."
    return ""


def download_context(user, project, obj, resource):
    """The Download control of a disk's or disk snapshot's page."""
    name = obj["metadata"]["name"]
    return {"download": {
        "why_not": why_not(user, project, obj, resource),
        "path": reverse(f"virtualization:{resource.slug[:-1]}-download", args=[project.name, name]),
    }}


def _wait_ready(kube, namespace, name):
    """The Ready DataExport's status.url; KubeError with the exporter's reason when it is refused."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        status = kube.get(kinds.DATA_EXPORT, name, namespace).get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        if ready.get("status") == "True" and status.get("url"):
            return status["url"]
        if ready.get("status") == "False" and ready.get("reason") in REFUSALS:
            raise KubeError(ready.get("message") or ready["reason"], status=409, reason=ready["reason"])
        if time.monotonic() > deadline:
            raise KubeError(f"The DataExport {name} was not ready within {READY_SECONDS:.0f} s"
                            f"{': ' + ready['message'] if ready.get('message') else ''}.", status=504)
        time.sleep(POLL_SECONDS)


def _delete_export(kube, namespace, name):
    try:
        kube.delete(kinds.DATA_EXPORT, name, namespace)
    except NotFound:
        pass
    except KubeError as exc:
        log.warning("DataExport %s/%s not deleted: %s", namespace, name, exc.message)


def _audit(kube, resource, namespace, name, result, size, **details):
    identity = kube.identity
    audit.record("download", user=identity.username, groups=identity.groups, kind=resource.kind.kind,
                 project=namespace, name=name, result=result, bytes=size, **details)


async def _body(kube, url, resource, namespace, name, export):
    """The volume's bytes; the DataExport goes when they end, whether sent, broken off or cancelled."""
    sent, result, details = 0, "failure", {}
    try:
        async for chunk in download.stream(kube.identity, url):
            sent += len(chunk)
            yield chunk
        result = "success"
    except KubeError as exc:
        details = {"status": exc.status, "reason": exc.message}
        raise
    except (asyncio.CancelledError, GeneratorExit):
        details = {"reason": "cancelled: the browser stopped the download"}
        raise
    finally:
        _audit(kube, resource, namespace, name, result, sent, **details)
        # A thread of its own finishes the delete even if this task is cancelled again meanwhile.
        await asyncio.shield(sync_to_async(_delete_export, thread_sensitive=False)(kube, namespace, export))


def download_view(slug):
    @require_POST
    def view(request, project, name):
        project = get_project(request.user, project)
        resource = registry.get(slug)
        obj = get_object(request.user, project, resource, name)
        back = reverse("virtualization:detail", args=[project.name, resource, name])
        if not settings.DVP_DATA_EXPORT_URL:
            messages.error(request, why_not(request.user, project, obj, resource))
            return redirect(back)
        kube = kube_for(request.user)
        export = f"{PREFIXES[slug]}{name}-{secrets.token_hex(3)}"
        body = {"metadata": {"name": export},
                "spec": {"ttl": TTL, "publish": False, "targetRef": {"kind": resource.kind.kind, "name": name}}}
        try:
            kube.create(kinds.DATA_EXPORT, body, project.name)
        except KubeError as exc:
            messages.error(request, f"The download of {name} was refused: {exc.message}")
            return redirect(back)
        try:
            url = download.exporter_url(_wait_ready(kube, project.name, export), project.name, export)
            size = async_to_sync(download.size)(kube.identity, url)
        except KubeError as exc:
            _delete_export(kube, project.name, export)
            _audit(kube, resource, project.name, name, "failure", 0, status=exc.status, reason=exc.message)
            messages.error(request, f"The download of {name} was refused: {exc.message}")
            return redirect(back)
        response = StreamingHttpResponse(_body(kube, url, resource, project.name, name, export),
                                         content_type="application/octet-stream")
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = f'attachment; filename="{name}.img"'
        response["Cache-Control"] = "no-store"
        return response
    view.__name__ = f"{slug.replace('-', '_')}_download"
    return view
