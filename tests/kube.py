"""The tests' side of the simulated cluster: reading and writing DVP objects as its admin, waiting for
them, fresh projects and namespaces, and the bodies the tests create.

Everything here talks to dvpsim over HTTP with the official Kubernetes client (no mocks).
"""

import contextlib
import time
import uuid

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.guide import CLOUD_INIT

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"
GUIDE_USER_DATA = CLOUD_INIT

# The demo data of `dvpsim --demo` (dvpsim/demo.py): only the benchmarks, the browser tests and the tests of
# the demo itself use it; the other console tests work in a fresh project of their own (tests/conftest.py).
PROJECT_A, PROJECT_B = "project-a", "project-b"
# The demo's users there: alice manages project-a, victor views it, bob manages project-b, operator is cluster-admin.
OWNER, MEMBER, OUTSIDER, OPERATOR = "alice", "victor", "bob", "operator"

CLUSTER_SCOPED = {"clustervirtualimages", "virtualmachineipaddressleases", "virtualmachineclasses",
                  "virtualmachinemacaddressleases", "nodeusbdevices"}
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
    "usbdevices": "USBDevice", "nodeusbdevices": "NodeUSBDevice",
}


def _kind(plural):
    return _KINDS[plural]


# ---- DVP objects in one namespace as one user ---------------------------------------------------

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


# ---- The same as functions, as the cluster admin (the console tests' checks) ----------------------

def custom(sim):
    return client.CustomObjectsApi(sim.api("admin"))


def get_dvp(sim, plural, namespace, name):
    try:
        return custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def get_cluster_object(sim, plural, name, group=GROUP, version=VERSION):
    """A cluster-scoped object (a cluster image, a VM class, a Project...); None when there is none."""
    try:
        return custom(sim).get_cluster_custom_object(group, version, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def list_dvp(sim, plural, namespace):
    return custom(sim).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]


def create_dvp(sim, plural, namespace, body):
    return custom(sim).create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, {"apiVersion": f"{GROUP}/{VERSION}", "kind": _kind(plural), **body})


def delete_dvp(sim, plural, namespace, name):
    """Delete if there; a 404 is fine."""
    try:
        custom(sim).delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def wait_for_phase(sim, plural, namespace, name, phase, timeout=30):
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = get_dvp(sim, plural, namespace, name)
        if obj and (obj.get("status") or {}).get("phase") == phase:
            return obj
        time.sleep(0.2)
    raise AssertionError(f"{plural}/{name} did not reach {phase}: {(obj or {}).get('status')}")


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def condition(obj, type_):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            return cond
    return None


# ---- Bodies --------------------------------------------------------------------------------------

def sample_url(sim, name="noble-server-cloudimg-amd64.img"):
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


def stopped_vm(sim, namespace, name):
    """A VM that never runs (AlwaysOff, its disk need not exist): an object to show, list and act on."""
    return create_dvp(sim, "virtualmachines", namespace, {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})


def make_vm(sim, namespace, vm, disk, timeout=60):
    """An empty disk and a VM booting from it, Running."""
    if get_dvp(sim, "virtualmachines", namespace, vm) is None:
        create_dvp(sim, "virtualdisks", namespace, {"metadata": {"name": disk},
                                                    "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
        create_dvp(sim, "virtualmachines", namespace, {"metadata": {"name": vm}, "spec": {
            # A 10% CPU share: the many VMs of a test run fit on the shared simulated nodes.
            "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
            "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": disk}]}})
    return wait_for_phase(sim, "virtualmachines", namespace, vm, "Running", timeout=timeout)


def guest_vm(sim, namespace, name):
    """A VM whose guest can be logged into (the guide's cloud-init: cloud / cloud), Running."""
    if get_dvp(sim, "virtualmachines", namespace, name) is None:
        create_dvp(sim, "virtualdisks", namespace, {"metadata": {"name": f"{name}-root"},
                                                     "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
        create_dvp(sim, "virtualmachines", namespace, {"metadata": {"name": name}, "spec": {
            "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"}, "memory": {"size": "1Gi"},
            "provisioning": {"type": "UserData", "userData": CLOUD_INIT},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})
    return wait_for_phase(sim, "virtualmachines", namespace, name, "Running", timeout=60)


def run_operation(sim, namespace, name, operation):
    """Ask for a VirtualMachineOperation (Stop, Start, ...), as the cluster admin."""
    return custom(sim).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "virtualmachineoperations",
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
         "metadata": {"generateName": f"{name}-"}, "spec": {"type": operation, "virtualMachineName": name}})


def stop_vm(sim, namespace, name):
    return run_operation(sim, namespace, name, "Stop")


