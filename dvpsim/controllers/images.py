"""VirtualImage and ClusterVirtualImage: import into (simulated) DVCR or a PVC.

HTTP sources are really downloaded; the bytes decide the format and sizes.
"""

import time

from dvpsim import kinds, oci_pull, quantity
from dvpsim.controllers import importer, snapshots, storage
from dvpsim.controllers.base import (Controller, condition, is_deleting, remove_condition, set_condition,
                                     status_of)
from dvpsim.controllers.uploads import UploadSink
from dvpsim.controllers.usage import vms_using

DVCR = "dvcr.d8-virtualization.svc"
PROGRESS_EVERY_SECONDS = 1.0
SOURCE_KINDS = ("VirtualImage", "ClusterVirtualImage", "VirtualDisk", "VirtualDiskSnapshot")


class _ProgressReporter:
    """on_progress for a download: writes progress and speed at most every PROGRESS_EVERY_SECONDS of cluster
    time, and stops the download (cancelled = True) once the image is deleted or its spec changes."""

    def __init__(self, controller, image, status):
        self.controller = controller
        self.image = image
        self.status = status
        self.cancelled = False
        self.last_write = time.monotonic()

    async def __call__(self, progress: importer.Progress):
        controller, image, status = self.controller, self.image, self.status
        if controller.elapsed(self.last_write) < PROGRESS_EVERY_SECONDS:
            return
        self.last_write = time.monotonic()
        current = controller.get(image["metadata"].get("namespace", ""), image["metadata"]["name"])
        if current is None or current["metadata"]["uid"] != image["metadata"]["uid"] or \
                current["metadata"].get("generation") != image["metadata"].get("generation"):
            self.cancelled = True
            raise importer.ImportFailed("cancelled")
        if progress.percent is not None:
            status["progress"] = f"{min(progress.percent, 100.0):.1f}%"
        status["downloadSpeed"] = {
            "avg": quantity.humanize(progress.avg) + "/s", "avgBytes": str(int(progress.avg)),
            "current": quantity.humanize(progress.current) + "/s", "currentBytes": str(int(progress.current)),
        }
        controller.write_status(image, status)


