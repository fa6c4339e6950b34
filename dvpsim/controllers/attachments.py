"""VirtualMachineBlockDeviceAttachment (vmbda): hot-plugging a disk or image into a running VM.

Pending (waiting for the VM to run and the device to be ready) → InProgress → Attached. The VM
controller lists Attached vmbdas in the VM's `status.blockDeviceRefs` with `hotplugged: true`,
which is what the guest's `lsblk` shows. Deleting the vmbda detaches the device.
"""

from dvpsim import kinds
from dvpsim.controllers.base import Controller, set_condition, status_of

ATTACH_SECONDS = 1.0
VM_RUNNING = ("Running", "Migrating")


def attachments_of(cluster, vm) -> list[dict]:
    """The vmbdas of `vm` that are Attached, in creation order."""
    namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    found = [a for a in cluster.store.list(kinds.get("VirtualMachineBlockDeviceAttachment"), namespace)
             if (a.get("spec") or {}).get("virtualMachineName") == name
             and (a.get("status") or {}).get("phase") == "Attached"
             and not a["metadata"].get("deletionTimestamp")]
    return sorted(found, key=lambda a: (a["metadata"].get("creationTimestamp", ""), a["metadata"]["name"]))


class VirtualMachineBlockDeviceAttachmentController(Controller):
    primary = "VirtualMachineBlockDeviceAttachment"
    related = ("VirtualMachine", "VirtualDisk", "VirtualImage", "ClusterVirtualImage")

    def on_related(self, event_type, kind, obj):
        namespace = obj["metadata"].get("namespace")
        for vmbda in self.cluster.store.iter(self.kind, namespace):
            spec = vmbda.get("spec") or {}
            ref = spec.get("blockDeviceRef") or {}
            if (kind.kind == "VirtualMachine" and spec.get("virtualMachineName") == obj["metadata"]["name"]) or \
                    (ref.get("kind") == kind.kind and ref.get("name") == obj["metadata"]["name"]):
                self.kick(vmbda["metadata"]["namespace"], vmbda["metadata"]["name"])

    async def reconcile(self, namespace, name):
        vmbda = self.get(namespace, name)
        if vmbda is None:
            return
        spec, status = vmbda.get("spec") or {}, status_of(vmbda)
        generation = vmbda["metadata"].get("generation")
        status["virtualMachineName"] = spec.get("virtualMachineName", "")
        ref = spec.get("blockDeviceRef") or {}
        ref_kind = kinds.get(ref.get("kind", "VirtualDisk"))
        device = self.get(namespace, ref.get("name", ""), ref_kind)
        vm = self.get(namespace, spec.get("virtualMachineName", ""), kinds.get("VirtualMachine"))
        problem = None
        if device is None or (device.get("status") or {}).get("phase") != "Ready":
            problem = ("BlockDeviceReady", "BlockDeviceNotReady",
                       f'{ref.get("kind")} "{ref.get("name")}" ' + ("not found." if device is None else "is not ready."))
        else:
            set_condition(self.cluster, status, "BlockDeviceReady", "True", "BlockDeviceReady", "", generation)
        if vm is None or (vm.get("status") or {}).get("phase") not in VM_RUNNING:
            set_condition(self.cluster, status, "VirtualMachineReady", "False", "VirtualMachineNotReady",
                          f'VirtualMachine "{spec.get("virtualMachineName")}" ' +
                          ("not found." if vm is None else "is not running."), generation)
            problem = problem or ("VirtualMachineReady", None, None)
        else:
            set_condition(self.cluster, status, "VirtualMachineReady", "True", "VirtualMachineReady", "", generation)
        conflict = self._used_elsewhere(vmbda, ref) if problem is None else None
        if problem is not None or conflict:
            if problem and problem[1]:
                set_condition(self.cluster, status, problem[0], "False", problem[1], problem[2], generation)
            phase = "Failed" if conflict else "Pending"
            set_condition(self.cluster, status, "Attached", "False", "Conflict" if conflict else "NotAttached",
                          conflict or "Waiting for the virtual machine and the block device to be ready.", generation)
            self._write(vmbda, status, phase)
            return
        if status.get("phase") == "Attached":
            self.write_status(vmbda, status)
            return
        set_condition(self.cluster, status, "Attached", "False", "AttachmentRequestSent",
                      "The block device is being attached.", generation)
        if self._write(vmbda, status, "InProgress") is None:
            return
        await self.sleep(ATTACH_SECONDS)
        vmbda = self.get(namespace, name)
        if vmbda is None or vmbda["metadata"].get("deletionTimestamp"):
            return
        status = status_of(vmbda)
        set_condition(self.cluster, status, "Attached", "True", "Attached", "", generation)
        self._write(vmbda, status, "Attached")

    def _used_elsewhere(self, vmbda, ref):
        """Why a VirtualDisk cannot be attached here: it is already in use by another VM, or None."""
        if ref.get("kind") != "VirtualDisk":
            return None
        namespace = vmbda["metadata"]["namespace"]
        for vm in self.cluster.store.iter(kinds.get("VirtualMachine"), namespace):
            if any(r.get("kind") == "VirtualDisk" and r.get("name") == ref.get("name")
                   for r in (vm.get("spec") or {}).get("blockDeviceRefs") or []):
                return f'VirtualDisk "{ref["name"]}" is already attached to VirtualMachine "{vm["metadata"]["name"]}".'
        for other in self.cluster.store.iter(self.kind, namespace):
            if other["metadata"]["uid"] != vmbda["metadata"]["uid"] and \
                    (other.get("spec") or {}).get("blockDeviceRef") == ref and \
                    (other.get("status") or {}).get("phase") in ("InProgress", "Attached") and \
                    other["metadata"].get("creationTimestamp", "") <= vmbda["metadata"].get("creationTimestamp", ""):
                return f'VirtualDisk "{ref["name"]}" is already attached by {other["metadata"]["name"]}.'
        return None

    def _write(self, vmbda, status, phase):
        before = (vmbda.get("status") or {}).get("phase")
        status["phase"] = phase
        written = self.write_status(vmbda, status)
        if written is not None and before != phase:
            self.event(vmbda, phase, f"The block device is {phase.lower()}" if phase != "InProgress"
                       else "The block device is being attached")
        return written
