"""VirtualDisk: blank or from an image, WaitForFirstConsumer, resize, attachment bookkeeping."""

import asyncio
import time

from dvpsim import kinds, oci_pull, quantity
from dvpsim.controllers import dataexport, importer, migration, snapshots, storage
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of
from dvpsim.controllers.uploads import UploadSink
from dvpsim.controllers.usage import vms_using

MOUNTED_PHASES = ("Starting", "Running", "Stopping", "Migrating", "Pause", "Degraded")
IMAGE_KINDS = ("VirtualImage", "ClusterVirtualImage")
# User guide, "Changing the disk StorageClass": a failed migration is retried after 5 s, 10 s, then doubling
# up to 300 s (7th and later retries); the first attempt runs at once.
MIGRATION_RETRY_FIRST_SECONDS = 5.0
MIGRATION_RETRY_MAX_SECONDS = 300.0


def migration_retry_delay(failures: int) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1-based)."""
    return min(MIGRATION_RETRY_FIRST_SECONDS * 2 ** (failures - 1), MIGRATION_RETRY_MAX_SECONDS)


class VirtualDiskController(UploadSink, Controller):
    primary = "VirtualDisk"
    upload_progress_scale = 0.5  # DVP: the upload into DVCR is 0–50 %, the copy into the PVC the rest
    related = ("VirtualMachine", "VirtualImage", "ClusterVirtualImage", "VirtualDiskSnapshot", "StorageClass", "Secret",
               "PersistentVolumeClaim", "DataExport")

    async def run(self, cluster):
        self._migration_attempts = {}  # (ns, name, uid, target SC) -> (failed attempts, next attempt due)
        self._timers = set()
        try:
            await super().run(cluster)
        finally:
            for task in list(self._timers):
                task.cancel()

    def on_related(self, event_type, kind, obj):
        if kind.kind == "DataExport":  # an export of the disk makes it Exporting while it is active
            ref = (obj.get("spec") or {}).get("targetRef") or {}
            if ref.get("kind") == "VirtualDisk":
                self.kick(obj["metadata"]["namespace"], ref.get("name"))
            return
        if kind.kind == "VirtualMachine":
            for ref in obj.get("spec", {}).get("blockDeviceRefs") or []:
                if ref.get("kind") == "VirtualDisk":
                    self.kick(obj["metadata"]["namespace"], ref.get("name"))
            # A VM that dropped its reference releases the disk: a disk that lists it as a user (InUse) or a
            # Terminating disk waiting for it is looked at again.
            vm_name = obj["metadata"]["name"]
            for disk in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"]):
                users = (disk.get("status") or {}).get("attachedToVirtualMachines") or []
                if disk["metadata"].get("deletionTimestamp") or any(u.get("name") == vm_name for u in users):
                    self.kick(disk["metadata"]["namespace"], disk["metadata"]["name"])
            return
        if kind.kind == "StorageClass":
            self.kick_all()
            return
        if kind.kind == "PersistentVolumeClaim":  # a lost PVC makes its disk PVCLost
            if event_type == "DELETED":
                for disk in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"]):
                    if ((disk.get("status") or {}).get("target") or {}).get("persistentVolumeClaimName") == \
                            obj["metadata"]["name"]:
                        self.kick(disk["metadata"]["namespace"], disk["metadata"]["name"])
            return
        if kind.kind == "Secret":  # a disk pulled with this imagePullSecret may be waiting for it
            for disk in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"]):
                source = (disk.get("spec", {}).get("dataSource") or {}).get("containerImage") or {}
                if (source.get("imagePullSecret") or {}).get("name") == obj["metadata"]["name"]:
                    self.kick(disk["metadata"]["namespace"], disk["metadata"]["name"])
            return
        if kind.kind in IMAGE_KINDS:  # an image made from a disk marks it InUse while it provisions
            ref = (obj.get("spec", {}).get("dataSource") or {}).get("objectRef") or {}
            if ref.get("kind") == "VirtualDisk" and (ref.get("namespace") or obj["metadata"].get("namespace")):
                self.kick(ref.get("namespace") or obj["metadata"]["namespace"], ref.get("name"))
        scope = obj["metadata"].get("namespace") if kind.namespaced else None
        for disk in self.cluster.store.iter(self.kind, scope):
            ref = (disk.get("spec", {}).get("dataSource") or {}).get("objectRef") or {}
            if ref.get("kind") == kind.kind and ref.get("name") == obj["metadata"]["name"]:
                self.kick(disk["metadata"]["namespace"], disk["metadata"]["name"])

    async def reconcile(self, namespace, name):
        disk = self.get(namespace, name)
        if disk is None:
            return
        users = vms_using(self.cluster, "VirtualDisk", namespace, name)
        if is_deleting(disk):
            self._finalize(disk, users)
            return
        disk = self.set_finalizer(disk, True)
        status = status_of(disk)
        if status.get("phase") == "Exporting":  # a Ready disk under export (see write_status)
            status["phase"] = "Ready"
        self._track_attachments(status, users, disk)
        generation = disk["metadata"].get("generation", 1)
        phase = status.get("phase")
        if phase == "PVCLost" or (phase in ("Ready", "Resizing") and self.pvc_lost(disk, status, "disk")):
            self.write_status(disk, status)
            return
        if phase in ("Ready", "Resizing") and status.get("observedGeneration") == generation and \
                not self._storage_class_change(disk, status):
            self.write_status(disk, status)
            return
        if phase == "Ready":
            await self._apply_spec_change(disk, status)
            return
        if phase == "Failed" and status.get("observedGeneration") == generation:
            self.write_status(disk, status)
            return
        await self._provision(disk, status, users)

    def write_status(self, obj, status, kind=None):
        """Every status written shows an active DataExport of a Ready disk (dvp-api-notes §4.3): phase Exporting,
        InUse=True UsedForDataExport, Ready reason Exporting; once the export ends the disk is Ready again."""
        if (kind is None or kind is self.kind) and status.get("phase") in ("Ready", "Exporting"):
            generation = obj["metadata"].get("generation", 1)
            export = dataexport.export_of_disk(self.cluster, obj["metadata"]["namespace"], obj["metadata"]["name"])
            if export is not None:
                message = f'The disk is being exported by DataExport "{export["metadata"]["name"]}".'
                status["phase"] = "Exporting"
                set_condition(self.cluster, status, "InUse", "True", "UsedForDataExport", message)
                set_condition(self.cluster, status, "Ready", "False", "Exporting", message, generation)
            elif status["phase"] == "Exporting" or (condition(status, "Ready") or {}).get("reason") == "Exporting":
                status["phase"] = "Ready"
                set_condition(self.cluster, status, "Ready", "True", "Ready", "", generation)
            before = (obj.get("status") or {}).get("phase")
            written = super().write_status(obj, status, kind)
            if written is not None and before != status["phase"] and "Exporting" in (before, status["phase"]):
                self.event(written, "Exporting" if export is not None else "Exported",
                           message if export is not None else "The export of the disk has ended: it is Ready.")
            return written
        return super().write_status(obj, status, kind)

    def _finalize(self, disk, users):
        status = status_of(disk)
        if users:
            if status.get("phase") != "Terminating":
                status["phase"] = "Terminating"
                self._track_attachments(status, users)
                self.write_status(disk, status)
                self.event(disk, "Terminating", "Waiting for the virtual machines to release the disk")
            return
        pvc = (status.get("target") or {}).get("persistentVolumeClaimName")
        if pvc:
            storage.delete_pvc(self.cluster, disk["metadata"]["namespace"], pvc)
        self._forget_migration(disk)
        self.set_finalizer(disk, False)

    def _track_attachments(self, status, users, disk=None):
        attached = [{"name": v["metadata"]["name"],
                     "mounted": (v.get("status") or {}).get("phase") in MOUNTED_PHASES} for v in users]
        creating = self._images_in_creation(disk) if disk is not None and not attached else []
        if attached:
            status["attachedToVirtualMachines"] = attached
            set_condition(self.cluster, status, "InUse", "True", "AttachedToVirtualMachine",
                          "The disk is attached to a virtual machine.")
        elif creating:
            # dvp-api-notes §4.3: InUse reason UsedForImageCreation while an image is made from the disk.
            status.pop("attachedToVirtualMachines", None)
            set_condition(self.cluster, status, "InUse", "True", "UsedForImageCreation",
                          f'The disk is used to create the {creating[0]["kind"]} "{creating[0]["metadata"]["name"]}".')
        else:
            status.pop("attachedToVirtualMachines", None)
            set_condition(self.cluster, status, "InUse", "False", "NotInUse", "")

    def _images_in_creation(self, disk):
        namespace, name = disk["metadata"]["namespace"], disk["metadata"]["name"]
        found = []
        for kind_name in IMAGE_KINDS:
            kind = kinds.get(kind_name)
            for image in self.cluster.store.iter(kind, namespace if kind.namespaced else None):
                ref = (image.get("spec", {}).get("dataSource") or {}).get("objectRef") or {}
                if ref.get("kind") == "VirtualDisk" and ref.get("name") == name and \
                        (ref.get("namespace") or image["metadata"].get("namespace")) == namespace and \
                        (image.get("status") or {}).get("phase") == "Provisioning":
                    found.append(image)
        return found

    # ---- provisioning -------------------------------------------------------------------------

    async def _provision(self, disk, status, users):
        generation = disk["metadata"].get("generation", 1)
        spec = disk.get("spec", {})
        pvc_spec = spec.get("persistentVolumeClaim") or {}
        status["observedGeneration"] = generation
        sc_name = storage.storage_class_name(self.cluster, pvc_spec.get("storageClassName"))
        sc = storage.storage_class(self.cluster, sc_name) if sc_name else None
        if sc is None:
            status["phase"] = "Pending"
            message = storage.NO_DEFAULT_SC if not sc_name else f'StorageClass "{sc_name}" not found.'
            set_condition(self.cluster, status, "StorageClassReady", "False", "StorageClassNotFound", message, generation)
            set_condition(self.cluster, status, "Ready", "False", "StorageClassIsNotReady", message, generation)
            self.write_status(disk, status)
            return
        status["storageClassName"] = sc_name
        set_condition(self.cluster, status, "StorageClassReady", "True", "StorageClassReady", "", generation)

        source = spec.get("dataSource")
        image = None
        if source and source.get("type") == "Upload":
            self._wait_for_upload(disk, status)
            return
        if source:
            image = await self._wait_for_source(disk, status, source)
            if image is None:
                return
        else:
            set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)

        node = self._consumer_node(users)
        if storage.waits_for_first_consumer(sc) and node is None:
            if status.get("phase") != "WaitForFirstConsumer":
                status["phase"] = "WaitForFirstConsumer"
                status["progress"] = "0%"
                set_condition(self.cluster, status, "Ready", "False", "WaitingForFirstConsumer",
                              "Waiting for a virtual machine using the disk to be scheduled.", generation)
                if self.write_status(disk, status):
                    self.event(disk, "WaitForFirstConsumer", "Waiting for the first consumer")
            return

        status["phase"] = "Provisioning"
        status["progress"] = "0%"
        set_condition(self.cluster, status, "Ready", "False", "Provisioning", "PVC provisioning in progress.", generation)
        if self.write_status(disk, status) is None:
            return
        self.event(disk, "Provisioning", "Provisioning of the disk started")
        if source and source.get("type") in ("HTTP", "ContainerImage"):
            unpacked = await self._download(disk, status, source)
            if unpacked is None:
                return
        else:
            unpacked = int(((image or {}).get("status", {}).get("size") or {}).get("unpackedBytes", 0))
            steps = 4 if image else 1
            for step in range(1, steps + 1):
                await self.sleep(1.0)
                status["progress"] = f"{100 * step // steps}%"
                if not self._still_current(disk) or self.write_status(disk, status) is None:
                    return
        self._ready(disk, status, sc_name, unpacked, node, (image or disk)["metadata"]["uid"] if source else None)

    def _ready(self, disk, status, sc_name, unpacked, node=None, source_uid=None):
        generation = disk["metadata"].get("generation", 1)
        pvc_spec = disk.get("spec", {}).get("persistentVolumeClaim") or {}
        requested = quantity.parse_bytes(pvc_spec["size"]) if pvc_spec.get("size") else 0
        capacity = quantity.to_binary_quantity(quantity.round_up(max(requested, unpacked)))
        meta = disk["metadata"]
        pvc_name = f"vd-{meta['name']}-{meta['uid']}"
        storage.ensure_pvc(self.cluster, disk, pvc_name, sc_name, capacity, node)
        status.update({"phase": "Ready", "progress": "100%", "capacity": capacity,
                       "target": {"persistentVolumeClaimName": pvc_name}})
        if source_uid:
            status["sourceUID"] = source_uid
        status.pop("downloadSpeed", None)
        set_condition(self.cluster, status, "Ready", "True", "Ready", "", generation)
        if self.write_status(disk, status) is not None:
            self.event(disk, "Ready", f"The disk is ready: {capacity}")

    async def _upload_done(self, disk, status, info, stored):
        for percent in (75, 100):  # the copy from DVCR into the PVC
            await self.sleep(1.0)
            status["progress"] = f"{percent}%"
            if not self._still_current(disk) or self.write_status(disk, status) is None:
                return
        sc_name = status.get("storageClassName") or storage.storage_class_name(
            self.cluster, (disk["spec"].get("persistentVolumeClaim") or {}).get("storageClassName"))
        self._ready(disk, status, sc_name, info.virtual_size or stored, source_uid=disk["metadata"]["uid"])

    async def _wait_for_source(self, disk, status, source):
        """The source image once Ready; otherwise records why the disk waits and returns None."""
        generation = disk["metadata"].get("generation", 1)
        type_ = source.get("type")
        if type_ == "ContainerImage":
            try:
                oci_pull.pull_credentials(self.cluster, disk["metadata"]["namespace"], source.get("containerImage") or {})
            except oci_pull.SecretNotFound:
                before = (status.get("phase"), [c.get("reason") for c in status.get("conditions") or []])
                status["phase"] = "Pending"
                # DVP's VirtualDisk DatasourceReady handler: this reason, message and a Normal event.
                set_condition(self.cluster, status, "DatasourceReady", "False", "ContainerRegistrySecretNotFound",
                              "Container registry secret not found.", generation)
                set_condition(self.cluster, status, "Ready", "False", "DatasourceIsNotReady",
                              "Container registry secret not found.", generation)
                if self.write_status(disk, status) is not None and \
                        before != (status["phase"], [c.get("reason") for c in status["conditions"]]):
                    self.event(disk, "VirtualDiskContainerRegistrySecretNotFound", "Container registry secret not found")
                return None
        if type_ in ("HTTP", "ContainerImage"):
            set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)
            return {}
        ref = source.get("objectRef") or {}
        ref_kind = ref.get("kind")
        if type_ == "ObjectRef" and ref_kind == "VirtualDiskSnapshot":
            return self._snapshot_source(disk, status, ref.get("name"))
        if type_ != "ObjectRef" or ref_kind not in IMAGE_KINDS:
            status["phase"] = "Pending"
            set_condition(self.cluster, status, "DatasourceReady", "False", "DatasourceIsNotReady",
                          f"Data source {type_ if type_ != 'ObjectRef' else ref_kind} is not supported by the simulator.",
                          generation)
            self.write_status(disk, status)
            return None
        kind = kinds.get(ref_kind)
        image = self.get(disk["metadata"]["namespace"], ref.get("name"), kind)
        what = f'{ref_kind} "{ref.get("name")}"'
        if image is None:
            status["phase"] = "Pending"
            set_condition(self.cluster, status, "DatasourceReady", "False", "DatasourceIsNotFound",
                          f"{what} not found.", generation)
            set_condition(self.cluster, status, "Ready", "False", "DatasourceIsNotFound", f"{what} not found.", generation)
            self.write_status(disk, status)
            return None
        image_phase = (image.get("status") or {}).get("phase")
        if image_phase != "Ready":
            status["phase"] = "Pending"
            reason = "ImageNotReady" if ref_kind == "VirtualImage" else "ClusterImageNotReady"
            set_condition(self.cluster, status, "DatasourceReady", "False", reason,
                          f"{what} is not ready: phase {image_phase or 'Pending'}.", generation)
            set_condition(self.cluster, status, "Ready", "False", "DatasourceIsNotReady",
                          f"Waiting for {what} to be ready.", generation)
            self.write_status(disk, status)
            return None
        if image["status"].get("cdrom"):
            status["phase"] = "Failed"
            message = f"{what} is an ISO image: a disk cannot be created from it; attach the image to the VM instead."
            set_condition(self.cluster, status, "DatasourceReady", "False", "ImageNotReady", message, generation)
            set_condition(self.cluster, status, "Ready", "False", "ProvisioningFailed", message, generation)
            self.write_status(disk, status)
            return None
        set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)
        return image

    def _snapshot_source(self, disk, status, name):
        """The snapshot, shaped like an image (its restore size as the unpacked size) once Ready."""
        generation = disk["metadata"].get("generation", 1)
        snapshot = self.get(disk["metadata"]["namespace"], name, kinds.get("VirtualDiskSnapshot"))
        phase = ((snapshot or {}).get("status") or {}).get("phase")
        if phase != "Ready":
            what = f'VirtualDiskSnapshot "{name}"'
            message = f"{what} not found." if snapshot is None else f"{what} is not ready: phase {phase or 'Pending'}."
            status["phase"] = "Pending"
            set_condition(self.cluster, status, "DatasourceReady", "False",
                          "DatasourceIsNotFound" if snapshot is None else "VirtualDiskSnapshotNotReady", message,
                          generation)
            set_condition(self.cluster, status, "Ready", "False", "DatasourceIsNotReady", message, generation)
            self.write_status(disk, status)
            return None
        set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)
        size = snapshots.restore_size(snapshot)
        return {"metadata": snapshot["metadata"], "status": {"size": {"unpackedBytes": str(size)}}}

    async def _download(self, disk, status, source):
        last = time.monotonic()

        async def on_progress(progress):
            nonlocal last
            if self.elapsed(last) >= 1.0 and progress.percent is not None:
                last = time.monotonic()
                status["progress"] = f"{progress.percent:.0f}%"
                self.write_status(disk, status)

        try:
            if source.get("type") == "ContainerImage":
                image = source.get("containerImage") or {}
                credentials = oci_pull.pull_credentials(self.cluster, disk["metadata"]["namespace"], image)
                info, _ = await oci_pull.pull(image.get("image", ""), credentials, image.get("caBundle"), on_progress)
            else:
                info, _ = await importer.download(source["http"], on_progress)
        except (importer.ImportFailed, oci_pull.PullFailed, oci_pull.SecretNotFound) as exc:
            generation = disk["metadata"].get("generation", 1)
            status["phase"] = "Failed"
            verb = "pull" if source.get("type") == "ContainerImage" else "download"
            message = f"Failed to {verb} the image: {exc}"
            set_condition(self.cluster, status, "Ready", "False", "ProvisioningFailed", message, generation)
            if self.write_status(disk, status):
                self.event(disk, "ProvisioningFailed", message, "Warning")
            return None
        return info.virtual_size or 0

    def _consumer_node(self, users):
        for vm in users:
            node = (vm.get("status") or {}).get("nodeName")
            if node:
                return node
        return None

    def _still_current(self, disk):
        current = self.get(disk["metadata"]["namespace"], disk["metadata"]["name"])
        return current is not None and current["metadata"]["uid"] == disk["metadata"]["uid"] and \
            current["metadata"].get("generation") == disk["metadata"].get("generation")

    # ---- changes to a Ready disk ---------------------------------------------------------------

    def _storage_class_change(self, disk, status):
        wanted = (disk.get("spec", {}).get("persistentVolumeClaim") or {}).get("storageClassName")
        current = status.get("storageClassName")
        return wanted if wanted and current and wanted != current else None

    async def _apply_spec_change(self, disk, status):
        generation = disk["metadata"].get("generation", 1)
        wanted_sc = self._storage_class_change(disk, status)
        if wanted_sc:
            await self._migrate(disk, status, wanted_sc)
            return
        size = (disk["spec"].get("persistentVolumeClaim") or {}).get("size")
        current = status.get("capacity")
        if size and current and quantity.parse_bytes(size) > quantity.parse_bytes(current):
            status["phase"] = "Resizing"
            set_condition(self.cluster, status, "Resizing", "True", "InProgress", "The disk is being resized.", generation)
            self.write_status(disk, status)
            self.event(disk, "Resizing", f"Resizing the disk from {current} to {size}")
            await self.sleep(2.0)
            capacity = quantity.to_binary_quantity(quantity.round_up(quantity.parse_bytes(size)))
            pvc = (status.get("target") or {}).get("persistentVolumeClaimName")
            if pvc:
                storage.ensure_pvc(self.cluster, disk, pvc, status.get("storageClassName"), capacity)
            status["capacity"] = capacity
            self.event(disk, "Resized", f"The disk has been resized to {capacity}")
        if any(c["type"] == "Migrating" for c in status.get("conditions", [])):
            # The guide: returning the storage class to the original one cancels the migration.
            self._forget_migration(disk)
            self.event(disk, "MigrationCanceled",
                       f'Volume migration canceled: the disk stays in StorageClass "{status.get("storageClassName")}"')
        status["phase"] = "Ready"
        status["observedGeneration"] = generation
        status["conditions"] = [c for c in status.get("conditions", []) if c["type"] not in ("Resizing", "Migrating")]
        self.write_status(disk, status)

    # ---- storage class change: a volume migration ---------------------------------------------

    async def _migrate(self, disk, status, wanted_sc):
        """Move the volume to another storage class. As in DVP (EE), only while a running VM mounts the
        disk; until then the change waits and is retried whenever the VM changes."""
        generation = disk["metadata"].get("generation", 1)
        if storage.storage_class(self.cluster, wanted_sc) is None:
            set_condition(self.cluster, status, "Migrating", "False", "StorageClassNotFound",
                          f'StorageClass "{wanted_sc}" not found.', generation)
            self.write_status(disk, status)
            return
        mounted = [a["name"] for a in status.get("attachedToVirtualMachines") or [] if a.get("mounted")]
        if not mounted:
            hotplugged = [a for a in self.cluster.store.iter(kinds.get("VirtualMachineBlockDeviceAttachment"),
                                                             disk["metadata"]["namespace"])
                          if (a.get("spec") or {}).get("blockDeviceRef") == {"kind": "VirtualDisk",
                                                                              "name": disk["metadata"]["name"]}
                          and (a.get("status") or {}).get("phase") == "Attached"]
            if hotplugged:
                # User guide: only disks connected statically via .spec.blockDeviceRefs can change storage class.
                message = (f'Storage class migration is only available for disks connected statically via '
                           f'.spec.blockDeviceRefs: the disk is attached to VirtualMachine '
                           f'"{hotplugged[0]["spec"].get("virtualMachineName")}" by VirtualMachineBlockDeviceAttachment '
                           f'"{hotplugged[0]["metadata"]["name"]}"; reattach it statically to migrate it.')
            else:
                message = (f'The change to StorageClass "{wanted_sc}" is a volume migration: it starts when a '
                           "running virtual machine mounts the disk.")
            set_condition(self.cluster, status, "Migrating", "False", "WaitForTargetReady", message, generation)
            self.write_status(disk, status)
            return
        meta = disk["metadata"]
        source_pvc = (status.get("target") or {}).get("persistentVolumeClaimName")
        target_pvc = f"vd-{meta['name']}-{meta['uid'][:8]}-{generation}"
        key = (meta["namespace"], meta["name"], meta["uid"], wanted_sc)
        failures, due = self._migration_attempts.get(key, (0, True))
        if not due:
            return  # backing off; a timer marks the next attempt due and kicks the disk
        started = self.cluster.clock.timestamp()
        why = self._migration_blocker(meta["namespace"], mounted[0])
        if why:
            failures += 1
            delay = migration_retry_delay(failures)
            self._migration_attempts[key] = (failures, False)
            message = (f'Volume migration to StorageClass "{wanted_sc}" failed (attempt {failures}): {why}; '
                       f"next attempt in {delay:.0f}s.")
            status["migrationState"] = {"sourcePVC": source_pvc, "targetPVC": target_pvc, "result": "Failed",
                                        "message": message, "startTimestamp": started,
                                        "endTimestamp": self.cluster.clock.timestamp()}
            set_condition(self.cluster, status, "Migrating", "False", "WaitForTargetReady", message, generation)
            if self.write_status(disk, status) is not None:
                self.event(disk, "MigrationFailed", message, "Warning")
            self._retry_later(key, delay)
            return
        self._migration_attempts.pop(key, None)
        status["phase"] = "Migrating"
        status["migrationState"] = {"sourcePVC": source_pvc, "targetPVC": target_pvc,
                                    "startTimestamp": self.cluster.clock.timestamp()}
        set_condition(self.cluster, status, "Migrating", "True", "InProgress",
                      f'Migrating the volume to StorageClass "{wanted_sc}" (VM {mounted[0]}).', generation)
        if self.write_status(disk, status) is None:
            return
        self.event(disk, "Migrating", f'Volume migration to StorageClass "{wanted_sc}" started')
        vm, target = self._start_vm_migration(meta["namespace"], mounted[0])
        await self.sleep(3.0)
        if not self._still_current(disk):
            self._end_vm_migration(vm, target, succeeded=False)
            return
        self._end_vm_migration(vm, target, succeeded=True)
        storage.ensure_pvc(self.cluster, disk, target_pvc, wanted_sc, status.get("capacity"))
        if source_pvc:
            storage.delete_pvc(self.cluster, meta["namespace"], source_pvc)
        status.update({"phase": "Ready", "storageClassName": wanted_sc, "observedGeneration": generation,
                       "target": {"persistentVolumeClaimName": target_pvc}})
        status["migrationState"].update({"result": "Succeeded", "endTimestamp": self.cluster.clock.timestamp()})
        status["conditions"] = [c for c in status.get("conditions", []) if c["type"] != "Migrating"]
        if self.write_status(disk, status) is not None:
            self.event(disk, "Migrated", f'The volume now lives in StorageClass "{wanted_sc}"')

    def _migration_blocker(self, namespace, vm_name):
        """Why the VM's live migration (which carries the volume) cannot run now, or None."""
        vm = self.get(namespace, vm_name, kinds.get("VirtualMachine"))
        if vm is None:
            return f'VirtualMachine "{vm_name}" not found'
        source = (vm.get("status") or {}).get("nodeName")
        target, why = migration.pick_target(self, vm, source)
        if target is None:
            return f"no node other than {source} can take the virtual machine {vm_name}: {why}"
        return None

    def _start_vm_migration(self, namespace, vm_name):
        """The guide: "After the disk configuration is updated, a live migration of the VM will be initiated"."""
        vm = self.get(namespace, vm_name, kinds.get("VirtualMachine"))
        source = ((vm or {}).get("status") or {}).get("nodeName")
        target = migration.pick_target(self, vm, source)[0] if vm else None
        if target is None:
            return vm, None
        migration.set_vm_migration(self, vm, "Migrating", {"startTimestamp": self.cluster.clock.timestamp(),
                                                           "source": {"node": source}, "target": {"node": target},
                                                           "result": ""}, migrating=("True", "InProgress", ""))
        self.cluster.record_event(vm, "Normal", "Migrating",
                                  f"Live migration from {source} to {target} started (volume migration)")
        return vm, target

    def _end_vm_migration(self, vm, target, succeeded):
        if target is None:
            return
        vm = self.get(vm["metadata"]["namespace"], vm["metadata"]["name"], kinds.get("VirtualMachine"))
        if vm is None or (vm.get("status") or {}).get("phase") != "Migrating":
            return  # stopped or deleted meanwhile
        state = {**vm["status"].get("migrationState", {}), "result": "Succeeded" if succeeded else "Failed",
                 "endTimestamp": self.cluster.clock.timestamp()}
        migration.set_vm_migration(self, vm, "Running", state, migrating=None, node=target if succeeded else None)
        if succeeded:
            self.cluster.record_event(vm, "Normal", "Migrated", f"Live migration to {target} completed (volume migration)")

    def _retry_later(self, key, seconds):
        async def later():
            await self.sleep(seconds)
            if key in self._migration_attempts:
                self._migration_attempts[key] = (self._migration_attempts[key][0], True)
                self.kick(key[0], key[1])
        task = asyncio.get_running_loop().create_task(later())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    def _forget_migration(self, disk):
        meta = disk["metadata"]
        for key in [k for k in self._migration_attempts if k[:3] == (meta["namespace"], meta["name"], meta["uid"])]:
            del self._migration_attempts[key]
