"""VirtualMachineOperation: Start, Stop and Restart (with force), supersede, applicability."""

from dvpsim import kinds
from dvpsim.admission import VMOP_FINISHED, may_supersede
from dvpsim.controllers import power
from dvpsim.controllers.base import Controller, set_condition, status_of

APPLICABLE_PHASES = {
    "Start": ("Stopped", "Stopping"),
    "Stop": ("Running", "Degraded", "Starting", "Pause", "Pending"),
    "Restart": ("Running", "Degraded", "Starting", "Pause"),
}
APPLICABLE_POLICIES = {
    "Start": ("Manual", "AlwaysOnUnlessStoppedManually"),
    "Stop": ("Manual", "AlwaysOnUnlessStoppedManually"),
    "Restart": ("Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn"),
}
IN_PROGRESS_REASON = {"Start": "StartInProgress", "Stop": "StopInProgress", "Restart": "RestartInProgress"}


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
        if status["phase"] == "Pending":
            self._begin(op, status, vm)
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

    def _begin(self, op, status, vm):
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
