"""Restore and Clone (VirtualMachineOperation) and CreateVirtualMachine (VirtualMachineSnapshotOperation).

dvp-api-notes §8 and the guide's "Restore a virtual machine" / "Creating a VM clone":
- Restore puts the VM in maintenance (condition Maintenance, reason RestoreInProgress), stops it, recreates its disks
  from the snapshot's disk snapshots, brings back its IP address and provisioning Secret, replaces its spec, and
  starts it again if it ran. Conflicts (a disk or the IP address used by another VM, a snapshot of another VM with the
  same name) are reported in `status.resources` with status Failed.
- Clone takes a temporary VM snapshot (VMOP condition SnapshotReady), then creates the renamed VM, disks and Secret;
  the new VM gets a new IP address. CreateVirtualMachine does the same from an existing VM snapshot.
- Modes: DryRun only fills `status.resources`; Strict keeps references to missing images (the VM then waits in
  Pending); BestEffort drops them.
"""

import copy

from dvpsim import ipam, kinds
from dvpsim.controllers import macs, power
from dvpsim.controllers.base import Controller, condition, remove_condition, set_condition, status_of
from dvpsim.controllers.usage import vms_using
from dvpsim.controllers.vm_snapshots import disk_snapshot_name, provisioning_secret, saved_state
from dvpsim.errors import AlreadyExists, ApiError, NotFound

TYPES = ("Restore", "Clone")
APPLICABLE_PHASES = {"Restore": ("Stopped", "Running", "Pending"), "Clone": ("Stopped", "Running")}
IMAGE_KINDS = ("VirtualImage", "ClusterVirtualImage")
POLL_SECONDS = 0.5
DVP_API = "virtualization.deckhouse.io/v1alpha2"


def _resource(kind, name, status, message=""):
    return {"apiVersion": "v1" if kind == "Secret" else DVP_API, "kind": kind, "name": name,
            "status": status, "message": message}


async def run(ctl, op, vm):
    """Carry a Restore or Clone VMOP from Pending to Completed or Failed (called by the VMOP controller)."""
    status = status_of(op)
    if status.get("phase") != "Pending":
        return
    type_ = op["spec"]["type"]
    vm = ctl.get(op["metadata"]["namespace"], op["spec"]["virtualMachineName"], kinds.get("VirtualMachine"))
    if vm is None:
        return _finish(ctl, op, status, False, "VirtualMachineNotFound",
                       f'VirtualMachine "{op["spec"]["virtualMachineName"]}" not found.')
    phase = (vm.get("status") or {}).get("phase") or "Pending"
    if phase not in APPLICABLE_PHASES[type_]:
        return _finish(ctl, op, status, False, "NotApplicableForVirtualMachinePhase",
                       f"Operation type {type_} is not applicable for VirtualMachine in phase {phase}")
    if type_ == "Restore":
        await _restore(ctl, op, status, vm)
    else:
        await _clone(ctl, op, status, vm)


# ---- Restore ------------------------------------------------------------------------------------

