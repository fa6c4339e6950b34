"""Helpers for dvpsim tests: typed access to the DVP kinds through the official client, and waiting."""

import time
import uuid

from kubernetes import client

from tests.guide import CLOUD_INIT

GROUP = "virtualization.deckhouse.io"
VERSION = "v1alpha2"

GUIDE_USER_DATA = CLOUD_INIT


class Dvp:
    """CRUD on DVP kinds in one namespace as one user."""

    def __init__(self, sim, namespace, user="admin"):
        self.sim = sim
        self.namespace = namespace
        self.api_client = sim.api(user)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.core = client.CoreV1Api(self.api_client)

    def create(self, plural, body):
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": _kind(plural), **body}
        if plural in CLUSTER_SCOPED:
            return self.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, body)

    def get(self, plural, name):
        if plural in CLUSTER_SCOPED:
            return self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def find(self, plural, name):
        try:
            return self.get(plural, name)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, plural, name, body):
        if plural in CLUSTER_SCOPED:
            return self.custom.patch_cluster_custom_object(GROUP, VERSION, plural, name, body)
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name, body)

    def delete(self, plural, name):
        if plural in CLUSTER_SCOPED:
            return self.custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)
        return self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def wait(self, plural, name, predicate, timeout=20.0):
        """Poll until predicate(obj) is true; returns the object."""
        deadline = time.monotonic() + timeout
        obj = None
        while time.monotonic() < deadline:
            obj = self.find(plural, name)
            if obj is not None and predicate(obj):
                return obj
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {plural}/{name}; last seen: {obj and obj.get('status')}")

    def wait_phase(self, plural, name, phase, timeout=20.0):
        return self.wait(plural, name, lambda o: (o.get("status") or {}).get("phase") == phase, timeout)

    def wait_gone(self, plural, name, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.find(plural, name) is None:
                return
            time.sleep(0.05)
        raise AssertionError(f"{plural}/{name} is still there")

    def events_about(self, name):
        return [e for e in self.core.list_namespaced_event(self.namespace).items if e.involved_object.name == name]


CLUSTER_SCOPED = {"clustervirtualimages", "virtualmachineipaddressleases", "virtualmachineclasses",
                  "virtualmachinemacaddressleases"}
_KINDS = {
    "virtualimages": "VirtualImage", "clustervirtualimages": "ClusterVirtualImage", "virtualdisks": "VirtualDisk",
    "virtualdisksnapshots": "VirtualDiskSnapshot",
    "virtualmachines": "VirtualMachine", "virtualmachineoperations": "VirtualMachineOperation",
    "virtualmachineipaddresses": "VirtualMachineIPAddress",
    "virtualmachineipaddressleases": "VirtualMachineIPAddressLease", "virtualmachineclasses": "VirtualMachineClass",
    "virtualmachineblockdeviceattachments": "VirtualMachineBlockDeviceAttachment",
    "virtualmachinesnapshots": "VirtualMachineSnapshot",
    "virtualmachinesnapshotoperations": "VirtualMachineSnapshotOperation",
    "virtualmachinemacaddresses": "VirtualMachineMACAddress",
    "virtualmachinemacaddressleases": "VirtualMachineMACAddressLease",
}


def _kind(plural):
    return _KINDS[plural]


def fresh_namespace(sim, prefix):
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(sim.api("admin")).create_namespace({"metadata": {"name": name}})
    return name


def condition(obj, type_):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            return cond
    return None


def sample_url(sim, name):
    return f"{sim.url}/dvpsim/samples/{name}"


def http_image(sim, name, file, **extra_http):
    return {"metadata": {"name": name},
            "spec": {"storage": "ContainerRegistry",
                     "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim, file), **extra_http}}}}


def vm_body(name, disk=None, cores=1, memory="1Gi", user_data=GUIDE_USER_DATA, **spec):
    body = {"metadata": {"name": name},
            "spec": {"cpu": {"cores": cores}, "memory": {"size": memory},
                     "blockDeviceRefs": [{"kind": "VirtualDisk", "name": disk or f"{name}-root"}], **spec}}
    if user_data:
        body["spec"]["provisioning"] = {"type": "UserData", "userData": user_data}
    return body


def blank_disk(name, size="1Gi", storage_class=None):
    pvc = {"size": size}
    if storage_class:
        pvc["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": {"persistentVolumeClaim": pvc}}
