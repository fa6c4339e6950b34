"""VirtualMachineOperation: Start, Stop, Restart (with force), Migrate/Evict (live migration), supersede."""


from dvpsim import kinds
from dvpsim.admission import VMOP_FINISHED, may_supersede
from dvpsim.controllers import migration, power, restore
from dvpsim.controllers.base import Controller, condition, set_condition, status_of

APPLICABLE_PHASES = {
    "Start": ("Stopped", "Stopping"),
    "Stop": ("Running", "Degraded", "Starting", "Pause", "Pending"),
    "Restart": ("Running", "Degraded", "Starting", "Pause"),
    "Migrate": ("Running",),
    "Evict": ("Running",),
}
APPLICABLE_POLICIES = {
    "Start": ("Manual", "AlwaysOnUnlessStoppedManually"),
    "Stop": ("Manual", "AlwaysOnUnlessStoppedManually"),
    "Restart": ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn"),
    "Migrate": ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn"),
    "Evict": ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn"),
}
IN_PROGRESS_REASON = {"Start": "StartInProgress", "Stop": "StopInProgress", "Restart": "RestartInProgress",
                      "Migrate": "MigrationInProgress", "Evict": "MigrationInProgress"}
# The VMOP's Completed condition through a live migration (reason, progress %, message), as the vmop migration
# lifecycle handler reports the KubeVirt migration; each stage lasts MIGRATION_STEP_SECONDS.
MIGRATION_STAGES = (
    ("TargetScheduling", 2, "Target pod is being scheduled"),
    ("TargetPreparing", 3, "Target pod is being prepared"),
    *(("Syncing", percent, "Syncing source and target") for percent in (10, 30, 50, 70, 90)),
    ("SourceSuspended", 91, "Source VM suspended"),
    ("TargetResumed", 92, "Target VM resumed"),
)
MIGRATION_STEP_SECONDS = 2.0  # a live migration takes 20 simulated seconds
MIGRATION_TYPES = ("Migrate", "Evict")