async def _restore(ctl, op, status, vm):
    cluster = ctl.cluster
    namespace, vm_name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    mode = op["spec"]["restore"].get("mode", "Strict")
    snapshot_name = op["spec"]["restore"].get("virtualMachineSnapshotName", "")
    snapshot = ctl.get(namespace, snapshot_name, kinds.get("VirtualMachineSnapshot"))
    saved = saved_state(cluster, snapshot) if snapshot is not None and \
        (snapshot.get("status") or {}).get("phase") == "Ready" else None
    if saved is None:
        return _finish(ctl, op, status, False, "OperationFailed",
                       f'The virtual machine snapshot "{snapshot_name}" ' +
                       ("not found." if snapshot is None else "is not ready."))
    resources = _plan_restore(cluster, vm, saved)
    if _settled_by_plan(ctl, op, status, resources, mode, "The restore would fail", "The restore is not possible"):
        return
    for r in resources:
        r["status"] = "InProgress"
    status["phase"] = "InProgress"
    set_condition(cluster, status, "Completed", "False", "RestoreInProgress", "The Restore operation is in progress.")
    set_condition(cluster, status, "MaintenanceMode", "True", "MaintenanceMode",
                  f'The virtual machine "{vm_name}" is in maintenance mode while it is restored.')
    op = ctl.write_status(op, status)
    if op is None:
        return
    ctl.event(op, "RestoreInProgress", f'Restoring the virtual machine "{vm_name}" from the snapshot "{snapshot_name}"')

    _set_maintenance(ctl, vm, True)
    state = power.of(cluster, vm)
    was_on = state.on
    state.on = False
    power.wake(cluster, vm)
    vm = await _wait_vm(ctl, namespace, vm_name, lambda v: (v.get("status") or {}).get("phase") in ("Stopped", "Pending"))
    if vm is None:
        return _finish(ctl, ctl.get(namespace, op["metadata"]["name"]) or op, status, False, "OperationFailed",
                       f'The virtual machine "{vm_name}" is gone.')
    try:
        vm = _restore_vm_spec(ctl, vm, saved, mode)
        for disk in saved["virtualDisks"]:
            await _recreate_disk(ctl, namespace, disk["name"], disk["spec"], disk["virtualDiskSnapshotName"],
                                 disk.get("labels"))
        _restore_ip_address(ctl, namespace, saved.get("virtualMachineIPAddress"))
        _restore_mac_addresses(ctl, vm, saved)
        _ensure_secret(cluster, namespace, saved.get("provisioningSecret"))
    except ApiError as exc:
        _set_maintenance(ctl, ctl.get(namespace, vm_name, kinds.get("VirtualMachine")) or vm, False)
        return _finish(ctl, ctl.get(namespace, op["metadata"]["name"]) or op, status, False, "OperationFailed",
                       f"The restore failed: {exc.message}")
    _set_maintenance(ctl, vm, False)
    state.on = was_on
    power.wake(cluster, vm)
    op = ctl.get(namespace, op["metadata"]["name"])
    if op is None:
        return
    status = status_of(op)
    for r in status.get("resources") or []:
        r["status"] = "Completed"
    remove_condition(status, "MaintenanceMode")
    _finish(ctl, op, status, True, "OperationCompleted", "")
    ctl.event(vm, "Restored", f'The virtual machine is restored from the snapshot "{snapshot_name}"')


def _plan_restore(cluster, vm, saved) -> list[dict]:
    namespace, vm_name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    saved_vm = saved["virtualMachine"]
    resources = []
    if saved_vm["metadata"].get("uid") != vm["metadata"]["uid"]:
        resources.append(_resource("VirtualMachine", vm_name, "Failed",
                                   f'The virtual machine "{vm_name}" is not the one the snapshot was taken of: its uid '
                                   f'is {vm["metadata"]["uid"]}, the snapshot\'s is {saved_vm["metadata"].get("uid")}.'))
    else:
        resources.append(_resource("VirtualMachine", vm_name, "Completed"))
    vmip = saved.get("virtualMachineIPAddress")
    if vmip:
        resources.append(_ip_address_conflict(cluster, namespace, vm_name, vmip))
    secret = saved.get("provisioningSecret")
    if secret:
        resources.append(_resource("Secret", secret["name"], "Completed"))
    for vmmac in saved.get("virtualMachineMACAddresses") or []:
        resources.append(_mac_address_conflict(cluster, namespace, vm_name, vmmac))
    for disk in saved["virtualDisks"]:
        others = [v["metadata"]["name"] for v in vms_using(cluster, "VirtualDisk", namespace, disk["name"])
                  if v["metadata"]["name"] != vm_name]
        if others:
            resources.append(_resource("VirtualDisk", disk["name"], "Failed",
                                       f'The virtual disk "{disk["name"]}" is in use by the virtual machine "{others[0]}".'))
        else:
            resources.append(_resource("VirtualDisk", disk["name"], "Completed"))
    return resources