class _ImageController(UploadSink, Controller):
    related = ("VirtualMachine", "Secret", "PersistentVolumeClaim", *SOURCE_KINDS)

    def on_related(self, event_type, kind, obj):
        if kind.kind == "PersistentVolumeClaim":  # a lost PVC makes its PVC-stored image PVCLost
            if event_type == "DELETED" and self.kind.namespaced:
                for image in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"]):
                    if ((image.get("status") or {}).get("target") or {}).get("persistentVolumeClaimName") == \
                            obj["metadata"]["name"]:
                        self.kick(image["metadata"]["namespace"], image["metadata"]["name"])
            return
        if kind.kind == "Secret":
            # An image pulled with this imagePullSecret may be waiting for it.
            for image in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"] if self.kind.namespaced else None):
                pull_secret = ((image.get("spec", {}).get("dataSource") or {}).get("containerImage") or {}).get(
                    "imagePullSecret") or {}
                if pull_secret.get("name") == obj["metadata"]["name"] and (
                        self.kind.namespaced or pull_secret.get("namespace") == obj["metadata"]["namespace"]):
                    self.kick(image["metadata"].get("namespace", ""), image["metadata"]["name"])
            return
        if kind.kind == "VirtualMachine":
            disks = set()
            for ref in obj.get("spec", {}).get("blockDeviceRefs") or []:
                if ref.get("kind") == self.primary:
                    self.kick(obj["metadata"]["namespace"] if self.kind.namespaced else "", ref.get("name"))
                elif ref.get("kind") == "VirtualDisk":
                    disks.add(ref.get("name"))
            # An image made from a disk waits for the VM that runs it to stop.
            if disks:
                for image in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"] if self.kind.namespaced else None):
                    ref = (image.get("spec", {}).get("dataSource") or {}).get("objectRef") or {}
                    if ref.get("kind") == "VirtualDisk" and ref.get("name") in disks and \
                            (ref.get("namespace") or image["metadata"].get("namespace")) == obj["metadata"]["namespace"]:
                        self.kick(image["metadata"].get("namespace", ""), image["metadata"]["name"])
            # A VM that dropped its reference may be what a Terminating image waits for.
            for image in self.cluster.store.iter(self.kind, obj["metadata"]["namespace"] if self.kind.namespaced else None):
                if image["metadata"].get("deletionTimestamp"):
                    self.kick(image["metadata"].get("namespace", ""), image["metadata"]["name"])
        else:
            # An image made from another object waits for it to be Ready.
            scope = obj["metadata"].get("namespace") if self.kind.namespaced else None
            for image in self.cluster.store.iter(self.kind, scope):
                ref = (image.get("spec", {}).get("dataSource") or {}).get("objectRef") or {}
                if ref.get("kind") == kind.kind and ref.get("name") == obj["metadata"]["name"]:
                    self.kick(image["metadata"].get("namespace", ""), image["metadata"]["name"])

    async def reconcile(self, namespace, name):
        image = self.get(namespace, name)
        if image is None:
            return
        users = vms_using(self.cluster, self.primary, namespace, name)
        if is_deleting(image):
            await self._finalize(image, users)
            return
        image = self.set_finalizer(image, True)
        status = status_of(image)
        generation = image["metadata"].get("generation", 1)
        phase = status.get("phase")
        if phase == "PVCLost" or (phase == "Ready" and self.pvc_lost(image, status, "image")):
            self._track_usage(image, status, users)
            return
        if status.get("phase") in ("Ready", "Failed") and status.get("observedGeneration") == generation:
            self._track_usage(image, status, users)
            return
        source = image.get("spec", {}).get("dataSource") or {}
        type_ = source.get("type")
        if type_ == "HTTP":
            await self._import_http(image, source["http"])
        elif type_ == "ObjectRef":
            await self._import_object(image, source["objectRef"])
        elif type_ == "ContainerImage":
            await self._import_container_image(image, source["containerImage"])
        elif type_ == "Upload":
            self._wait_for_upload(image)

    async def _finalize(self, image, users):
        status = status_of(image)
        if users:
            if status.get("phase") != "Terminating":
                status["phase"] = "Terminating"
                set_condition(self.cluster, status, "Terminating", "True", "CleanupPending",
                              "The image is in use by " + ", ".join(v["metadata"]["name"] for v in users))
                self.write_status(image, status)
                self.event(image, "Terminating", "Waiting for the virtual machines to release the image")
            return
        target_pvc = (status.get("target") or {}).get("persistentVolumeClaimName")
        if target_pvc and self.kind.namespaced:
            storage.delete_pvc(self.cluster, image["metadata"]["namespace"], target_pvc)
        self.set_finalizer(image, False)

    def _track_usage(self, image, status, users):
        if users:
            set_condition(self.cluster, status, "InUse", "True", "AttachedToVirtualMachine",
                          "The image is used by virtual machines.")
        else:
            remove_condition(status, "InUse")
        if self.primary == "ClusterVirtualImage":
            namespaces = sorted({v["metadata"]["namespace"] for v in users})
            if namespaces:
                status["usedInNamespaces"] = namespaces
            else:
                status.pop("usedInNamespaces", None)
        self.write_status(image, status)

    # ---- the provisioning paths --------------------------------------------------------------

    def _provisioning_status(self, image):
        status = status_of(image)
        generation = image["metadata"].get("generation", 1)
        for key in ("format", "cdrom", "size", "target", "downloadSpeed", "progress"):
            status.pop(key, None)
        status["cdrom"] = False  # the guide's `get vi -w` shows CDROM false while Provisioning
        status["phase"] = "Provisioning"
        status["observedGeneration"] = generation
        status["sourceUID"] = image["metadata"]["uid"]
        set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)
        set_condition(self.cluster, status, "Ready", "False", "Provisioning", "Import is in the process of provisioning to DVCR.", generation)
        return status

    async def _import_http(self, image, http):
        status = self._provisioning_status(image)
        if self.write_status(image, status) is None:
            return
        self.event(image, "Provisioning", f"Import of the image from {http.get('url')} started")
        status["progress"] = "0.0%"  # the guide's `get vi -w`: a row without progress, then 0.0%
        if self.write_status(image, status) is None:
            return
        on_progress = _ProgressReporter(self, image, status)
        try:
            info, sniffer = await importer.download(http, on_progress)
        except importer.ImportFailed as exc:
            if not on_progress.cancelled:
                self._fail(image, status, f"Failed to download the image: {exc}")
            return
        await self._imported(image, status, info, sniffer)

    async def _imported(self, image, status, info, sniffer):
        """The end of an HTTP download or a registry pull: measured alike, then pushed into DVCR."""
        status["progress"] = "100.0%"
        self.write_status(image, status)
        await self.sleep(1.0)  # pushing the layer into DVCR
        self._ready(image, status, info.format, info.cdrom, sniffer.stored_bytes, info.virtual_size)

    async def _import_object(self, image, ref):
        source_kind = kinds.get(ref.get("kind")) if ref.get("kind") in SOURCE_KINDS else None
        namespace = ref.get("namespace") or image["metadata"].get("namespace")
        source = self.get(namespace, ref.get("name"), source_kind) if source_kind else None
        status = status_of(image)
        generation = image["metadata"].get("generation", 1)
        if source is None or (source.get("status") or {}).get("phase") != "Ready":
            status["phase"] = "Pending"
            status["observedGeneration"] = generation
            missing = source is None
            reason = {"ClusterVirtualImage": "ClusterImageNotReady", "VirtualImage": "ImageNotReady",
                      "VirtualDisk": "VirtualDiskNotReady", "VirtualDiskSnapshot": "VirtualDiskSnapshotNotReady"}.get(ref.get("kind"), "ImageNotReady")
            what = f'{ref.get("kind")} "{ref.get("name")}"'
            set_condition(self.cluster, status, "DatasourceReady", "False", reason,
                          f"{what} not found." if missing else f"{what} is not ready yet.", generation)
            set_condition(self.cluster, status, "Ready", "False", "ProvisioningNotStarted",
                          "Waiting for the data source to be ready.", generation)
            self.write_status(image, status)
            return
        if ref.get("kind") == "VirtualDisk":
            running = [v["metadata"]["name"] for v in vms_using(self.cluster, "VirtualDisk", namespace, ref.get("name"))
                       if (v.get("status") or {}).get("phase") not in (None, "Stopped")]
            if running:
                # User guide, "Creating an image from a disk": the disk must be detached or its VM powered off.
                status["phase"] = "Pending"
                status["observedGeneration"] = generation
                message = (f'The VirtualDisk "{ref.get("name")}" is attached to the running VirtualMachine '
                           f'"{running[0]}": stop the virtual machine or detach the disk to create an image from it.')
                before = (condition(status, "DatasourceReady") or {}).get("message")
                set_condition(self.cluster, status, "DatasourceReady", "False", "VirtualDiskAttachedToVirtualMachine",
                              message, generation)
                set_condition(self.cluster, status, "Ready", "False", "ProvisioningNotStarted",
                              "Waiting for the data source to be ready.", generation)
                if self.write_status(image, status) is not None and before != message:
                    self.event(image, "VirtualDiskAttachedToVirtualMachine", message, "Warning")
                return
        status = self._provisioning_status(image)
        self.write_status(image, status)
        self.event(image, "Provisioning", f'Import from {ref.get("kind")} "{ref.get("name")}" started')
        await self.sleep(2.0)
        src = source["status"]
        if ref.get("kind") == "VirtualDiskSnapshot":
            unpacked = snapshots.restore_size(source)
            self._ready(image, status, "raw", False, unpacked, unpacked)
            return
        if ref.get("kind") == "VirtualDisk":
            unpacked = quantity.parse_bytes(src.get("capacity", "0"))
            self._ready(image, status, "raw", False, unpacked, unpacked)
            return
        size = src.get("size") or {}
        self._ready(image, status, src.get("format", "raw"), bool(src.get("cdrom")),
                    int(size.get("storedBytes", 0)), int(size.get("unpackedBytes", 0)))

    async def _import_container_image(self, image, container_image):
        reference = container_image.get("image", "")
        # VI: the Secret is in the image's namespace; CVI names its namespace (dvp-api-notes.md §3.1).
        namespace = image["metadata"]["namespace"] if self.kind.namespaced else \
            (container_image.get("imagePullSecret") or {}).get("namespace")
        try:
            credentials = oci_pull.pull_credentials(self.cluster, namespace, container_image)
        except oci_pull.SecretNotFound:
            self._wait_for_pull_secret(image)
            return
        status = self._provisioning_status(image)
        if self.write_status(image, status) is None:
            return
        self.event(image, "Provisioning", f"Import of the image from {reference} started")
        status["progress"] = "0.0%"
        if self.write_status(image, status) is None:
            return
        reporter = _ProgressReporter(self, image, status)
        try:
            info, sniffer = await oci_pull.pull(reference, credentials, container_image.get("caBundle"), reporter)
        except (oci_pull.PullFailed, importer.ImportFailed) as exc:
            if not reporter.cancelled:
                self._fail(image, status, f"Failed to pull the image: {exc}")
            return
        await self._imported(image, status, info, sniffer)  # the file under /disk/, measured as a download is

    def _wait_for_pull_secret(self, image):
        status = status_of(image)
        generation = image["metadata"].get("generation", 1)
        before = (condition(status, "DatasourceReady") or {}).get("reason")
        status["phase"] = "Pending"
        status["observedGeneration"] = generation
        # DVP's source.ErrSecretNotFound, capitalised by the DatasourceReady handler.
        set_condition(self.cluster, status, "DatasourceReady", "False", "ContainerRegistrySecretNotFound",
                      "Container registry secret not found.", generation)
        set_condition(self.cluster, status, "Ready", "False", "ProvisioningNotStarted",
                      "Waiting for the data source to be ready.", generation)
        if self.write_status(image, status) is not None and before != "ContainerRegistrySecretNotFound":
            self.event(image, "ContainerRegistrySecretNotFound", "Container registry secret not found", "Warning")

    async def _upload_done(self, image, status, info, stored):
        status["progress"] = "100%"
        self.write_status(image, status)
        await self.sleep(1.0)  # pushing the layer into DVCR
        self._ready(image, status, info.format, info.cdrom, stored, info.virtual_size)

    # ---- outcomes -------------------------------------------------------------------------

    def _ready(self, image, status, format_, cdrom, stored, unpacked):
        generation = image["metadata"].get("generation", 1)
        status.pop("downloadSpeed", None)
        status.update({
            "phase": "Ready",
            "progress": "100%",
            "format": format_,
            "cdrom": bool(cdrom),
            "size": {"stored": quantity.humanize(stored), "storedBytes": str(stored),
                     "unpacked": quantity.humanize(unpacked), "unpackedBytes": str(unpacked)},
            "target": self._target(image, unpacked),
            "observedGeneration": generation,
        })
        if "persistentVolumeClaimName" in status["target"]:
            # dvp-api-notes §4.2: a PVC-stored VirtualImage reports its storageClassName.
            sc = storage.storage_class_name(self.cluster, ((image.get("spec") or {}).get("persistentVolumeClaim") or {})
                                            .get("storageClassName"), "virtualImages")
            if sc:
                status["storageClassName"] = sc
        set_condition(self.cluster, status, "Ready", "True", "Ready", "", generation)
        if self.write_status(image, status) is not None:
            self.event(image, "Ready", "The image is ready: " + format_ + ", " + quantity.humanize(unpacked))

    def _target(self, image, unpacked):
        meta = image["metadata"]
        if self.primary == "ClusterVirtualImage":
            return {"registryURL": f"{DVCR}/cvi/{meta['name']}:{meta['uid']}"}
        spec = image.get("spec", {})
        if spec.get("storage") in ("PersistentVolumeClaim", "Kubernetes"):
            sc = storage.storage_class_name(self.cluster, (spec.get("persistentVolumeClaim") or {}).get(
                "storageClassName"), "virtualImages")
            pvc_name = f"vi-{meta['name']}-{meta['uid']}"
            capacity = quantity.to_binary_quantity(quantity.round_up(unpacked))
            if sc:
                storage.ensure_pvc(self.cluster, image, pvc_name, sc, capacity)
            return {"persistentVolumeClaimName": pvc_name}
        return {"registryURL": f"{DVCR}/vi/{meta['namespace']}/{meta['name']}:{meta['uid']}"}

    def _fail(self, image, status, message):
        generation = image["metadata"].get("generation", 1)
        status.pop("downloadSpeed", None)
        status["phase"] = "Failed"
        status["observedGeneration"] = generation
        set_condition(self.cluster, status, "Ready", "False", "ProvisioningFailed", message, generation)
        if self.write_status(image, status) is not None:
            self.event(image, "ProvisioningFailed", message, "Warning")


class VirtualImageController(_ImageController):
    primary = "VirtualImage"


class ClusterVirtualImageController(_ImageController):
    primary = "ClusterVirtualImage"
