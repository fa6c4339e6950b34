"""`dataSource.type: Upload` for images and disks: the status side of dvpsim/upload.py's endpoint.

WaitForUserUpload with `status.imageUploadURLs` → Provisioning with progress while the bytes
arrive → Ready (format and sizes from the bytes) or Failed. An interrupted upload goes back to
WaitForUserUpload (the URL stays valid); a checksum mismatch or bad data is final, as in DVP.
"""

import time

from dvpsim import quantity
from dvpsim.controllers.base import set_condition, status_of
from dvpsim import upload  # a module import: dvpsim.upload imports the controllers package too

PROGRESS_EVERY_SECONDS = 1.0


class UploadSink:
    """Mixed into a Controller. Subclasses implement `_upload_done(obj, status, info, stored)`."""

    upload_progress_scale = 1.0   # a disk's upload is the first half of its provisioning

    def _wait_for_upload(self, obj, status=None):
        endpoint = upload.uploads_of(self.cluster).open(self.primary, obj, self)
        if endpoint.busy or endpoint.finished:
            return  # receiving (the endpoint writes the progress) or done (the outcome is written)
        status = status if status is not None else status_of(obj)
        urls = upload.uploads_of(self.cluster).urls(endpoint)
        if status.get("phase") == "WaitForUserUpload" and status.get("imageUploadURLs") == urls:
            return
        generation = obj["metadata"].get("generation", 1)
        status["phase"] = "WaitForUserUpload"
        status["observedGeneration"] = generation
        status["imageUploadURLs"] = urls
        status.pop("progress", None)
        set_condition(self.cluster, status, "DatasourceReady", "True", "DatasourceReady", "", generation)
        set_condition(self.cluster, status, "Ready", "False", "WaitForUserUpload", "Waiting for the user upload.",
                      generation)
        if self.write_status(obj, status) is not None:
            self.event(obj, "WaitForUserUpload", "The upload URL is ready: waiting for the user to upload the image")

    def _endpoint_object(self, endpoint):
        _, namespace, name = endpoint.key
        obj = self.get(namespace, name)
        if obj is None or obj["metadata"]["uid"] != endpoint.uid:
            return None
        return obj

    async def upload_started(self, endpoint, total):
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        generation = obj["metadata"].get("generation", 1)
        status["phase"] = "Provisioning"
        status["progress"] = "0%"
        set_condition(self.cluster, status, "Ready", "False", "Provisioning", "The image is being uploaded.",
                      generation)
        endpoint.last_write = time.monotonic()
        if self.write_status(obj, status) is not None:
            size = f" ({quantity.humanize(total)})" if total else ""
            self.event(obj, "Provisioning", f"The upload of the image{size} started")

    async def upload_progress(self, endpoint, progress):
        if self.elapsed(endpoint.last_write) < PROGRESS_EVERY_SECONDS or progress.percent is None:
            return
        endpoint.last_write = time.monotonic()
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        status["progress"] = f"{min(progress.percent, 100.0) * self.upload_progress_scale:.0f}%"
        status["downloadSpeed"] = {
            "avg": quantity.humanize(progress.avg) + "/s", "avgBytes": str(int(progress.avg)),
            "current": quantity.humanize(progress.current) + "/s", "currentBytes": str(int(progress.current)),
        }
        self.write_status(obj, status)

    async def upload_interrupted(self, endpoint, received, total):
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        generation = obj["metadata"].get("generation", 1)
        status["phase"] = "WaitForUserUpload"
        status.pop("progress", None)
        status.pop("downloadSpeed", None)
        of = f" of {quantity.humanize(total)}" if total else ""
        message = f"The upload was interrupted after {quantity.humanize(received)}{of}; upload the image again."
        set_condition(self.cluster, status, "Ready", "False", "WaitForUserUpload", message, generation)
        if self.write_status(obj, status) is not None:
            self.event(obj, "UploadInterrupted", message, "Warning")

    async def upload_failed(self, endpoint, message):
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        status.pop("imageUploadURLs", None)
        status.pop("downloadSpeed", None)
        self._fail_upload(obj, status, "ProvisioningFailed", f"Failed to upload the image: {message}")

    async def upload_timed_out(self, endpoint):
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        status.pop("imageUploadURLs", None)
        self._fail_upload(obj, status, "WaitForUserUploadTimeout",
                          f"The image was not uploaded within 10 minutes. Recreate the {self.primary} "
                          "to upload the image again.")

    def _fail_upload(self, obj, status, reason, message):
        generation = obj["metadata"].get("generation", 1)
        status["phase"] = "Failed"
        status["observedGeneration"] = generation
        set_condition(self.cluster, status, "Ready", "False", reason, message, generation)
        if self.write_status(obj, status) is not None:
            self.event(obj, reason, message, "Warning")

    async def upload_finished(self, endpoint, info, stored):
        obj = self._endpoint_object(endpoint)
        if obj is None:
            return
        status = status_of(obj)
        status.pop("imageUploadURLs", None)
        status.pop("downloadSpeed", None)
        await self._upload_done(obj, status, info, stored)