def _ip_address_conflict(cluster, namespace, vm_name, vmip) -> dict:
    existing = cluster.store.get(kinds.get("VirtualMachineIPAddress"), namespace, vmip["name"])
    user = ((existing or {}).get("status") or {}).get("virtualMachineName")
    if user and user != vm_name:
        return _resource("VirtualMachineIPAddress", vmip["name"], "Failed",
                         f'The virtual machine IP address "{vmip["name"]}" is in use by the virtual machine "{user}".')
    address = vmip["spec"].get("staticIP")
    lease = cluster.store.get(kinds.get("VirtualMachineIPAddressLease"), None, ipam.lease_name(address)) \
        if address else None
    ref = ((lease or {}).get("spec") or {}).get("virtualMachineIPAddressRef") or {}
    if lease is not None and (lease.get("status") or {}).get("phase") == "Bound" and \
            ref != {"name": vmip["name"], "namespace": namespace}:
        return _resource("VirtualMachineIPAddress", vmip["name"], "Failed",
                         f'The IP address {address} is in use by the virtual machine IP address '
                         f'"{ref.get("namespace")}/{ref.get("name")}".')
    return _resource("VirtualMachineIPAddress", vmip["name"], "Completed")


def _mac_address_conflict(cluster, namespace, vm_name, vmmac) -> dict:
    existing = cluster.store.get(kinds.get("VirtualMachineMACAddress"), namespace, vmmac["name"])
    user = ((existing or {}).get("status") or {}).get("virtualMachineName")
    if user and user != vm_name:
        return _resource("VirtualMachineMACAddress", vmmac["name"], "Failed",
                         f'The virtual machine MAC address "{vmmac["name"]}" is in use by the virtual machine "{user}".')
    lease = cluster.store.get(kinds.get("VirtualMachineMACAddressLease"), None, macs.lease_name(vmmac["address"]))
    ref = ((lease or {}).get("spec") or {}).get("virtualMachineMACAddressRef") or {}
    if lease is not None and ref != {"name": vmmac["name"], "namespace": namespace}:
        return _resource("VirtualMachineMACAddress", vmmac["name"], "Failed",
                         f'The MAC address {vmmac["address"]} is in use by the virtual machine MAC address '
                         f'"{ref.get("namespace")}/{ref.get("name")}".')
    return _resource("VirtualMachineMACAddress", vmmac["name"], "Completed")


def _restore_mac_addresses(ctl, vm, saved):
    kind = kinds.get("VirtualMachineMACAddress")
    namespace = vm["metadata"]["namespace"]
    for vmmac in saved.get("virtualMachineMACAddresses") or []:
        if ctl.get(namespace, vmmac["name"], kind) is not None:
            continue
        meta = {"name": vmmac["name"], "namespace": namespace, "labels": vmmac.get("labels") or {},
                "annotations": vmmac.get("annotations") or {}}
        if macs.VM_LABEL in meta["labels"]:
            meta["ownerReferences"] = [{"apiVersion": vm["apiVersion"], "kind": "VirtualMachine",
                                        "name": vm["metadata"]["name"], "uid": vm["metadata"]["uid"]}]
        ctl.cluster.create(kind, {"metadata": meta, "spec": {"address": vmmac["address"]}})


def _restore_vm_spec(ctl, vm, saved, mode):
    kind = kinds.get("VirtualMachine")
    fresh = ctl.get(vm["metadata"]["namespace"], vm["metadata"]["name"], kind)
    spec = _drop_missing_images(ctl.cluster, vm["metadata"]["namespace"], copy.deepcopy(saved["virtualMachine"]["spec"]),
                                mode)
    vmip = saved.get("virtualMachineIPAddress")
    if vmip:
        spec["virtualMachineIPAddressName"] = vmip["name"]
    fresh["spec"] = spec
    fresh["metadata"]["labels"] = saved["virtualMachine"]["metadata"].get("labels") or {}
    if "annotations" in saved["virtualMachine"]["metadata"]:
        fresh["metadata"]["annotations"] = saved["virtualMachine"]["metadata"]["annotations"]
    fresh["metadata"].pop("resourceVersion", None)
    return ctl.cluster.update(kind, fresh)


