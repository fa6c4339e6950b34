"""VirtualDiskSnapshot: Pending → InProgress → Ready, consistent or not (dvp-api-notes §4.4).

A disk attached to a running VM is snapshotted consistently only when the guest agent can freeze
its file systems; with `requiredConsistency: true` (the default) and no agent, the snapshot waits
in Pending with DVP's PotentiallyInconsistent message until the agent is ready or the VM stops.
"""

from dvpsim import kinds, quantity
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of
from dvpsim.controllers.usage import vms_using

RUNNING_PHASES = ("Starting", "Running", "Stopping", "Migrating", "Pause", "Degraded")
RESTORE_SIZE_ANNOTATION = "dvpsim.deckhouse.io/restore-size"  # a VolumeSnapshot's restoreSize, in dvpsim


class VirtualDiskSnapshotController(Controller):
    primary = "VirtualDiskSnapshot"
    related = ("VirtualDisk", "VirtualMachine")

    def on_related(self, event_type, kind, obj):
        namespace = obj["metadata"].get("namespace")
        if kind.kind == "VirtualDisk":
            disks = {obj["metadata"]["name"]}
        else:
            disks = {r.get("name") for r in obj.get("spec", {}).get("blockDeviceRefs") or []
                     if r.get("kind") == "VirtualDisk"}
        for snapshot in self.cluster.store.iter(self.kind, namespace):
            if snapshot.get("spec", {}).get("virtualDiskName") in disks:
                self.kick(namespace, snapshot["metadata"]["name"])

    async def reconcile(self, namespace, name):
        snapshot = self.get(namespace, name)
        if snapshot is None:
            return
        if is_deleting(snapshot):
            self.set_finalizer(snapshot, False)
            return
        snapshot = self.set_finalizer(snapshot, True)
        status = status_of(snapshot)
        if status.get("phase") in ("Ready", "Failed", "InProgress"):
            return
        generation = snapshot["metadata"].get("generation", 1)
        spec = snapshot.get("spec") or {}
        disk_name = spec.get("virtualDiskName")
        disk = self.get(namespace, disk_name, kinds.get("VirtualDisk"))
        status["observedGeneration"] = generation
        if disk is None or (disk.get("status") or {}).get("phase") != "Ready":
            status["phase"] = "Pending"
            what = f'The virtual disk "{disk_name}"'
            message = f"{what} not found." if disk is None else \
                f"{what} is {(disk.get('status') or {}).get('phase') or 'Pending'}: waiting for it to be Ready."
            set_condition(self.cluster, status, "VirtualDiskReady", "False", "VirtualDiskNotReadyForSnapshotting",
                          message, generation)
            set_condition(self.cluster, status, "VirtualDiskSnapshotReady", "False", "WaitingForTheVirtualDisk",
                          message, generation)
            self.write_status(snapshot, status)
            return
        set_condition(self.cluster, status, "VirtualDiskReady", "True", "VirtualDiskReady", "", generation)
        running = [vm for vm in vms_using(self.cluster, "VirtualDisk", namespace, disk_name)
                   if (vm.get("status") or {}).get("phase") in RUNNING_PHASES]
        consistent = True
        if running:
            vm = running[0]
            agent = condition(vm.get("status") or {}, "AgentReady")
            can_freeze = bool(agent) and agent.get("status") == "True"
            if not can_freeze and spec.get("requiredConsistency", True):
                status["phase"] = "Pending"
                set_condition(
                    self.cluster, status, "VirtualDiskSnapshotReady", "False", "PotentiallyInconsistent",
                    f'The virtual machine "{vm["metadata"]["name"]}" with an attached virtual disk "{disk_name}" is '
                    f'{vm["status"]["phase"]}: the snapshotting of virtual disk might result in an inconsistent '
                    "snapshot: virtual machine agent is not ready and virtual machine cannot be frozen: waiting for "
                    "virtual machine agent to be ready, or virtual machine will stop", generation)
                self.write_status(snapshot, status)
                return
            consistent = can_freeze
        status["phase"] = "InProgress"
        set_condition(self.cluster, status, "VirtualDiskSnapshotReady", "False", "Snapshotting",
                      "The snapshot is being taken." if not running or not consistent else
                      "The file systems are frozen: the snapshot is being taken.", generation)
        if self.write_status(snapshot, status) is None:
            return
        self.event(snapshot, "Snapshotting", f'Taking a snapshot of the virtual disk "{disk_name}"')
        await self.sleep(2.0)
        capacity = (disk.get("status") or {}).get("capacity") or "0"
        fresh = self.get(namespace, name)
        if fresh is None or fresh["metadata"]["uid"] != snapshot["metadata"]["uid"]:
            return
        fresh["metadata"].setdefault("annotations", {})[RESTORE_SIZE_ANNOTATION] = str(quantity.parse_bytes(capacity))
        fresh["metadata"].pop("resourceVersion", None)
        fresh = self.cluster.update(self.kind, fresh)
        status.update({"phase": "Ready", "consistent": consistent,
                       "volumeSnapshotName": f"vds-{snapshot['metadata']['uid']}"})
        set_condition(self.cluster, status, "VirtualDiskSnapshotReady", "True", "VirtualDiskSnapshotReady", "",
                      generation)
        if self.write_status(fresh, status) is not None:
            self.event(snapshot, "Ready", f"The snapshot is ready ({'consistent' if consistent else 'inconsistent'})")


def restore_size(snapshot) -> int:
    return int((snapshot["metadata"].get("annotations") or {}).get(RESTORE_SIZE_ANNOTATION) or 0)
