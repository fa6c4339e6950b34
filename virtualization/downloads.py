"""Download a disk or a disk snapshot: the guide's "Data export" (`d8 download`) from the browser.

Under /projects/<p>/<disks|disk-snapshots>/<name>/download/, no request waits for the cluster:
1. "Download" posts to it: the console creates a DataExport of the object as the user (`de-vd-<disk>-<suffix>`,
   `de-vds-<snapshot>-<suffix>`) and redirects at once to the export's page, .../download/<export>/.
2. That page follows the export: its `status` partial, asked by htmx every second, reads the DataExport once and
   says where it is (preparing, ready, or what went wrong: the exporter's refusal, Failed, not Ready within
   READY_SECONDS of the start, the API's refusal). An export that can no longer serve is deleted when the page
   learns it. Cancel posts .../download/<export>/cancel/, which deletes the export as the user.
3. Once Ready, the page's script (static/js/download.js) posts .../download/<export>/data/ once: the console
   checks that the exporter URL the status gives is the one of that export's own service
   (portal.kube.download.exporter_url) and streams the volume from there as the answer: the browser's download
   shows its progress (Content-Length) and may be cancelled. The browser never sees the exporter's URL. The
   DataExport is deleted when the stream ends, however it ends (done, cancelled by the browser, broken).
"""
import asyncio
import logging
import secrets
import time

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal import audit
from portal.htmx import is_partial
from portal.kube import KubeError, NotFound, download, kinds
from projects.access import can, get_project, kube_for

from . import registry
from .generic.detail import get_object

log = logging.getLogger(__name__)

# As the d8 CLI names its exports; a suffix lets two downloads of one disk run side by side.
PREFIXES = {"disks": "de-vd-", "disk-snapshots": "de-vds-"}
TTL = "2m"  # the CLI's: the exporter stops after this long without a read
READY_SECONDS = 30.0  # from the start of the download (kept in the session) to the export's Ready
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


def _exports_of(user, project, resource, name):
    """[{name, path}] of the DataExports of this object the user may see, each with its download page."""
    try:
        items = kube_for(user).list(kinds.DATA_EXPORT, project.name)
    except KubeError:
        return []
    target = {"kind": resource.kind.kind, "name": name}
    names = sorted(e["metadata"]["name"] for e in items if ((e.get("spec") or {}).get("targetRef") or {}) == target
                   and e["metadata"]["name"].startswith(f"{PREFIXES[resource.slug]}{name}-"))
    route = f"virtualization:{resource.slug[:-1]}-download-follow"
    return [{"name": export, "path": reverse(route, args=[project.name, name, export])} for export in names]


def download_context(user, project, obj, resource):
    """The Download control of a disk's or disk snapshot's page, and the downloads of it under way."""
    name = obj["metadata"]["name"]
    return {"download": {
        "why_not": why_not(user, project, obj, resource),
        "path": reverse(f"virtualization:{resource.slug[:-1]}-download", args=[project.name, name]),
        "exports": _exports_of(user, project, resource, name),
    }}



def download_routes(slug):
    """The Download pages of a kind (disks, disk-snapshots): start, follow, cancel and the data itself."""
    base = slug[:-1]
    return (registry.Route("<str:name>/download/", start_view(slug), f"{base}-download"),
            registry.Route("<str:name>/download/<str:export>/", follow_view(slug), f"{base}-download-follow"),
            registry.Route("<str:name>/download/<str:export>/cancel/", cancel_view(slug), f"{base}-download-cancel"),
            registry.Route("<str:name>/download/<str:export>/data/", data_view(slug), f"{base}-download-data"))


# ---- the export's state, read once per request ------------------------------------------------------------------

def _ready_condition(status):
    return next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})


def export_state(kube, namespace, export, target, started):
    """Where the DataExport `export` of `target` ({kind, name}) is: {"state", "message", "url"}, one read, no wait.

    state: "preparing", "ready" (url: its exporter's, checked), "failed" (message: why) or "gone".
    `started` (time.time() of the download's start) bounds the wait for Ready. An export of another object is a 404."""
    try:
        obj = kube.get(kinds.DATA_EXPORT, export, namespace)
    except NotFound:
        return {"state": "gone", "message": "", "url": ""}
    except KubeError as exc:
        return {"state": "failed", "message": f"The API refused to read the export: {exc.message}", "url": ""}
    if ((obj.get("spec") or {}).get("targetRef") or {}) != target:
        raise Http404("No such download")
    if obj["metadata"].get("deletionTimestamp"):
        return {"state": "gone", "message": "", "url": ""}
    status = obj.get("status") or {}
    ready = _ready_condition(status)
    said = ready.get("message") or ready.get("reason") or ""
    if status.get("phase") == "Failed":
        return {"state": "failed", "message": f"The export failed: {said or 'the exporter gave no reason'}", "url": ""}
    if ready.get("status") == "True" and status.get("url"):
        try:
            return {"state": "ready", "message": "", "url": download.exporter_url(status["url"], namespace, export)}
        except KubeError as exc:
            return {"state": "failed", "message": exc.message, "url": ""}
    if ready.get("status") == "False" and ready.get("reason") in REFUSALS:
        return {"state": "failed", "message": f"The exporter refused: {said}", "url": ""}
    if time.time() - started > READY_SECONDS:
        return {"state": "failed", "url": "", "message": f"The export was not ready within {READY_SECONDS:.0f} s"
                                                        f"{': ' + said if said else ''}."}
    return {"state": "preparing", "message": said, "url": ""}