async def _recreate_disk(ctl, namespace, name, spec, disk_snapshot, labels=None):
    kind = kinds.get("VirtualDisk")
    existing = ctl.get(namespace, name, kind)
    if existing is not None:
        ctl.cluster.delete(kind, namespace, name)
        # The VM still names the disk, so its controller would keep it Terminating: the restore lets it go.
        ctl.set_finalizer(existing, False, kind)
        while ctl.get(namespace, name, kind) is not None:
            await ctl.sleep(POLL_SECONDS)
    ctl.cluster.create(kind, _disk_from_snapshot(namespace, name, spec, disk_snapshot, labels))


def _disk_from_snapshot(namespace, name, spec, disk_snapshot, labels=None):
    pvc = {k: v for k, v in (spec.get("persistentVolumeClaim") or {}).items() if k == "storageClassName"}
    body = {"metadata": {"name": name, "namespace": namespace},
            "spec": {"dataSource": {"type": "ObjectRef",
                                    "objectRef": {"kind": "VirtualDiskSnapshot", "name": disk_snapshot}}}}
    if pvc:
        body["spec"]["persistentVolumeClaim"] = pvc
    if labels:
        body["metadata"]["labels"] = labels
    return body


def _restore_ip_address(ctl, namespace, vmip):
    if not vmip:
        return
    kind = kinds.get("VirtualMachineIPAddress")
    existing = ctl.get(namespace, vmip["name"], kind)
    if existing is not None and existing["spec"] == vmip["spec"]:
        return
    if existing is not None:
        try:
            ctl.cluster.delete(kind, namespace, vmip["name"])
        except NotFound:
            pass
    ctl.cluster.create(kind, {"metadata": {"name": vmip["name"], "namespace": namespace}, "spec": vmip["spec"]})


def _ensure_secret(cluster, namespace, secret, name=None):
    if not secret:
        return
    try:
        cluster.create(kinds.get("Secret"), {"metadata": {"name": name or secret["name"], "namespace": namespace},
                                             "type": secret.get("type", "Opaque"), "data": secret.get("data") or {}})
    except AlreadyExists:
        pass


def _set_maintenance(ctl, vm, on: bool):
    kind = kinds.get("VirtualMachine")
    fresh = ctl.get(vm["metadata"]["namespace"], vm["metadata"]["name"], kind)
    if fresh is None:
        return
    status = status_of(fresh)
    if on:
        set_condition(ctl.cluster, status, "Maintenance", "True", "RestoreInProgress",
                      "The virtual machine is being restored from a snapshot.")
    else:
        remove_condition(status, "Maintenance")
    if ctl.write_status(fresh, status, kind) is not None:
        ctl.event(fresh, "Maintenance" if on else "MaintenanceFinished",
                  "Restore from a snapshot started: the virtual machine is in maintenance mode" if on else
                  "Restore from a snapshot finished: the virtual machine left maintenance mode")


async def _wait_vm(ctl, namespace, name, predicate):
    kind = kinds.get("VirtualMachine")
    while True:
        vm = ctl.get(namespace, name, kind)
        if vm is None or predicate(vm):
            return vm
        await ctl.sleep(POLL_SECONDS)


def _drop_missing_images(cluster, namespace, spec, mode):
    if mode != "BestEffort":
        return spec
    kept = []
    for ref in spec.get("blockDeviceRefs") or []:
        if ref.get("kind") in IMAGE_KINDS:
            scope = None if ref["kind"] == "ClusterVirtualImage" else namespace
            if cluster.store.get(kinds.get(ref["kind"]), scope, ref["name"]) is None:
                continue
        kept.append(ref)
    spec["blockDeviceRefs"] = kept
    return spec


# ---- Clone --------------------------------------------------------------------------------------

