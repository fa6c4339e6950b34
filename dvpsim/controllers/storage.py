"""Storage classes and the PersistentVolumeClaims behind disks and PVC-stored images."""

from dvpsim import kinds
from dvpsim.errors import AlreadyExists, NotFound

DEFAULT_SC_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
NO_DEFAULT_SC = ("the default storage class was not found in either the cluster or the module settings; "
                 "please specify a storage class name explicitly in the spec")


def module_settings(cluster) -> dict:
    config = cluster.store.get(kinds.get("ModuleConfig"), None, "virtualization") or {}
    return (config.get("spec") or {}).get("settings") or {}


def storage_class_name(cluster, requested: str | None, module_key: str = "virtualDisks") -> str | None:
    if requested:
        return requested
    configured = (module_settings(cluster).get(module_key) or {}).get("defaultStorageClassName")
    if configured:
        return configured
    for sc in cluster.store.list(kinds.get("StorageClass")):
        if (sc["metadata"].get("annotations") or {}).get(DEFAULT_SC_ANNOTATION) == "true":
            return sc["metadata"]["name"]
    return None


def storage_class(cluster, name: str) -> dict | None:
    return cluster.store.get(kinds.get("StorageClass"), None, name)


# Provisioners of node-local volumes: their StorageProfile offers ReadWriteOnce only, so a VM using such a disk cannot
# live-migrate (replicated and NFS volumes are ReadWriteMany).
LOCAL_PROVISIONERS = ("local.csi.storage.deckhouse.io", "rancher.io/local-path", "kubernetes.io/no-provisioner")


def access_modes(cluster, storage_class_name: str | None) -> list[str]:
    sc = storage_class(cluster, storage_class_name) if storage_class_name else None
    return ["ReadWriteOnce"] if sc and sc.get("provisioner") in LOCAL_PROVISIONERS else ["ReadWriteMany"]


def waits_for_first_consumer(sc: dict | None) -> bool:
    return bool(sc) and sc.get("volumeBindingMode") == "WaitForFirstConsumer"


def ensure_pvc(cluster, owner: dict, name: str, storage_class: str, capacity: str, node: str | None = None):
    """Create or grow the Bound PVC of a disk or image (owned by it, so it goes when it goes)."""
    kind = kinds.get("PersistentVolumeClaim")
    namespace = owner["metadata"]["namespace"]
    pvc = cluster.store.get(kind, namespace, name)
    if pvc is None:
        annotations = {"volume.kubernetes.io/selected-node": node} if node else {}
        pvc = {
            "metadata": {
                "name": name, "namespace": namespace, "annotations": annotations,
                "ownerReferences": [{
                    "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}],
            },
            "spec": {"accessModes": access_modes(cluster, storage_class), "volumeMode": "Block",
                     "storageClassName": storage_class, "resources": {"requests": {"storage": capacity}},
                     "volumeName": f"pvc-{owner['metadata']['uid']}"},
            "status": {"phase": "Bound", "accessModes": access_modes(cluster, storage_class),
                       "capacity": {"storage": capacity}},
        }
        try:
            return cluster.create(kind, pvc)
        except AlreadyExists:
            pvc = cluster.store.get(kind, namespace, name)
    if pvc["spec"]["resources"]["requests"].get("storage") != capacity:
        pvc["spec"]["resources"]["requests"]["storage"] = capacity
        pvc["metadata"].pop("resourceVersion", None)
        pvc = cluster.update(kind, pvc)
        pvc["status"] = {"phase": "Bound", "accessModes": pvc["spec"]["accessModes"], "capacity": {"storage": capacity}}
        pvc = cluster.update_status(kind, pvc)
    return pvc


def delete_pvc(cluster, namespace: str, name: str):
    try:
        cluster.delete(kinds.get("PersistentVolumeClaim"), namespace, name)
    except NotFound:
        pass
