"""VirtualMachineSnapshot: Pending → InProgress → Ready (dvp-api-notes §4.11, guide "Creating snapshots of virtual machines").

The snapshot takes a VirtualDiskSnapshot of each of the VM's disks (named `<disk>-<snapshot uid>`, owned by the VM
snapshot) and saves what a restore or a clone needs — the VM's spec, its IP address, its disks' specs and its
provisioning Secret — in a Secret named in `status.virtualMachineSnapshotSecretName`. With `keepIPAddress: Always`
(the default) the VM's Auto IP address is converted to Static first, so a restore gets the same address back.
"""

import base64
import json

from dvpsim import kinds
from dvpsim.controllers import macs
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of
from dvpsim.errors import AlreadyExists

READY_VM_PHASES = ("Running", "Stopped")
SECRET_KEY = "snapshot.json"


class VirtualMachineSnapshotController(Controller):
    primary = "VirtualMachineSnapshot"
    related = ("VirtualMachine", "VirtualDisk", "VirtualDiskSnapshot")

    def on_related(self, event_type, kind, obj):
        namespace = obj["metadata"].get("namespace")
        if kind.kind == "VirtualDiskSnapshot":
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == self.primary:
                    self.kick(namespace, ref["name"])
            return
        for snapshot in self.cluster.store.iter(self.kind, namespace):
            if (snapshot.get("status") or {}).get("phase") in ("Ready", "Failed"):
                continue
            if kind.kind == "VirtualMachine" and snapshot["spec"].get("virtualMachineName") != obj["metadata"]["name"]:
                continue
            self.kick(namespace, snapshot["metadata"]["name"])

    async def reconcile(self, namespace, name):
        snapshot = self.get(namespace, name)
        if snapshot is None:
            return
        if is_deleting(snapshot):
            status = status_of(snapshot)
            if status.get("phase") != "Terminating":
                status["phase"] = "Terminating"
                self.write_status(snapshot, status)
            self.set_finalizer(snapshot, False)  # its disk snapshots and Secret go with it (ownerReferences)
            return
        snapshot = self.set_finalizer(snapshot, True)
        status = status_of(snapshot)
        generation = snapshot["metadata"].get("generation", 1)
        status["observedGeneration"] = generation
        phase = status.get("phase")
        if phase == "Failed":
            return
        if phase == "Ready":
            self._check_not_lost(snapshot, status, generation)
            return
        if phase == "InProgress":
            self._wait_for_disk_snapshots(snapshot, status, generation)
            return
        status["phase"] = "Pending"
        vm = self.get(namespace, snapshot["spec"]["virtualMachineName"], kinds.get("VirtualMachine"))
        reason, message = self._not_ready(vm, snapshot)
        if reason:
            vm_ready = reason != "WaitingForTheVirtualMachine"
            set_condition(self.cluster, status, "VirtualMachineReady", "True" if vm_ready else "False",
                          "VirtualMachineReady" if vm_ready else "VirtualMachineNotReadyForSnapshotting",
                          "" if vm_ready else message, generation)
            self._pending(snapshot, status, reason, message, generation)
            return
        set_condition(self.cluster, status, "VirtualMachineReady", "True", "VirtualMachineReady", "", generation)
        self._begin(snapshot, status, vm, generation)

    # ---- Pending --------------------------------------------------------------------------------

    def _not_ready(self, vm, snapshot):
        """(reason, message) of what keeps the snapshot Pending, or (None, None)."""
        vm_name = snapshot["spec"]["virtualMachineName"]
        vm_status = (vm or {}).get("status") or {}
        if vm is None or vm_status.get("phase") not in READY_VM_PHASES:
            return "WaitingForTheVirtualMachine", f'Waiting for the virtual machine "{vm_name}" to be ready for snapshotting.'
        disks = [(d, (self.get(vm["metadata"]["namespace"], d, kinds.get("VirtualDisk")) or {}).get("status") or {})
                 for d in _disk_names(vm)]
        for disk_name, disk_status in disks:  # the more telling reason first: a resizing disk is not ready either
            if disk_status.get("phase") == "Resizing":
                return "BlockDevicesNotReady", \
                    f'Virtual disk is in the process of resizing: waiting for the virtual disk "{disk_name}" to be resized.'
        if (condition(vm_status, "BlockDevicesReady") or {}).get("status") != "True":
            return "BlockDevicesNotReady", \
                f'Block devices not ready: waiting for the block devices of the virtual machine "{vm_name}" to be ready.'
        for disk_name, disk_status in disks:
            disk_phase = disk_status.get("phase")
            if disk_phase != "Ready":
                return "BlockDevicesNotReady", \
                    f'Virtual disk not ready: waiting for the virtual disk "{disk_name}" to be Ready.'
        # Pending changes that await a restart do not hold the snapshot back: it saves the updated spec (the guide;
        # dvp-api-notes §4.11 lists no such reason of VirtualMachineSnapshotReady).
        if _needs_freeze(vm, snapshot) and not _can_freeze(vm):
            return "PotentiallyInconsistent", (
                f'The snapshotting of virtual machine "{vm_name}" might result in an inconsistent snapshot: virtual '
                "machine agent is not ready and virtual machine cannot be frozen: waiting for virtual machine agent "
                "to be ready or virtual machine will stop")
        return None, None

    def _pending(self, snapshot, status, reason, message, generation):
        before = condition(snapshot.get("status") or {}, "VirtualMachineSnapshotReady") or {}
        set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "False", reason, message, generation)
        if self.write_status(snapshot, status) is not None and before.get("message") != message:
            self.event(snapshot, "VirtualMachineSnapshottingPending", message)

    # ---- InProgress -----------------------------------------------------------------------------

    def _begin(self, snapshot, status, vm, generation):
        namespace, vm_name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        self.event(snapshot, "VirtualMachineSnapshottingStarted", "Virtual machine snapshotting process is started.")
        if _needs_freeze(vm, snapshot):
            self.event(snapshot, "VirtualMachineSnapshottingFrozen",
                       f'The file system of the virtual machine "{vm_name}" is frozen.')
        vmip = self._keep_ip_address(snapshot, vm)
        disks = [self.get(namespace, d, kinds.get("VirtualDisk")) for d in _disk_names(vm)]
        disks = [d for d in disks if d is not None]
        secret = self._save(snapshot, vm, vmip, disks)
        status["virtualMachineSnapshotSecretName"] = secret["metadata"]["name"]
        status["virtualDiskSnapshotNames"] = [disk_snapshot_name(d["metadata"]["name"], snapshot) for d in disks]
        status["resources"] = self._resources(snapshot, vm, vmip, disks)
        for disk in disks:
            self._take_disk_snapshot(snapshot, disk)
        status["phase"] = "InProgress"
        set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "False", "Snapshotting",
                      _progress_message(vm_name, 0, len(disks)), generation)
        if self.write_status(snapshot, status) is not None:
            self.event(snapshot, "VirtualMachineSnapshottingInProgress", _progress_message(vm_name, 0, len(disks)))
        self.kick(namespace, snapshot["metadata"]["name"])

    def _keep_ip_address(self, snapshot, vm):
        """The VM's IP address object; with keepIPAddress Always an Auto address becomes Static (DVP does the same)."""
        kind = kinds.get("VirtualMachineIPAddress")
        name = (vm.get("status") or {}).get("virtualMachineIPAddressName") or \
            vm["spec"].get("virtualMachineIPAddressName") or vm["metadata"]["name"]
        vmip = self.get(vm["metadata"]["namespace"], name, kind)
        if vmip is None or snapshot["spec"].get("keepIPAddress", "Always") != "Always":
            return vmip
        address = (vmip.get("status") or {}).get("address")
        if vmip["spec"].get("type") == "Auto" and address:
            vmip["spec"] = {"type": "Static", "staticIP": address}
            vmip["metadata"].pop("resourceVersion", None)
            vmip = self.cluster.update(kind, vmip)
            self.event(snapshot, "VirtualMachineIPAddressKept",
                       f'The IP address {address} of "{name}" is converted to Static to be kept by the snapshot.')
        return vmip

    def _save(self, snapshot, vm, vmip, disks):
        """The Secret with everything a restore or a clone needs."""
        namespace = vm["metadata"]["namespace"]
        provisioning = provisioning_secret(self.cluster, vm)
        saved = {
            "virtualMachine": {"metadata": {k: vm["metadata"][k] for k in ("name", "uid", "labels", "annotations")
                                            if k in vm["metadata"]},
                               "spec": vm["spec"]},
            "virtualMachineIPAddress": None if vmip is None or snapshot["spec"].get("keepIPAddress", "Always") != "Always"
            else {"name": vmip["metadata"]["name"], "spec": vmip["spec"]},
            "virtualDisks": [{"name": d["metadata"]["name"], "spec": d["spec"],
                              "virtualDiskSnapshotName": disk_snapshot_name(d["metadata"]["name"], snapshot)}
                             for d in disks],
            "provisioningSecret": None if provisioning is None else {
                "name": provisioning["metadata"]["name"], "type": provisioning.get("type", "Opaque"),
                "data": provisioning.get("data") or {}},
            "virtualMachineMACAddresses": [
                {"name": m["metadata"]["name"], "address": (m.get("status") or {}).get("address"),
                 "labels": m["metadata"].get("labels") or {}, "annotations": m["metadata"].get("annotations") or {}}
                for m in macs.assigned(self.cluster, vm).values() if (m.get("status") or {}).get("address")],
        }
        kind = kinds.get("Secret")
        name = f"vms-{snapshot['metadata']['uid']}"
        body = {"metadata": {"name": name, "namespace": namespace, "ownerReferences": [_owner(snapshot)]},
                "type": "Opaque",
                "data": {SECRET_KEY: base64.b64encode(json.dumps(saved).encode()).decode()}}
        try:
            return self.cluster.create(kind, body)
        except AlreadyExists:
            return self.get(namespace, name, kind)

    def _resources(self, snapshot, vm, vmip, disks):
        api = kinds.get("VirtualMachine").api_version
        resources = [{"apiVersion": api, "kind": "VirtualMachine", "name": vm["metadata"]["name"]}]
        if vmip is not None and snapshot["spec"].get("keepIPAddress", "Always") == "Always":
            resources.append({"apiVersion": api, "kind": "VirtualMachineIPAddress", "name": vmip["metadata"]["name"]})
        provisioning = provisioning_secret(self.cluster, vm)
        if provisioning is not None:
            resources.append({"apiVersion": "v1", "kind": "Secret", "name": provisioning["metadata"]["name"]})
        for device in (vm.get("status") or {}).get("blockDeviceRefs") or []:
            if device.get("virtualMachineBlockDeviceAttachmentName"):
                resources.append({"apiVersion": api, "kind": "VirtualMachineBlockDeviceAttachment",
                                  "name": device["virtualMachineBlockDeviceAttachmentName"]})
        resources.extend({"apiVersion": api, "kind": "VirtualDisk", "name": d["metadata"]["name"]} for d in disks)
        return resources

    def _take_disk_snapshot(self, snapshot, disk):
        kind = kinds.get("VirtualDiskSnapshot")
        try:
            self.cluster.create(kind, {
                "metadata": {"name": disk_snapshot_name(disk["metadata"]["name"], snapshot),
                             "namespace": disk["metadata"]["namespace"], "ownerReferences": [_owner(snapshot)]},
                "spec": {"virtualDiskName": disk["metadata"]["name"],
                         "requiredConsistency": snapshot["spec"].get("requiredConsistency", True)}})
        except AlreadyExists:
            pass

    def _wait_for_disk_snapshots(self, snapshot, status, generation):
        namespace, vm_name = snapshot["metadata"]["namespace"], snapshot["spec"]["virtualMachineName"]
        names = status.get("virtualDiskSnapshotNames") or []
        found = [self.get(namespace, n, kinds.get("VirtualDiskSnapshot")) for n in names]
        failed = [n for n, s in zip(names, found) if s is not None and (s.get("status") or {}).get("phase") == "Failed"]
        if failed:
            return self._fail(snapshot, status, f'The virtual disk snapshot "{failed[0]}" is failed.', generation)
        ready = [s for s in found if s is not None and (s.get("status") or {}).get("phase") == "Ready"]
        message = _progress_message(vm_name, len(ready), len(names))
        if len(ready) < len(names):
            if (condition(status, "VirtualMachineSnapshotReady") or {}).get("message") != message:
                set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "False", "Snapshotting", message,
                              generation)
                if self.write_status(snapshot, status) is not None:
                    self.event(snapshot, "VirtualMachineSnapshottingInProgress", message)
            return
        if all((s.get("status") or {}).get("consistent") for s in ready):
            status["consistent"] = True
        else:
            status.pop("consistent", None)
        vm = self.get(namespace, vm_name, kinds.get("VirtualMachine"))
        if vm is not None and _needs_freeze(vm, snapshot):
            self.event(snapshot, "VirtualMachineSnapshottingThawed",
                       f'The file system of the virtual machine "{vm_name}" is thawed.')
        status["phase"] = "Ready"
        set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "True", "VirtualMachineSnapshotReady", "",
                      generation)
        if self.write_status(snapshot, status) is not None:
            self.event(snapshot, "VirtualMachineSnapshottingCompleted", "Virtual machine snapshotting process is completed.")

    def _check_not_lost(self, snapshot, status, generation):
        namespace = snapshot["metadata"]["namespace"]
        lost = [n for n in status.get("virtualDiskSnapshotNames") or []
                if self.get(namespace, n, kinds.get("VirtualDiskSnapshot")) is None]
        if not lost:
            return
        message = (f"The underlying virtual disk snapshot ({lost[0]}) is lost." if len(lost) == 1 else
                   f"The underlying virtual disk snapshots ({', '.join(lost)}) are lost.")
        status["phase"] = "Failed"
        set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "False", "VirtualDiskSnapshotLost", message,
                      generation)
        if self.write_status(snapshot, status) is not None:
            self.event(snapshot, "VirtualMachineSnapshottingFailed", message, "Warning")

    def _fail(self, snapshot, status, message, generation):
        status["phase"] = "Failed"
        set_condition(self.cluster, status, "VirtualMachineSnapshotReady", "False", "VirtualMachineSnapshotFailed",
                      message, generation)
        if self.write_status(snapshot, status) is not None:
            self.event(snapshot, "VirtualMachineSnapshottingFailed", message, "Warning")