async def _clone(ctl, op, status, vm):
    cluster = ctl.cluster
    namespace, vm_name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    clone = op["spec"]["clone"]
    mode = clone.get("mode", "Strict")
    plan = CloneRequest(clone)
    resources = plan.conflicts(cluster, namespace, live_state(cluster, vm))
    if _settled_by_plan(ctl, op, status, resources, mode, "The clone would fail", "The clone is not possible"):
        return
    status["phase"] = "InProgress"
    set_condition(cluster, status, "Completed", "False", "CloneInProgress", "The Clone operation is in progress.")
    snapshot_name = f"{op['metadata']['name']}-{op['metadata']['uid'][:8]}"
    set_condition(cluster, status, "SnapshotReady", "False", "SnapshotInProgress",
                  f'Waiting for the virtual machine snapshot "{snapshot_name}" to be ready.')
    op = ctl.write_status(op, status)
    if op is None:
        return
    ctl.event(op, "CloneInProgress", f'Cloning the virtual machine "{vm_name}"')
    snapshot_kind = kinds.get("VirtualMachineSnapshot")
    try:
        cluster.create(snapshot_kind, {
            "metadata": {"name": snapshot_name, "namespace": namespace,
                         "ownerReferences": [{"apiVersion": op["apiVersion"], "kind": op["kind"],
                                              "name": op["metadata"]["name"], "uid": op["metadata"]["uid"]}]},
            "spec": {"virtualMachineName": vm_name, "requiredConsistency": True, "keepIPAddress": "Never"}})
    except AlreadyExists:
        pass
    while True:
        op = ctl.get(namespace, op["metadata"]["name"])
        snapshot = ctl.get(namespace, snapshot_name, snapshot_kind)
        if op is None or (op.get("status") or {}).get("phase") != "InProgress":
            return
        snapshot_phase = ((snapshot or {}).get("status") or {}).get("phase")
        if snapshot is None or snapshot_phase == "Failed":
            return _finish(ctl, op, status_of(op), False, "OperationFailed",
                           f'The virtual machine snapshot "{snapshot_name}" failed.')
        if snapshot_phase == "Ready":
            break
        waiting = (condition(snapshot.get("status") or {}, "VirtualMachineSnapshotReady") or {}).get("message")
        status = status_of(op)
        if waiting and (condition(status, "SnapshotReady") or {}).get("message") != waiting:
            set_condition(cluster, status, "SnapshotReady", "False", "SnapshotInProgress", waiting)
            ctl.write_status(op, status)  # why the clone waits, e.g. for the guest agent
        await ctl.sleep(POLL_SECONDS)
    status = status_of(op)
    set_condition(cluster, status, "SnapshotReady", "True", "SnapshotReady", "")
    op = ctl.write_status(op, status)
    ctl.event(op, "SnapshotReady", f'The virtual machine snapshot "{snapshot_name}" is ready')
    error = await create_from_snapshot(ctl, op, status, plan, snapshot, mode)
    try:
        cluster.delete(snapshot_kind, namespace, snapshot_name)  # the new disks keep naming their disk snapshots
    except NotFound:
        pass
    op = ctl.get(namespace, op["metadata"]["name"])
    if op is not None:
        status = status_of(op)
        if error:
            _finish(ctl, op, status, False, "OperationFailed", error)
        else:
            _finish(ctl, op, status, True, "OperationCompleted", "")


class CloneRequest:
    """The renaming of a clone: `nameReplacement` first (from.kind optional), then `customization` prefix/suffix."""

    def __init__(self, spec):
        self.replacements = spec.get("nameReplacement") or []
        customization = spec.get("customization") or {}
        self.prefix = customization.get("namePrefix") or ""
        self.suffix = customization.get("nameSuffix") or ""

    def new_name(self, kind, name):
        for replacement in self.replacements:
            source = replacement.get("from") or {}
            if source.get("name") == name and source.get("kind") in (None, "", kind):
                name = replacement.get("to") or name
                break
        return f"{self.prefix}{name}{self.suffix}"

    def conflicts(self, cluster, namespace, state) -> list[dict]:
        """status.resources of the clone: each new object, Failed when its name is taken."""
        wanted = [("VirtualMachine", state["virtualMachine"]["metadata"]["name"])]
        if state.get("provisioningSecret"):
            wanted.append(("Secret", state["provisioningSecret"]["name"]))
        wanted.extend(("VirtualDisk", d["name"]) for d in state["virtualDisks"])
        resources = []
        for kind_name, old in wanted:
            new = self.new_name(kind_name, old)
            if cluster.store.get(kinds.get(kind_name), namespace, new) is not None:
                resources.append(_resource(kind_name, new, "Failed",
                                           f'The {kind_name} "{new}" (the clone of "{old}") already exists.'))
            else:
                resources.append(_resource(kind_name, new, "Completed"))
        return resources


