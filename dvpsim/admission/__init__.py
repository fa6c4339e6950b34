"""Admission for the DVP kinds: the CRD schema and CEL rules, DVP's mutating defaults and its webhooks.

Errors come back the way a real cluster sends them: schema and CEL violations as 422 Invalid
with field causes; rejections by DVP's validating webhooks as 403 "admission webhook … denied
the request: …" (controller-runtime's Denied).
"""

from dvpsim import ingresses, services
from dvpsim.admission.addresses import admit_ip_address, admit_mac_address
from dvpsim.admission.checks import Checks
from dvpsim.admission.images_disks import admit_cluster_virtual_image, admit_virtual_disk, admit_virtual_image
from dvpsim.admission.kubernetes_kinds import admit_secret
from dvpsim.admission.module_configs import admit_module_config
from dvpsim.admission.operations import VMOP_FINISHED, admit_operation, admit_snapshot_operation, may_supersede
from dvpsim.admission.vm_classes import admit_vm_class, sizing_policy_problem
from dvpsim.admission.vms import admit_block_device_attachment, admit_virtual_machine

__all__ = ["admit", "VMOP_FINISHED", "may_supersede", "sizing_policy_problem"]

_ADMITTERS = {
    "Service": services.admit,
    "Ingress": ingresses.admit,
    "Secret": admit_secret,
    "ModuleConfig": admit_module_config,
    "VirtualMachineClass": admit_vm_class,
    "VirtualImage": admit_virtual_image,
    "ClusterVirtualImage": admit_cluster_virtual_image,
    "VirtualDisk": admit_virtual_disk,
    "VirtualMachine": admit_virtual_machine,
    "VirtualMachineOperation": admit_operation,
    "VirtualMachineSnapshotOperation": admit_snapshot_operation,
    "VirtualMachineIPAddress": admit_ip_address,
    "VirtualMachineMACAddress": admit_mac_address,
    "VirtualMachineBlockDeviceAttachment": admit_block_device_attachment,
}


def admit(cluster, operation, kind, obj, old, username):
    """Default and validate `obj` before it is stored; returns the object to store."""
    admitter = _ADMITTERS.get(kind.kind)
    if admitter is None or operation not in ("CREATE", "UPDATE"):
        return obj
    checks = Checks(kind, obj)
    admitter(cluster, operation, obj, old, checks)
    checks.raise_if_any()
    return obj
