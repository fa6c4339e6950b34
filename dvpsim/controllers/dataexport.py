"""DataExport (`storage.deckhouse.io/v1alpha1`, the storage-volume-data-manager module): what `d8 download` creates
to read a volume's data out of the cluster (user guide, "Data export").

There is no CRD of that module in our references; the shape follows the d8 CLI (deckhouse-cli
`internal/dataexport/`): spec `ttl` (Go duration), `publish`, `targetRef{kind, name}`; status `url`, `publicURL`,
`volumeMode`, `accessTimestamp` and the conditions `Ready` and `Expired`. dvpsim keeps no schema for it (spec and
status stored as sent, like the sdn networks).

For a usable target the export gets the exporter URL `<sim url>/dvpsim/dataexport/<namespace>/<name>` (served by
dvpsim.dataexport); with `publish: true` the publicURL is the same URL, as dvpsim has no Ingress to publish it on.
An export not downloaded from for `ttl` (from Ready or from the last access) expires: Expired=True, Ready=False,
and the exporter answers no more; the object stays until deleted (the CLI deletes and recreates it).

While an export of a VirtualDisk is Ready the disk shows phase Exporting, InUse=True UsedForDataExport and a Ready
reason Exporting (dvp-api-notes §4.3); dvpsim.controllers.disks applies that through `export_of_disk`.
"""

import asyncio
import re
from datetime import timedelta

from dvpsim import kinds, quantity
from dvpsim.clock import parse_time
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of
from dvpsim.controllers.snapshots import RUNNING_PHASES, restore_size
from dvpsim.controllers.usage import vms_using
from dvpsim.errors import ApiError

