"""VMs whose guest can be logged into (the guide's cloud-init: cloud / cloud), for console tests."""
from kubernetes.client.exceptions import ApiException

from tests.console.conftest import PROJECT_A
from tests.console.helpers import GROUP, VERSION, create_dvp, custom, get_dvp, wait_for_phase
from tests.guide import CLOUD_INIT


def running_vm(sim, name, namespace=PROJECT_A):
    """A VM with the guide's cloud-init, Running (created as the cluster admin if missing)."""
    if get_dvp(sim, "virtualmachines", namespace, name) is None:
        create_dvp(sim, "virtualdisks", namespace, {"metadata": {"name": f"{name}-root"},
                                                     "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
        create_dvp(sim, "virtualmachines", namespace, {"metadata": {"name": name}, "spec": {
            "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"}, "memory": {"size": "1Gi"},
            "provisioning": {"type": "UserData", "userData": CLOUD_INIT},
            "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}]}})
    return wait_for_phase(sim, "virtualmachines", namespace, name, "Running", timeout=60)


def run_operation(sim, name, operation, namespace=PROJECT_A):
    """Ask for a VirtualMachineOperation (Stop, Start, ...), as the cluster admin."""
    return custom(sim).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "virtualmachineoperations",
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
         "metadata": {"generateName": f"{name}-"}, "spec": {"type": operation, "virtualMachineName": name}})


def stop_vm(sim, name, namespace=PROJECT_A):
    return run_operation(sim, name, "Stop", namespace)


def delete_vm(sim, name, namespace=PROJECT_A):
    """Remove the VM and its disk, so later tests in the shared simulated cluster have the room."""
    for plural, object_name in (("virtualmachines", name), ("virtualdisks", f"{name}-root")):
        try:
            custom(sim).delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, object_name)
        except ApiException as exc:
            if exc.status != 404:
                raise
