"""A VM's phase transitions: start (scheduling, boot, guest agent), stop, delete, internal failures, pause."""

import secrets

from dvpsim.controllers import firmware, power, vm_failures
from dvpsim.controllers.base import condition, is_deleting, remove_condition, set_condition, status_of
from dvpsim.controllers.vm_running import placement_fields, restart_fields
from dvpsim.guest import cloudinit

RUNNING_PHASES = ("Running", "Starting", "Migrating", "Pause", "Degraded")
BOOT_SECONDS = 3.0
SCHEDULE_SECONDS = 1.0
AGENT_SECONDS = 2.0
GRACEFUL_STOP_SECONDS = 2.0
FORCED_STOP_SECONDS = 0.3
CRASH_BACKOFF_SECONDS = 5.0  # KubeVirt's back-off before it starts a failed instance again
# sync_power_state.go: the VMRestarted Event of DVP's restart of a failed instance, per run policy.
RESTART_AFTER_FAILURE = {
    "AlwaysOn": "Restart initiated by controller after stopping from inside the guest VirtualMachine for AlwaysOn "
                "runPolicy",
    "AlwaysOnUnlessStoppedManually": "Restart initiated by controller after observing failed guest VirtualMachine "
                                     "for AlwaysOnUnlessStoppedManually runPolicy",
}
# The Running condition while KubeVirt keeps the guest paused after an I/O error (a full or failed disk).
PAUSED_IO_ERROR = "VMI was paused, low-level IO error detected"
AGENT_NOT_CONNECTED = "Failed to connect to VM Agent."

GUEST_OS_INFO = {"id": "ubuntu", "name": "Ubuntu", "prettyName": "Ubuntu 24.04.1 LTS", "version": "24.04.1 LTS (Noble Numbat)",
                 "versionId": "24.04", "kernelRelease": "6.8.0-45-generic",
                 "kernelVersion": "#45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024", "machine": "x86_64"}