async def create_from_snapshot(ctl, op, status, plan, snapshot, mode) -> str:
    """Create the renamed VM, disks and Secret from a Ready VM snapshot; the error message, or ""."""
    cluster = ctl.cluster
    namespace = snapshot["metadata"]["namespace"]
    saved = saved_state(cluster, snapshot)
    if saved is None:
        return f'The virtual machine snapshot "{snapshot["metadata"]["name"]}" has lost its saved state.'
    try:
        secret = saved.get("provisioningSecret")
        if secret:
            _ensure_secret(cluster, namespace, secret, plan.new_name("Secret", secret["name"]))
        for disk in saved["virtualDisks"]:
            cluster.create(kinds.get("VirtualDisk"), _disk_from_snapshot(
                namespace, plan.new_name("VirtualDisk", disk["name"]), disk["spec"],
                disk.get("virtualDiskSnapshotName") or disk_snapshot_name(disk["name"], snapshot)))
        cluster.create(kinds.get("VirtualMachine"), _cloned_vm(cluster, namespace, saved, plan, mode))
    except ApiError as exc:
        return f"The new virtual machine could not be created: {exc.message}"
    # The temporary disk snapshots may go only once the new disks hold their data.
    disk_kind = kinds.get("VirtualDisk")
    for disk in saved["virtualDisks"]:
        new = plan.new_name("VirtualDisk", disk["name"])
        while True:
            fresh = ctl.get(namespace, new, disk_kind)
            if fresh is None or (fresh.get("status") or {}).get("phase") in ("Ready", "Failed", "WaitForFirstConsumer"):
                break
            await ctl.sleep(POLL_SECONDS)
    for r in status.get("resources") or []:
        r["status"] = "Completed"
    if op is not None:
        fresh_op = ctl.get(namespace, op["metadata"]["name"], kinds.get(op["kind"]))
        if fresh_op is not None:
            fresh_status = status_of(fresh_op)
            fresh_status["resources"] = status.get("resources") or []
            ctl.write_status(fresh_op, fresh_status, kinds.get(op["kind"]))
    return ""


def _cloned_vm(cluster, namespace, saved, plan, mode):
    source = saved["virtualMachine"]
    spec = _drop_missing_images(cluster, namespace, copy.deepcopy(source["spec"]), mode)
    spec.pop("virtualMachineIPAddressName", None)  # the clone gets a new IP address
    for ref in spec.get("blockDeviceRefs") or []:
        if ref.get("kind") == "VirtualDisk":
            ref["name"] = plan.new_name("VirtualDisk", ref["name"])
    provisioning = spec.get("provisioning") or {}
    for key in ("userDataRef", "sysprepRef"):
        if (provisioning.get(key) or {}).get("name"):
            provisioning[key]["name"] = plan.new_name("Secret", provisioning[key]["name"])
    for network in spec.get("networks") or []:
        network.pop("virtualMachineMACAddressName", None)  # and new MAC addresses
    metadata = {"name": plan.new_name("VirtualMachine", source["metadata"]["name"]), "namespace": namespace}
    for key in ("labels", "annotations"):
        if key in source["metadata"]:
            metadata[key] = copy.deepcopy(source["metadata"][key])
    return {"metadata": metadata, "spec": spec}


