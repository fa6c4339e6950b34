"""What Deckhouse makes of the `virtualization` ModuleConfig's settings that no DVP controller reads itself: the
image storage's volume (`dvcr.storage.persistentVolumeClaim`: the PVC `d8-virtualization/dvcr`, of that size and
storage class, grown when the size grows: "To expand the storage, increase the value of the parameter") and the
audit component (`audit.enabled`: the Deployment `d8-virtualization/virtualization-audit`). The other settings act
where they are read: virtualMachineCIDRs (controllers/vmip.py), virtualImages/virtualDisks.defaultStorageClassName
(controllers/storage.py), enabled (dvpsim.discovery, controllers/base.py)."""
from dvpsim import kinds
from dvpsim.controllers.base import Controller
from dvpsim.errors import AlreadyExists, NotFound
from dvpsim.quantity import parse

NAMESPACE = "d8-virtualization"
DVCR_PVC = "dvcr"
AUDIT = "virtualization-audit"
LABELS = {"heritage": "deckhouse", "module": "virtualization"}


class ModuleConfigController(Controller):
    primary = "ModuleConfig"

    async def reconcile(self, namespace, name):
        config = self.get(None, name)
        if name != "virtualization" or config is None or not (config.get("spec") or {}).get("enabled"):
            return  # a disabled module's release is gone: nothing of it is kept up to date
        settings = config["spec"].get("settings") or {}
        storage = (settings.get("dvcr") or {}).get("storage") or {}
        pvc = storage.get("persistentVolumeClaim") or {}
        if storage.get("type", "PersistentVolumeClaim") == "PersistentVolumeClaim" and pvc.get("size"):
            self._dvcr_volume(pvc["size"], pvc.get("storageClassName"))
        self._audit((settings.get("audit") or {}).get("enabled") is True)

    def _dvcr_volume(self, size, storage_class):
        kind = kinds.get("PersistentVolumeClaim")
        current = self.cluster.store.get(kind, NAMESPACE, DVCR_PVC)
        if current is None:
            spec = {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": size}}}
            if storage_class:
                spec["storageClassName"] = storage_class
            try:
                made = self.cluster.create(kind, {"metadata": {"name": DVCR_PVC, "namespace": NAMESPACE,
                                                               "labels": dict(LABELS)}, "spec": spec})
            except AlreadyExists:
                return
            made["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}}
            self.cluster.update_status(kind, made)
            return
        requested = current["spec"]["resources"]["requests"].get("storage", "0")
        try:
            smaller = parse(size) <= parse(requested)
        except ValueError:
            return
        if smaller:
            return  # a PVC never shrinks (kube-apiserver refuses it): a smaller size changes nothing
        current["spec"]["resources"]["requests"]["storage"] = size
        current["metadata"].pop("resourceVersion", None)
        grown = self.cluster.update(kind, current)
        grown["status"] = {**(grown.get("status") or {}), "phase": "Bound", "capacity": {"storage": size}}
        self.cluster.update_status(kind, grown)

    def _audit(self, enabled):
        kind = kinds.get("Deployment")
        present = self.cluster.store.get(kind, NAMESPACE, AUDIT) is not None
        if enabled and not present:
            labels = {**LABELS, "app": AUDIT}
            try:
                self.cluster.create(kind, {"metadata": {"name": AUDIT, "namespace": NAMESPACE, "labels": labels},
                                           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": AUDIT}},
                                                    "template": {"metadata": {"labels": labels}, "spec": {
                                                        "containers": [{"name": AUDIT, "image": AUDIT}]}}}})
            except AlreadyExists:
                pass
        elif present and not enabled:
            try:
                self.cluster.delete(kind, NAMESPACE, AUDIT)
            except NotFound:
                pass