# ---- shared with restore and clone ---------------------------------------------------------------

def disk_snapshot_name(disk_name: str, snapshot: dict) -> str:
    return f"{disk_name}-{snapshot['metadata']['uid']}"


def saved_state(cluster, snapshot: dict) -> dict | None:
    """What a Ready VM snapshot saved (see VirtualMachineSnapshotController._save), or None if its Secret is gone."""
    name = (snapshot.get("status") or {}).get("virtualMachineSnapshotSecretName")
    secret = cluster.store.get(kinds.get("Secret"), snapshot["metadata"]["namespace"], name) if name else None
    if secret is None or SECRET_KEY not in (secret.get("data") or {}):
        return None
    return json.loads(base64.b64decode(secret["data"][SECRET_KEY]))


def provisioning_secret(cluster, vm: dict) -> dict | None:
    provisioning = vm["spec"].get("provisioning") or {}
    ref = provisioning.get("userDataRef") or provisioning.get("sysprepRef") or {}
    if not ref.get("name") or ref.get("kind", "Secret") != "Secret":
        return None
    return cluster.store.get(kinds.get("Secret"), vm["metadata"]["namespace"], ref["name"])


def _disk_names(vm) -> list[str]:
    names = [d["name"] for d in (vm.get("status") or {}).get("blockDeviceRefs") or [] if d.get("kind") == "VirtualDisk"]
    for ref in vm["spec"].get("blockDeviceRefs") or []:
        if ref.get("kind") == "VirtualDisk" and ref["name"] not in names:
            names.append(ref["name"])
    return names


def _needs_freeze(vm, snapshot) -> bool:
    return snapshot["spec"].get("requiredConsistency", True) and (vm.get("status") or {}).get("phase") != "Stopped"


def _can_freeze(vm) -> bool:
    return (condition(vm.get("status") or {}, "AgentReady") or {}).get("status") == "True"


def _progress_message(vm_name, ready, total):
    return (f"Waiting for the virtual disk snapshots to be taken for the block devices of the virtual machine "
            f'"{vm_name}" ({ready}/{total}).')


def _owner(obj) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