def live_state(cluster, vm) -> dict:
    """The same shape as a VM snapshot's saved state, read from the live objects (for planning a clone)."""
    namespace = vm["metadata"]["namespace"]
    disks = [r["name"] for r in vm["spec"].get("blockDeviceRefs") or [] if r.get("kind") == "VirtualDisk"]
    secret = provisioning_secret(cluster, vm)
    return {"virtualMachine": {"metadata": vm["metadata"], "spec": vm["spec"]},
            "virtualDisks": [{"name": d, "spec": (cluster.store.get(kinds.get("VirtualDisk"), namespace, d) or {})
                              .get("spec") or {}} for d in disks],
            "provisioningSecret": None if secret is None else {"name": secret["metadata"]["name"]}}


def _settled_by_plan(ctl, op, status, resources, mode, would_fail, cannot):
    """Record the planned resources; finish a DryRun, or a plan with conflicts. True when finished."""
    status["resources"] = resources
    failed = [r for r in resources if r["status"] == "Failed"]
    if mode == "DryRun":
        _finish(ctl, op, status, True, "OperationCompleted", f"{would_fail}: {failed[0]['message']}" if failed else "")
        return True
    if failed:
        _finish(ctl, op, status, False, "OperationFailed", f"{cannot}: {failed[0]['message']}")
        return True
    return False


def _finish(ctl, op, status, ok: bool, reason, message):
    status["phase"] = "Completed" if ok else "Failed"
    set_condition(ctl.cluster, status, "Completed", "True" if ok else "False", reason, message)
    kind = kinds.get(op["kind"])
    if ctl.write_status(op, status, kind) is not None:
        ctl.event(op, reason, message or f"{op['spec']['type']} completed", "Normal" if ok else "Warning")


# ---- VirtualMachineSnapshotOperation ------------------------------------------------------------

class VirtualMachineSnapshotOperationController(Controller):
    """CreateVirtualMachine: a new VM (renamed like a clone) from a Ready VM snapshot."""
    primary = "VirtualMachineSnapshotOperation"

    async def reconcile(self, namespace, name):
        op = self.get(namespace, name)
        if op is None or (op.get("status") or {}).get("phase") in ("Completed", "Failed", "InProgress"):
            return
        status = status_of(op)
        snapshot_name = op["spec"].get("virtualMachineSnapshotName", "")
        if not status.get("phase"):
            status["phase"] = "Pending"
            set_condition(self.cluster, status, "Completed", "False", "NotReadyToBeExecuted", "")
            op = self.write_status(op, status)
            if op is None:
                return
        request = op["spec"].get("createVirtualMachine")
        if op["spec"].get("type") != "CreateVirtualMachine" or not request:
            return _finish(self, op, status, False, "OperationFailed", "CreateVirtualMachine requires the "
                           "createVirtualMachine field.")
        snapshot = self.get(namespace, snapshot_name, kinds.get("VirtualMachineSnapshot"))
        if snapshot is None:
            return _finish(self, op, status, False, "VirtualMachineSnapshotNotFound",
                           f'The virtual machine snapshot "{snapshot_name}" not found.')
        saved = saved_state(self.cluster, snapshot) if (snapshot.get("status") or {}).get("phase") == "Ready" else None
        if saved is None:
            return _finish(self, op, status, False, "OperationFailed",
                           f'The virtual machine snapshot "{snapshot_name}" is not ready.')
        plan = CloneRequest(request)
        mode = request.get("mode", "Strict")
        if _settled_by_plan(self, op, status, plan.conflicts(self.cluster, namespace, saved), mode,
                            "Creating the virtual machine would fail", "The virtual machine cannot be created"):
            return
        status["phase"] = "InProgress"
        set_condition(self.cluster, status, "Completed", "False", "CreateVirtualMachineInProgress",
                      "The virtual machine is being created from the snapshot.")
        op = self.write_status(op, status)
        if op is None:
            return
        self.event(op, "CreateVirtualMachineInProgress",
                   f'Creating a virtual machine from the snapshot "{snapshot_name}"')
        error = await create_from_snapshot(self, op, status, plan, snapshot, mode)
        op = self.get(namespace, name)
        if op is not None:
            _finish(self, op, status_of(op), not error, "OperationFailed" if error else "OperationCompleted", error)
