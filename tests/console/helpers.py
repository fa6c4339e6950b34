"""Read the simulated cluster directly (as its admin) to check what the console did."""
import time

from kubernetes import client
from kubernetes.client.exceptions import ApiException

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"


def custom(sim):
    return client.CustomObjectsApi(sim.api("admin"))


def get_dvp(sim, plural, namespace, name):
    try:
        return custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def list_dvp(sim, plural, namespace):
    return custom(sim).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]


def create_dvp(sim, plural, namespace, body):
    kind = {"virtualimages": "VirtualImage", "virtualdisks": "VirtualDisk",
            "virtualmachines": "VirtualMachine", "virtualmachineoperations": "VirtualMachineOperation"}[plural]
    return custom(sim).create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, **body})


def wait_for_phase(sim, plural, namespace, name, phase, timeout=30):
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = get_dvp(sim, plural, namespace, name)
        if obj and (obj.get("status") or {}).get("phase") == phase:
            return obj
        time.sleep(0.2)
    raise AssertionError(f"{plural}/{name} did not reach {phase}: {(obj or {}).get('status')}")


def sample_url(sim, name="noble-server-cloudimg-amd64.img"):
    return f"{sim.url}/dvpsim/samples/{name}"


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