def topology(cores: int) -> dict:
    sockets = 1 if cores <= 16 else 2 if cores <= 32 else 4 if cores <= 64 else 8
    return {"sockets": sockets, "coresPerSocket": max(cores // sockets, 1)}


def requested_cores(cores: int, core_fraction: str) -> str:
    fraction = 100 if core_fraction in ("", "Auto") else int(core_fraction.rstrip("%"))
    millis = cores * fraction * 10
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


class VmLifecycle:
    """VirtualMachineController's part that moves a VM from phase to phase."""

    # ---- starting -----------------------------------------------------------------------------

    async def _start(self, vm, status, state):
        namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        if not status.get("nodeName"):
            if not status.get("virtualMachinePods"):
                status["virtualMachinePods"] = [{"name": f"virt-launcher-{name}-{pod_suffix()}", "active": True}]
            node, message = self._schedule(vm)
            if node is None:
                # lifecycle.go: while the Pod's PodScheduled condition is False the VM is Pending; its Pod waits for
                # the scheduler (and gets the FailedScheduling Event: launchers.py).
                self._set_phase(vm, status, "Pending")
                self._not_running(status, vm_failures.unschedulable_message("Unschedulable", message),
                                  reason="PodNotStarted")
                self.write_status(vm, status)
                return
            status["nodeName"] = node
            self._set_phase(vm, status, "Starting")
            self._not_running(status, "The virtual machine is starting.", reason="PodNotStarted")
            self.write_status(vm, status)
        # WaitForFirstConsumer disks are provisioned now that the node is known.
        if (condition(status, "BlockDevicesReady") or {}).get("status") != "True":
            self.write_status(vm, status)
            return
        await self.sleep(BOOT_SECONDS)
        vm = self.get(namespace, name)
        if vm is None or is_deleting(vm) or not state.on or (vm.get("status") or {}).get("phase") != "Starting":
            return
        status = status_of(vm)
        self._dependencies(vm, status)
        state.boots += 1
        self._applied[vm["metadata"]["uid"]] = restart_fields(vm)
        self._placement[vm["metadata"]["uid"]] = placement_fields(vm)
        self._set_phase(vm, status, "Running")
        now = self.cluster.clock.timestamp()
        status.setdefault("stats", {})["lastStartTime"] = now
        cores = int(vm["spec"]["cpu"]["cores"])
        fraction = vm["spec"]["cpu"].get("coreFraction", "100%")
        status["resources"] = {
            "cpu": {"cores": cores, "coreFraction": fraction, "requestedCores": requested_cores(cores, fraction),
                    "runtimeOverhead": "0", "topology": topology(cores)},
            "memory": {"size": vm["spec"]["memory"]["size"], "runtimeOverhead": "256Mi"},
        }
        status["versions"] = firmware.current(self.cluster)
        for device in status.get("blockDeviceRefs") or []:
            device["attached"] = True
        set_condition(self.cluster, status, "Running", "True", "Running", "", vm["metadata"].get("generation"))
        set_condition(self.cluster, status, "Migratable", *self._migratable(vm, status))
        self._migratable_for[vm["metadata"]["uid"]] = tuple(
            (d["kind"], d["name"]) for d in status.get("blockDeviceRefs") or [])
        set_condition(self.cluster, status, "AwaitingRestartToApplyConfiguration", "False", "NoRestartRequired", "")
        # A fresh start runs the current firmware and the whole configuration.
        set_condition(self.cluster, status, "FirmwareUpToDate", "True", "FirmwareUpToDate", "")
        set_condition(self.cluster, status, "ConfigurationApplied", "True", "ConfigurationApplied", "")
        # Until qemu-guest-agent answers (and for ever without it) DVP reports the agent as not ready.
        set_condition(self.cluster, status, "AgentReady", "False", "AgentNotReady", AGENT_NOT_CONNECTED)
        status.pop("restartAwaitingChanges", None)
        if self.write_status(vm, status) is None:
            return
        self.event(vm, "Started", f"The virtual machine is running on {status.get('nodeName')}")
        await self.connect_agent(namespace, name, state)

    def has_agent(self, vm) -> bool:
        """qemu-guest-agent is in the guest: installed by its cloud-init, or by hand in its shell."""
        return cloudinit.has_guest_agent(cloudinit.parse(cloudinit.user_data_of(self.cluster, vm))) or \
            power.of(self.cluster, vm).agent_installed

    async def connect_agent(self, namespace, name, state):
        """The agent starts with the guest OS and connects a moment after boot; then guestOSInfo appears."""
        vm = self.get(namespace, name)
        if vm is None or not self.has_agent(vm):
            return
        boots, reboots = state.boots, state.reboots
        await self.sleep(AGENT_SECONDS)
        vm = self.get(namespace, name)
        if vm is None or state.boots != boots or state.reboots != reboots or \
                (vm.get("status") or {}).get("phase") != "Running":
            return
        status = status_of(vm)
        status["guestOSInfo"] = dict(GUEST_OS_INFO)
        set_condition(self.cluster, status, "AgentReady", "True", "AgentReady", "")
        self.write_status(vm, status)
        self.event(vm, "AgentReady", "The guest agent is connected")

    # ---- stopping -----------------------------------------------------------------------------

    async def _stop(self, vm, status, state, then):
        state.fault = state.paused = ""  # a stop ends the failed or paused instance
        self._set_phase(vm, status, "Stopping")
        self._not_running(status, "The virtual machine is stopping.", reason="PodTerminating")
        if self.write_status(vm, status) is None:
            return
        self.event(vm, "Stopping", "The virtual machine is stopping" + (" (forced)" if state.force else ""))
        await self.sleep(FORCED_STOP_SECONDS if state.force else GRACEFUL_STOP_SECONDS)
        state.force = False
        vm = self.get(vm["metadata"]["namespace"], vm["metadata"]["name"])
        if vm is None:
            return
        status = status_of(vm)
        self._drop_instance(status)
        self._set_phase(vm, status, then)
        if then == "Stopped":
            status["resources"] = spec_resources(vm)
        self._not_running(status, {"Stopped": "The virtual machine is stopped.",
                                   "Terminating": "The virtual machine is being deleted."}.get(then, "Restarting."))
        if self.write_status(vm, status) is not None and then == "Stopped":
            self.event(vm, "Stopped", "The virtual machine is stopped")

    async def _delete(self, vm):
        status = status_of(vm)
        if status.get("phase") in RUNNING_PHASES:
            state = power.of(self.cluster, vm)
            state.on = False
            await self._stop(vm, status, state, then="Terminating")
            vm = self.get(vm["metadata"]["namespace"], vm["metadata"]["name"])
            if vm is None:
                return
        elif status.get("phase") != "Terminating":
            self._set_phase(vm, status, "Terminating")
            self.write_status(vm, status)
        self.event(vm, "Terminating", "The virtual machine is deleted")
        self.set_finalizer(vm, False)

    # ---- failures -----------------------------------------------------------------------------

    async def _crash(self, vm, status, state):
        """The instance failed (the fail control, a guest kernel panic) and KubeVirt reports `state.fault`, a
        printable status such as CrashLoopBackOff: the VM is Pending without an instance and the Running condition
        says why (vm_failures). Under AlwaysOn and AlwaysOnUnlessStoppedManually DVP starts it again once KubeVirt's
        back-off is over; under Manual it waits for a Stop operation (a Restart does not apply to Pending)."""
        namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        fault = state.fault
        reason, message, detail = vm_failures.running_condition(fault)
        self._set_phase(vm, status, "Pending")
        set_condition(self.cluster, status, "Running", "False", reason, message, vm["metadata"].get("generation"))
        self._drop_instance(status)
        status["resources"] = spec_resources(vm)
        if self.write_status(vm, status) is None:
            return
        if detail:
            self.event(vm, "InternalVirtualMachineError", detail, "Warning")
        policy = vm["spec"].get("runPolicy")
        if policy not in RESTART_AFTER_FAILURE:
            return
        await self.sleep(CRASH_BACKOFF_SECONDS)
        vm = self.get(namespace, name)
        if vm is None or is_deleting(vm) or state.fault != fault or not state.on or \
                (vm.get("status") or {}).get("phase") != "Pending":
            return  # stopped or deleted meanwhile: the next reconcile does that
        state.fault = ""
        self.event(vm, "VMRestarted", RESTART_AFTER_FAILURE[policy])
        self._dirty.add((namespace, name))

    @staticmethod
    def _drop_instance(status):
        """No instance, no virt-launcher Pod: what a stop leaves of the status."""
        for key in ("nodeName", "guestOSInfo", "virtualMachinePods", "versions"):
            status.pop(key, None)
        remove_condition(status, "AgentReady")
        remove_condition(status, "Migratable")
        for device in status.get("blockDeviceRefs") or []:
            device["attached"] = False

    def _pause(self, vm, status, state):
        self._set_phase(vm, status, "Pause")
        message = PAUSED_IO_ERROR if state.paused == "IOError" else f"VMI was paused: {state.paused}"
        set_condition(self.cluster, status, "Running", "False", "GuestNotRunning", message,
                      vm["metadata"].get("generation"))
        if self.write_status(vm, status) is not None:
            self.event(vm, "Paused", f"The virtual machine is paused: {message}", "Warning")

    def _resume(self, vm, status):
        self._set_phase(vm, status, "Running")
        set_condition(self.cluster, status, "Running", "True", "Running", "", vm["metadata"].get("generation"))
        if self.write_status(vm, status) is not None:
            self.event(vm, "Resumed", "The virtual machine is running again")

    # ---- status helpers -----------------------------------------------------------------------

    def _set_phase(self, vm, status, phase):
        if status.get("phase") == phase:
            return
        status["phase"] = phase
        status["observedGeneration"] = vm["metadata"].get("generation")
        transitions = status.setdefault("stats", {}).setdefault("phasesTransitions", [])
        transitions.append({"phase": phase, "timestamp": self.cluster.clock.timestamp()})
        del transitions[:-5]

    def _not_running(self, status, message, reason="NotRunning"):
        set_condition(self.cluster, status, "Running", "False", reason, message)


def spec_resources(vm) -> dict:
    """`status.resources` of a VM without an instance: what its spec asks for (statistic handler, kvvmi == nil)."""
    cores = int(vm["spec"]["cpu"]["cores"])
    return {"cpu": {"cores": cores, "coreFraction": vm["spec"]["cpu"].get("coreFraction", "100%"),
                    "topology": topology(cores)},
            "memory": {"size": vm["spec"]["memory"]["size"]}}


def pod_suffix() -> str:
    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