def delete_vm(sim, namespace, name):
    """Remove the VM and its disk `<name>-root` (as guest_vm made them)."""
    for plural, object_name in (("virtualmachines", name), ("virtualdisks", f"{name}-root")):
        delete_dvp(sim, plural, namespace, object_name)


# ---- Namespaces and projects -----------------------------------------------------------------------

def fresh_namespace(sim, prefix):
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(sim.api("admin")).create_namespace({"metadata": {"name": name}})
    return name


def make_project(sim, name, roles, timeout=20):
    """A Deckhouse Project made as the cluster admin, its namespace deployed, and a RoleBinding to the
    ClusterRole d8:use:role:<level> (viewer, user, manager, admin) for each user of `roles` {user: level}."""
    api = sim.api("admin")
    client.CustomObjectsApi(api).create_cluster_custom_object("deckhouse.io", "v1alpha2", "projects", {
        "apiVersion": "deckhouse.io/v1alpha2", "kind": "Project", "metadata": {"name": name},
        "spec": {"description": "A test module's own project", "projectTemplateName": "default", "parameters": {}}})
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespace(name)
            break
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    for user, level in roles.items():
        bind_role(sim, name, user, level)
    return name


def bind_role(sim, project, user, level):
    """A RoleBinding in the project of `user` to the ClusterRole d8:use:role:<level>."""
    client.RbacAuthorizationV1Api(sim.api("admin")).create_namespaced_role_binding(project, {
        "metadata": {"name": f"test:{user}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"d8:use:role:{level}"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]})


def delete_project(sim, name):
    """Delete the Project (dvpsim deletes its namespace and everything in it)."""
    try:
        client.CustomObjectsApi(sim.api("admin")).delete_cluster_custom_object(
            "deckhouse.io", "v1alpha2", "projects", name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def make_network(sim, namespace, name):
    """A project Network of the sdn module, which the project's VMs may join."""
    return client.CustomObjectsApi(sim.api("admin")).create_namespaced_custom_object(
        "network.deckhouse.io", "v1alpha1", namespace, "networks",
        {"apiVersion": "network.deckhouse.io/v1alpha1", "kind": "Network", "metadata": {"name": name}, "spec": {}})


def tab_url(project, name, tab):
    """The URL of a VM's detail tab (Configuration, Disks, Placement, Network, Snapshots, ...)."""
    from django.urls import reverse

    return reverse("virtualization:detail-tab", args=[project, "vms", name, tab])


def get_secret(sim, namespace, name):
    """The Secret, or None."""
    try:
        return client.CoreV1Api(sim.api("admin")).read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def action_url(project, name, tab, action):
    """The POST path of one action of a VM tab (add, attach, static-ip, save, review, ...)."""
    from django.urls import reverse

    return reverse(f"virtualization:vms-{tab}-{action.replace('_', '-')}", args=[project, name])


# ---- USB devices (DVP EE: dvpsim's USB feature gate) -----------------------------------------------------------

USB_NODE = "virtlab-pt-2"  # the demo's node labelled virtualization.deckhouse.io/usbip=true


@contextlib.contextmanager
def usb_gate(sim):
    """dvpsim's USB feature gate (the EE's passthrough) on for a test module, off again after it: the session's
    dvpsim is the Community Edition for every other module (e.g. no controller touches their NodeUSBDevices)."""
    sim.control("feature-gates", {"USB": True})
    try:
        yield
    finally:
        sim.control("feature-gates", {"USB": False})


def plug_usb(sim, node=USB_NODE, **attributes):
    """Plug a fresh device into `node` (the USB gate must be on): its own bus and device number, so that each call
    makes a new NodeUSBDevice; returns that NodeUSBDevice."""
    device = {"vendorID": "0951", "productID": "1666", "manufacturer": "Kingston", "product": "DataTraveler 3.0",
              "serial": uuid.uuid4().hex[:16].upper(), "bus": str(uuid.uuid4().int % 200 + 10),
              "deviceNumber": str(uuid.uuid4().int % 120 + 2), "speed": 480, **attributes}
    return sim.control("usb", {"node": node, **device})


def assign_usb(sim, name, namespace):
    """Assign a NodeUSBDevice to a namespace as the cluster admin and wait for its USBDevice there."""
    api = client.CustomObjectsApi(sim.api("admin"))
    api.patch_cluster_custom_object(GROUP, VERSION, "nodeusbdevices", name, {"spec": {"assignedNamespace": namespace}})
    return wait_for(lambda: _find(api, namespace, name))


def _find(api, namespace, name):
    try:
        return api.get_namespaced_custom_object(GROUP, VERSION, namespace, "usbdevices", name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return None