GROUP = "storage.deckhouse.io"
DEFAULT_TTL = "2m"  # the CLI's default
TARGET_KINDS = ("PersistentVolumeClaim", "VolumeSnapshot", "VirtualDisk", "VirtualDiskSnapshot")
COMPONENT = "storage-volume-data-manager"
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(text) -> float | None:
    """Seconds of a Go duration string ("2m", "1h30m", "90s"); None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    body = text[1:] if text[0] in "+-" else text
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(body):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(body) or pos == 0:
        return None
    return -total if text[0] == "-" else total


def exporter_path(namespace, name):
    return f"/dvpsim/dataexport/{namespace}/{name}"


def is_active(export) -> bool:
    """An export whose exporter serves data now: Ready and not expired, not being deleted."""
    status = export.get("status") or {}
    return not is_deleting(export) and (condition(status, "Ready") or {}).get("status") == "True"


def export_of_disk(cluster, namespace, name):
    """The active DataExport of the VirtualDisk, or None."""
    kind = kinds.get("DataExport")
    for export in cluster.store.iter(kind, namespace):
        ref = (export.get("spec") or {}).get("targetRef") or {}
        if ref.get("kind") == "VirtualDisk" and ref.get("name") == name and is_active(export):
            return export
    return None


class DataExportController(Controller):
    primary = "DataExport"
    related = ("VirtualDisk", "VirtualDiskSnapshot", "PersistentVolumeClaim", "VirtualMachine",
               "VirtualMachineBlockDeviceAttachment")

    async def run(self, cluster):
        self._timers = {}  # (namespace, name) -> (deadline, task)
        try:
            await super().run(cluster)
        finally:
            for _, task in list(self._timers.values()):
                task.cancel()

    def on_primary(self, event_type, obj):
        if event_type == "DELETED":
            self._cancel_timer((obj["metadata"]["namespace"], obj["metadata"]["name"]))
            return
        super().on_primary(event_type, obj)

    def on_related(self, event_type, kind, obj):
        namespace = obj["metadata"].get("namespace")
        if kind.kind == "VirtualMachine":
            targets = {("VirtualDisk", r.get("name")) for r in obj.get("spec", {}).get("blockDeviceRefs") or []}
        elif kind.kind == "VirtualMachineBlockDeviceAttachment":
            ref = obj.get("spec", {}).get("blockDeviceRef") or {}
            targets = {(ref.get("kind"), ref.get("name"))}
        else:
            targets = {(kind.kind, obj["metadata"]["name"])}
        for export in self.cluster.store.iter(self.kind, namespace):
            ref = (export.get("spec") or {}).get("targetRef") or {}
            if (ref.get("kind"), ref.get("name")) in targets:
                self.kick(namespace, export["metadata"]["name"])

    def event(self, obj, reason, message, type_="Normal"):
        try:
            self.cluster.record_event(obj, type_, reason, message, component=COMPONENT)
        except ApiError:
            pass

    async def reconcile(self, namespace, name):
        export = self.get(namespace, name)
        if export is None or is_deleting(export):
            self._cancel_timer((namespace, name))
            return
        status = status_of(export)
        generation = export["metadata"].get("generation", 1)
        spec = export.get("spec") or {}
        was_ready = (condition(status, "Ready") or {}).get("status") == "True"
        if (condition(status, "Expired") or {}).get("status") == "True":
            return  # for good: the CLI deletes an expired export and makes a new one
        ttl = parse_duration(spec.get("ttl") or DEFAULT_TTL)
        ref = spec.get("targetRef") or {}
        if ttl is None or ttl <= 0:
            return self._not_ready(export, status, "InvalidTTL",
                                   f'spec.ttl "{spec.get("ttl")}" is not a positive duration such as "2m" or "1h".')
        problem, volume_mode = self._target(namespace, ref)
        if problem:
            return self._not_ready(export, status, *problem)
        now = self.cluster.clock.now()
        if was_ready:
            since = max(t for t in (parse_time(condition(status, "Ready").get("lastTransitionTime")),
                                    parse_time(status.get("accessTimestamp"))) if t is not None)
            deadline = since + timedelta(seconds=ttl)
            if now >= deadline:
                return self._expire(export, status, generation)
        else:
            deadline = now + timedelta(seconds=ttl)
        url = f"{self.cluster.url}{exporter_path(namespace, name)}"
        status["url"] = url
        if spec.get("publish"):
            # A real cluster publishes the exporter on an Ingress; dvpsim has none, so the public URL is the same one.
            status["publicURL"] = url
        else:
            status.pop("publicURL", None)
        status["volumeMode"] = volume_mode
        set_condition(self.cluster, status, "Ready", "True", "Ready", "The exporter is ready to serve the data.",
                      generation)
        set_condition(self.cluster, status, "Expired", "False", "NotExpired", "", generation)
        if status != export.get("status"):
            written = self.write_status(export, status)
            if written is not None and not was_ready:
                self.event(written, "Ready", f'The data of {ref.get("kind")} "{ref.get("name")}" can be '
                                             f"downloaded from {url} for {spec.get('ttl') or DEFAULT_TTL} "
                                             "after the last access.")
        self._arm_timer((namespace, name), deadline)

    def _target(self, namespace, ref):
        """((reason, message) or None, volumeMode) for the target of an export."""
        kind_name, name = ref.get("kind"), ref.get("name")
        if kind_name not in TARGET_KINDS or not name:
            return ("UnsupportedTarget", f"spec.targetRef must name a {', '.join(TARGET_KINDS)}; "
                                         f"got kind {kind_name!r} name {name!r}."), None
        if kind_name == "VolumeSnapshot":
            return ("UnsupportedTarget", "VolumeSnapshots are not simulated by dvpsim: export the "
                                         "VirtualDiskSnapshot instead."), None
        what = f'{kind_name} "{name}"'
        obj = self.get(namespace, name, kinds.get(kind_name))
        if obj is None:
            return ("TargetNotFound", f"{what} not found."), None
        phase = (obj.get("status") or {}).get("phase")
        if kind_name == "PersistentVolumeClaim":
            if phase != "Bound":
                return ("TargetNotReady", f"{what} is {phase or 'Pending'}: only a Bound claim can be exported."), None
            return None, (obj.get("spec") or {}).get("volumeMode") or "Filesystem"
        if kind_name == "VirtualDiskSnapshot":
            if phase != "Ready":
                return ("TargetNotReady", f"{what} is {phase or 'Pending'}: only a Ready snapshot can be exported."), None
            return None, "Block"
        # Our reading of DVP: only a disk that no running virtual machine uses can be exported (the exporter
        # needs the volume to itself; the CLI's docs export disks of stopped VMs); a stopped VM's disk may be.
        if phase not in ("Ready", "Exporting"):
            return ("TargetNotReady", f"{what} is {phase or 'Pending'}: only a Ready disk can be exported."), None
        running = [vm["metadata"]["name"] for vm in vms_using(self.cluster, "VirtualDisk", namespace, name)
                   if (vm.get("status") or {}).get("phase") in RUNNING_PHASES]
        running += [a["spec"].get("virtualMachineName") for a in
                    self.cluster.store.iter(kinds.get("VirtualMachineBlockDeviceAttachment"), namespace)
                    if (a.get("spec") or {}).get("blockDeviceRef") == {"kind": "VirtualDisk", "name": name}
                    and (a.get("status") or {}).get("phase") in ("InProgress", "Attached")]
        if running:
            return ("TargetInUse", f'{what} is in use by the running VirtualMachine "{running[0]}": only a disk '
                                   "not in use can be exported; stop the virtual machine first."), None
        return None, "Block"

    def _not_ready(self, export, status, reason, message):
        generation = export["metadata"].get("generation", 1)
        before = condition(status, "Ready") or {}
        for key in ("url", "publicURL", "volumeMode"):
            status.pop(key, None)
        set_condition(self.cluster, status, "Ready", "False", reason, message, generation)
        self._cancel_timer((export["metadata"]["namespace"], export["metadata"]["name"]))
        if status == export.get("status"):
            return
        written = self.write_status(export, status)
        if written is not None and (before.get("reason"), before.get("message")) != (reason, message):
            self.event(written, reason, message, "Warning")

    def _expire(self, export, status, generation):
        ttl = (export.get("spec") or {}).get("ttl") or DEFAULT_TTL
        message = f"Nothing was downloaded for {ttl}: the export has expired; delete it and create a new one."
        set_condition(self.cluster, status, "Expired", "True", "Expired", message, generation)
        set_condition(self.cluster, status, "Ready", "False", "Expired", message, generation)
        self._cancel_timer((export["metadata"]["namespace"], export["metadata"]["name"]))
        written = self.write_status(export, status)
        if written is not None:
            self.event(written, "Expired", message, "Warning")

    # ---- the TTL timer ------------------------------------------------------------------------

    def _arm_timer(self, key, deadline):
        current = self._timers.get(key)
        if current is not None and current[0] == deadline and not current[1].done():
            return
        self._cancel_timer(key)

        async def wake():
            seconds = (deadline - self.cluster.clock.now()).total_seconds()
            await self.sleep(seconds + 0.001)
            self._timers.pop(key, None)
            self.kick(*key)
        self._timers[key] = (deadline, asyncio.get_running_loop().create_task(wake()))

    def _cancel_timer(self, key):
        current = self._timers.pop(key, None)
        if current is not None and current[1] is not asyncio.current_task():
            current[1].cancel()


def target_size(cluster, export) -> int:
    """Bytes of the exported volume: the disk's capacity, the snapshot's size, the claim's capacity."""
    namespace = export["metadata"]["namespace"]
    ref = (export.get("spec") or {}).get("targetRef") or {}
    kind_name = ref.get("kind")
    if kind_name not in ("VirtualDisk", "VirtualDiskSnapshot", "PersistentVolumeClaim"):
        return 0
    obj = cluster.store.get(kinds.get(kind_name), namespace, ref.get("name"))
    if obj is None:
        return 0
    status = obj.get("status") or {}
    if kind_name == "VirtualDisk":
        return quantity.parse_bytes(status.get("capacity") or "0")
    if kind_name == "VirtualDiskSnapshot":
        return restore_size(obj)
    return quantity.parse_bytes((status.get("capacity") or {}).get("storage") or "0")
