"""The bookkeeping of a running VM: placement, changes awaiting a restart, migratability, firmware."""

from dvpsim import kinds, scheduling
from dvpsim.controllers import firmware
from dvpsim.controllers.base import set_condition

# Spec fields whose change only takes effect after a restart.
RESTART_FIELDS = ("cpu", "memory", "blockDeviceRefs", "provisioning", "virtualMachineClassName", "osType",
                  "bootloader", "enableParavirtualization", "networks")
# Placement rules apply at once while the VM's node satisfies them, else after a restart.
PLACEMENT_FIELDS = ("affinity", "nodeSelector", "tolerations")


class VmRunning:
    """VirtualMachineController's part for placement and a running VM's conditions and awaited changes."""

    def _schedule(self, vm):
        nodes = self.cluster.store.list(kinds.get("Node"))
        placed = [v for v in self.cluster.store.list(self.kind)
                  if (v.get("status") or {}).get("nodeName") and v["metadata"]["uid"] != vm["metadata"]["uid"]]
        vmclass = self.get(None, vm["spec"].get("virtualMachineClassName"), kinds.get("VirtualMachineClass")) or {}
        return scheduling.place(vm, nodes, placed, (vmclass.get("spec") or {}).get("nodeSelector"),
                                (vmclass.get("spec") or {}).get("tolerations") or ())

    def _fits_its_node(self, vm, status):
        nodes = self.cluster.store.list(kinds.get("Node"))
        placed = [v for v in self.cluster.store.list(self.kind)
                  if (v.get("status") or {}).get("nodeName") and v["metadata"]["uid"] != vm["metadata"]["uid"]]
        vmclass = self.get(None, vm["spec"].get("virtualMachineClassName"), kinds.get("VirtualMachineClass")) or {}
        return status.get("nodeName") in scheduling.feasible_nodes(vm, nodes, placed,
                                                                   (vmclass.get("spec") or {}).get("nodeSelector"),
                                                                   (vmclass.get("spec") or {}).get("tolerations") or ())

    def _migratable(self, vm, status) -> tuple[str, str, str]:
        """The Migratable condition: live migration needs every disk on ReadWriteMany (shared) volumes; without the
        VolumeMigration feature (not in CE, dvp-api-notes §7.1) a disk on a local volume makes the VM non-migratable."""
        kind = kinds.get("VirtualDisk")
        for ref in status.get("blockDeviceRefs") or []:
            if ref.get("kind") != "VirtualDisk":
                continue
            disk = self.get(vm["metadata"]["namespace"], ref["name"], kind) or {}
            pvc_name = ((disk.get("status") or {}).get("target") or {}).get("persistentVolumeClaimName")
            pvc = self.get(vm["metadata"]["namespace"], pvc_name, kinds.get("PersistentVolumeClaim")) if pvc_name else None
            modes = ((pvc or {}).get("status") or {}).get("accessModes") or ((pvc or {}).get("spec") or {}).get(
                "accessModes") or []
            if pvc is not None and "ReadWriteMany" not in modes:
                return ("False", "VirtualMachineDisksNotMigratable",
                        "Live migration requires all disks to use ReadWriteMany (shared) storage. "
                        "Make sure the StorageClass supports the ReadWriteMany access mode.")
        return "True", "VirtualMachineMigratable", ""

    def _running_bookkeeping(self, vm, status, state):
        uid = vm["metadata"]["uid"]
        applied = self._applied.setdefault(uid, restart_fields(vm))
        wanted = restart_fields(vm)
        changes = restart_changes(applied, wanted)
        scheduled_with = self._placement.setdefault(uid, placement_fields(vm))
        if scheduled_with != placement_fields(vm):
            if self._fits_its_node(vm, status):
                self._placement[uid] = placement_fields(vm)  # rules the node satisfies are applied at once
            else:
                # As in DVP CE: new placement rules that the current node breaks wait for a restart (EE live-migrates).
                # vmchange compares each placement field whole (path "nodeSelector", not its keys).
                desired = placement_fields(vm)
                changes += [change for field in PLACEMENT_FIELDS for change in restart_changes(
                    {field: scheduled_with[field]} if field in scheduled_with else {},
                    {field: desired[field]} if field in desired else {}, whole=True)]
        for device in status.get("blockDeviceRefs") or []:
            device["attached"] = True
        set_condition(self.cluster, status, "FirmwareUpToDate", *firmware.up_to_date(self.cluster, status))
        devices = tuple((d["kind"], d["name"]) for d in status.get("blockDeviceRefs") or [])
        if self._migratable_for.get(uid) != devices:  # re-evaluated when a device is hot-plugged or unplugged
            self._migratable_for[uid] = devices
            set_condition(self.cluster, status, "Migratable", *self._migratable(vm, status))
        if changes:
            status["restartAwaitingChanges"] = changes
            set_condition(self.cluster, status, "AwaitingRestartToApplyConfiguration", "True", "ChangesPendingRestart",
                          "Restart the virtual machine to apply the configuration changes.")
            # DVP's sync_kvvm handler: reason ConfigurationNotApplied, "Waiting for restart from user."
            set_condition(self.cluster, status, "ConfigurationApplied", "False", "ConfigurationNotApplied",
                          "Waiting for restart from user.")
            if (vm["spec"].get("disruptions") or {}).get("restartApprovalMode") == "Automatic":
                if not state.restart:  # DVP's sync_kvvm handler announces the restart it makes
                    self.event(vm, "VMChangesApplied", "Apply disruptive changes")
                    self.event(vm, "VMRestarted", "")
                state.restart = True
                self._dirty.add((vm["metadata"]["namespace"], vm["metadata"]["name"]))
        else:
            status.pop("restartAwaitingChanges", None)
            set_condition(self.cluster, status, "AwaitingRestartToApplyConfiguration", "False", "NoRestartRequired", "")
            set_condition(self.cluster, status, "ConfigurationApplied", "True", "ConfigurationApplied", "")
        self.write_status(vm, status)


def restart_fields(vm) -> dict:
    return {field: vm["spec"].get(field) for field in RESTART_FIELDS if vm["spec"].get(field) is not None}


def placement_fields(vm) -> dict:
    return {field: vm["spec"].get(field) for field in PLACEMENT_FIELDS if vm["spec"].get(field)}


def restart_changes(current, desired, prefix="", whole=False) -> list[dict]:
    """The `restartAwaitingChanges` entries between two specs: leaf paths such as `cpu.cores`, as DVP reports them
    (lists are compared whole, like `blockDeviceRefs`; `whole` compares the top-level fields whole)."""
    changes = []
    for key in list(current) + [k for k in desired if k not in current]:
        path = f"{prefix}{key}"
        old, new = current.get(key), desired.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and not whole:
            changes.extend(restart_changes(old, new, path + "."))
        elif old is None:
            changes.append({"operation": "add", "path": path, "desiredValue": new})
        elif new is None:
            changes.append({"operation": "remove", "path": path, "currentValue": old})
        else:
            changes.append({"operation": "replace", "path": path, "currentValue": old, "desiredValue": new})
    return changes