class VirtualMachineOperationController(Controller):
    primary = "VirtualMachineOperation"
    related = ("VirtualMachine",)

    async def run(self, cluster):
        self._expected_boots = {}  # Restart VMOP uid -> the VM boot count that completes it
        await super().run(cluster)

    def on_related(self, event_type, kind, obj):
        namespace, vm_name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        for op in self.cluster.store.iter(self.kind, namespace):
            if op["spec"].get("virtualMachineName") == vm_name and \
                    (op.get("status") or {}).get("phase") not in VMOP_FINISHED:
                self.kick(namespace, op["metadata"]["name"])

    async def reconcile(self, namespace, name):
        op = self.get(namespace, name)
        if op is None or (op.get("status") or {}).get("phase") in VMOP_FINISHED:
            return
        status = status_of(op)
        type_ = op["spec"]["type"]
        vm = self.get(namespace, op["spec"]["virtualMachineName"], kinds.get("VirtualMachine"))
        if not status.get("phase"):
            self._supersede_others(op)
            status["phase"] = "Pending"
            set_condition(self.cluster, status, "Completed", "False", "NotReadyToBeExecuted", "")
            op = self.write_status(op, status)
            if op is None:
                return
            await self.sleep(0.5)
            op = self.get(namespace, name)
            if op is None or (op.get("status") or {}).get("phase") in VMOP_FINISHED:
                return
            status = status_of(op)
        if type_ in restore.TYPES:
            return await restore.run(self, op, vm)
        if status["phase"] == "Pending":
            await self._begin(op, status, vm)
        elif status["phase"] == "InProgress":
            self._check_done(op, status, vm)

    def _supersede_others(self, op):
        for other in self.cluster.store.list(self.kind, op["metadata"]["namespace"]):
            if other["metadata"]["uid"] == op["metadata"]["uid"] or \
                    other["spec"].get("virtualMachineName") != op["spec"]["virtualMachineName"] or \
                    (other.get("status") or {}).get("phase") in VMOP_FINISHED:
                continue
            if may_supersede(op["spec"], other["spec"]):
                status = status_of(other)
                status["phase"] = "Superseded"
                set_condition(self.cluster, status, "Completed", "False", "Superseded",
                              f'Superseded by the operation "{op["metadata"]["name"]}".')
                if self.write_status(other, status):
                    self.event(other, "Superseded", f'Superseded by "{op["metadata"]["name"]}"')

    async def _begin(self, op, status, vm):
        type_ = op["spec"]["type"]
        if vm is None:
            return self._fail(op, status, "VirtualMachineNotFound",
                              f'VirtualMachine "{op["spec"]["virtualMachineName"]}" not found.')
        if type_ not in APPLICABLE_PHASES:
            return self._fail(op, status, "OperationFailed",
                              f"Operation type {type_} is not supported by the simulator.")
        phase = (vm.get("status") or {}).get("phase") or "Pending"
        policy = vm["spec"].get("runPolicy")
        force = bool(op["spec"].get("force"))
        phases = APPLICABLE_PHASES[type_] + (("Stopping",) if force and type_ != "Start" else ())
        if phase not in phases:
            return self._fail(op, status, "NotApplicableForVirtualMachinePhase",
                              f"Operation type {type_} is not applicable for VirtualMachine in phase {phase}")
        if policy not in APPLICABLE_POLICIES[type_]:
            return self._fail(op, status, "NotApplicableForVirtualMachineRunPolicy",
                              f"Operation type {type_} is not applicable for VirtualMachine with runPolicy {policy}")
        if type_ in MIGRATION_TYPES:
            return await self._migrate(op, status, vm)
        state = power.of(self.cluster, vm)
        state.force = force
        if type_ == "Start":
            state.on = True
        elif type_ == "Stop":
            state.on = False
        else:
            state.on = True
            state.restart = True
            self._expected_boots[op["metadata"]["uid"]] = state.boots + 1
        status["phase"] = "InProgress"
        set_condition(self.cluster, status, "SignalSent", "True", "SignalSent", "")
        set_condition(self.cluster, status, "Completed", "False", IN_PROGRESS_REASON[type_],
                      f"The {type_} operation is in progress.")
        if self.write_status(op, status) is not None:
            self.event(op, IN_PROGRESS_REASON[type_], f"{type_} of the virtual machine {vm['metadata']['name']} started")
        power.wake(self.cluster, vm)

    # ---- live migration -------------------------------------------------------------------------

    async def _migrate(self, op, status, vm):
        """Running → Migrating (progress on the VMOP) → Running on another node; deleting the VMOP cancels."""
        namespace, vm_name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        if (condition(vm.get("status") or {}, "Migratable") or {}).get("status") != "True":
            # vmop lifecycle canExecute: a VM whose Migratable condition is not True fails the operation.
            return self._fail(op, status, "OperationFailed", "VirtualMachine is not migratable, cannot be processed.")
        source = vm["status"].get("nodeName")
        target, why = migration.pick_target(self, vm, source)
        if target is None:
            return self._fail(op, status, "TargetUnschedulable", f"Migration failed: target pod is unschedulable: {why}")
        policy = vm["spec"].get("liveMigrationPolicy", "PreferSafe")
        force = op["spec"].get("force")
        # livemigration.CalculateEffectivePolicy: `force` overrides AutoConverge only under the Prefer* policies;
        # against an Always* policy it makes the operation fail.
        if (policy, force) in (("AlwaysSafe", True), ("AlwaysForced", False)):
            message = (f"Operation is invalid: force={str(force).lower()} is not applicable for VM "
                       f"liveMigrationPolicy {policy}")
            return self._fail(op, status, "NotApplicableForLiveMigrationPolicy", message)
        auto_converge = policy == "AlwaysForced" or (policy == "PreferForced" and force is not False) or \
            (policy == "PreferSafe" and bool(force))
        self.event(op, "VirtualMachineOperationStarted",
                   f"Migration settings for operation type {op['spec']['type']}: liveMigrationPolicy {policy}, "
                   f"autoConverge {str(auto_converge).lower()}")
        self.cluster.record_event(vm, "Normal", "Evicted" if op["spec"]["type"] == "Evict" else "Migrated",
                                  f"{op['spec']['type']} initiated with VirtualMachineOperation")
        status["phase"] = "InProgress"
        set_condition(self.cluster, status, "SignalSent", "True", "SignalSentSuccess", "")
        op = self._migration_stage(op, status, *MIGRATION_STAGES[0])
        if op is None:
            return
        self.event(op, "VirtualMachineOperationInProgress", f'Sent signal "{op["spec"]["type"]}" to VM without errors.')
        started = self.cluster.clock.timestamp()
        migration.set_vm_migration(self, vm, "Migrating", {"startTimestamp": started, "source": {"node": source},
                                                 "target": {"node": target}, "result": ""},
                               migrating=("True", "InProgress", ""))
        self.cluster.record_event(vm, "Normal", "Migrating", f"Live migration from {source} to {target} started")
        for stage in MIGRATION_STAGES[1:] + (None,):
            await self.sleep(MIGRATION_STEP_SECONDS)
            vm = self.get(namespace, vm_name, kinds.get("VirtualMachine"))
            op = self.get(namespace, op["metadata"]["name"])
            if vm is None or (vm.get("status") or {}).get("phase") != "Migrating":
                if op is not None and (op.get("status") or {}).get("phase") not in VMOP_FINISHED:
                    self._fail(op, status_of(op), "OperationFailed",
                               "Migration failed because the virtual machine is currently not running.")
                return
            if op is None or op["metadata"].get("deletionTimestamp") or \
                    (op.get("status") or {}).get("phase") in VMOP_FINISHED:
                migration.set_vm_migration(self, vm, "Running", {**vm["status"].get("migrationState", {}), "result": "Failed",
                                                       "endTimestamp": self.cluster.clock.timestamp()},
                                       migrating=None)
                self.cluster.record_event(vm, "Warning", "MigrationCanceled",
                                          f"Live migration to {target} was canceled; the VM stays on {source}")
                return
            if stage is not None:
                self._migration_stage(op, status_of(op), *stage)
        migration.set_vm_migration(self, vm, "Running", {**vm["status"].get("migrationState", {}), "result": "Succeeded",
                                               "endTimestamp": self.cluster.clock.timestamp()},
                               migrating=None, node=target)
        self.cluster.record_event(vm, "Normal", "Migrated", f"Live migration from {source} to {target} completed")
        status = status_of(op)
        status["phase"] = "Completed"
        status["progress"] = "100%"
        set_condition(self.cluster, status, "Completed", "True", "Completed", "")
        if self.write_status(op, status) is not None:
            self.event(op, "VirtualMachineOperationSucceeded", "VirtualMachineOperation succeeded")

    def _migration_stage(self, op, status, reason, progress, message):
        status["progress"] = f"{progress}%"
        set_condition(self.cluster, status, "Completed", "False", reason, message)
        return self.write_status(op, status)

    def _check_done(self, op, status, vm):
        if vm is None:
            return self._fail(op, status, "VirtualMachineNotFound",
                              f'VirtualMachine "{op["spec"]["virtualMachineName"]}" not found.')
        type_ = op["spec"]["type"]
        phase = (vm.get("status") or {}).get("phase")
        state = power.of(self.cluster, vm)
        done = (type_ == "Start" and phase == "Running") or (type_ == "Stop" and phase == "Stopped") or \
               (type_ == "Restart" and phase == "Running" and
                state.boots >= self._expected_boots.get(op["metadata"]["uid"], 0))
        if not done:
            return
        status["phase"] = "Completed"
        set_condition(self.cluster, status, "Completed", "True", "OperationCompleted", "")
        if self.write_status(op, status) is not None:
            self.event(op, "OperationCompleted", f"{type_} of the virtual machine {vm['metadata']['name']} completed")

    def _fail(self, op, status, reason, message):
        status["phase"] = "Failed"
        set_condition(self.cluster, status, "Completed", "False", reason, message)
        if self.write_status(op, status) is not None:
            self.event(op, reason, message, "Warning")