def _remember(request, export, **facts):
    """What this browser session knows of a download (started, failure, streaming), kept an hour.

    Written only when it changes: the page's status requests run beside the data's, whose fact they must not undo."""
    now = time.time()
    known = request.session.get("downloads", {})
    entry = {"started": now, **known.get(export, {}), **facts}
    if known.get(export) != entry:
        downloads = {k: v for k, v in known.items() if now - v["started"] < 3600}
        request.session["downloads"] = {**downloads, export: entry}
    return entry


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


def _fail(request, kube, resource, namespace, name, export, message, status=None):
    """An export that will not serve: said on its page from now on, audited, deleted (nothing left behind)."""
    _remember(request, export, failure=message)
    _audit(kube, resource, namespace, name, "failure", 0, status=status, reason=message)
    _delete_export(kube, namespace, export)


# ---- the views --------------------------------------------------------------------------------------------------

class DownloadRequest:
    """The parts of one download request: project, kind, object name and export, with their URLs."""

    def __init__(self, request, project, slug, name, export=None):
        self.project = get_project(request.user, project)
        self.resource = registry.get(slug)
        self.name, self.export = name, export
        if export is not None and not export.startswith(f"{PREFIXES[slug]}{name}-"):
            raise Http404("No such download")
        self.kube = kube_for(request.user)
        self.back = reverse("virtualization:detail", args=[self.project.name, self.resource, name])
        self.target = {"kind": self.resource.kind.kind, "name": name}

    def state(self, request):
        """What the export is doing now (one read of the DataExport), and what this session knows of it."""
        known = _remember(request, self.export)
        return export_state(self.kube, self.project.name, self.export, self.target, known["started"]), known

    def url(self, what=""):
        suffix = f"-{what}" if what else ""
        return reverse(f"virtualization:{self.resource.slug[:-1]}-download{suffix}",
                       args=[self.project.name, self.name, self.export])


def start_view(slug):
    @require_POST
    def view(request, project, name):
        """Create the DataExport as the user and go to its page at once."""
        d = DownloadRequest(request, project, slug, name)
        obj = get_object(request.user, d.project, d.resource, name)
        if not settings.DVP_DATA_EXPORT_URL:
            messages.error(request, why_not(request.user, d.project, obj, d.resource))
            return redirect(d.back)
        d.export = f"{PREFIXES[slug]}{name}-{secrets.token_hex(3)}"
        body = {"metadata": {"name": d.export}, "spec": {"ttl": TTL, "publish": False, "targetRef": d.target}}
        try:
            d.kube.create(kinds.DATA_EXPORT, body, d.project.name)
        except KubeError as exc:  # said on the download's page, which has no export to follow
            refused = {"state": "failed", "message": f"the API refused the export: {exc.message}", "url": ""}
            d.export = None
            return _page(request, d, refused, streaming=False, status=422)
        _remember(request, d.export)
        return redirect(d.url("follow"))
    view.__name__ = f"{slug.replace('-', '_')}_download"
    return view


def follow_view(slug):
    @require_GET
    def view(request, project, name, export):
        """The export's page, or (htmx, every second) its status partial: one read of the DataExport."""
        d = DownloadRequest(request, project, slug, name, export)
        state, known = d.state(request)
        if state["state"] == "failed":
            _fail(request, d.kube, d.resource, d.project.name, name, export, state["message"])
        elif state["state"] == "gone" and known.get("failure"):
            state = {**state, "state": "failed", "message": known["failure"]}
        return _page(request, d, state, streaming=bool(known.get("streaming")))
    view.__name__ = f"{slug.replace('-', '_')}_download_follow"
    return view


def _page(request, d, state, streaming, status=200):
    """The download's page (its status partial for htmx) in `state`; without an export, no path to follow."""
    urls = {f"{what}_path": d.url(what) if d.export else "" for what in ("follow", "cancel", "data")}
    template = "virtualization/download.html" + ("#status" if is_partial(request) else "")
    return render(request, template, {
        "project": d.project, "resource": d.resource, "name": d.name, "export": d.export or "", "state": state,
        "streaming": streaming, "back": d.back, **urls,
        "can_cancel": can(request.user, "delete", kinds.DATA_EXPORT, d.project.name)}, status=status)


def cancel_view(slug):
    @require_POST
    def view(request, project, name, export):
        """Delete the export as the user: whatever it was doing stops."""
        d = DownloadRequest(request, project, slug, name, export)
        try:
            d.kube.delete(kinds.DATA_EXPORT, export, d.project.name)
        except NotFound:
            messages.info(request, f"The download of {name} was already over.")
        except KubeError as exc:
            messages.error(request, f"Cancelling the download of {name} was refused: {exc.message}")
            return redirect(d.url("follow"))
        else:
            _audit(d.kube, d.resource, d.project.name, name, "failure", 0, reason="cancelled on the download page")
            messages.success(request, f"The download of {name} was cancelled.")
        return redirect(d.back)
    view.__name__ = f"{slug.replace('-', '_')}_download_cancel"
    return view


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


def data_view(slug):
    @require_POST
    def view(request, project, name, export):
        """The volume, streamed from the Ready export's own exporter; back to the export's page when not Ready."""
        d = DownloadRequest(request, project, slug, name, export)
        state, _ = d.state(request)
        if state["state"] != "ready":
            return redirect(d.url("follow"))
        try:
            size = async_to_sync(download.size)(d.kube.identity, state["url"])
        except KubeError as exc:
            _fail(request, d.kube, d.resource, d.project.name, name, export, exc.message, status=exc.status)
            return redirect(d.url("follow"))
        _remember(request, export, streaming=True)
        response = StreamingHttpResponse(_body(d.kube, state["url"], d.resource, d.project.name, name, export),
                                         content_type="application/octet-stream")
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = f'attachment; filename="{name}.img"'
        response["Cache-Control"] = "no-store"
        return response
    view.__name__ = f"{slug.replace('-', '_')}_download_data"
    return view
