"""VirtualMachine life cycle: Pending → Starting → Running → Stopping → Stopped, on simulated nodes.

The controller is put together from one mixin per concern: the dependencies a VM waits for (vm_dependencies), its
phase transitions (vm_lifecycle), the bookkeeping of a running VM (vm_running)."""

from dvpsim.controllers import power
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of
from dvpsim.controllers.vm_dependencies import VmDependencies, ip_address_name, provisioning_secrets
from dvpsim.controllers.vm_lifecycle import (AGENT_NOT_CONNECTED, RUNNING_PHASES, SCHEDULE_SECONDS, VmLifecycle,
                                             spec_resources)
from dvpsim.controllers.vm_running import VmRunning


class VirtualMachineController(VmDependencies, VmLifecycle, VmRunning, Controller):
    primary = "VirtualMachine"
    related = ("VirtualDisk", "VirtualImage", "ClusterVirtualImage", "VirtualMachineIPAddress",
               "VirtualMachineClass", "Node", "VirtualMachineBlockDeviceAttachment", "Secret",
               "Network", "ClusterNetwork", "ModuleConfig")

    async def run(self, cluster):
        self._applied = {}  # VM uid -> spec fields the running guest was started with
        self._placement = {}  # VM uid -> placement rules it was scheduled with
        self._migratable_for = {}  # VM uid -> the block devices its Migratable condition was computed for
        power.on_wake(cluster, self.kick)
        await super().run(cluster)

    def on_primary(self, event_type, obj):
        obj_status = obj.get("status") or {}
        if event_type == "DELETED" or obj_status.get("phase") in ("Stopped", "Terminating") or \
                (obj_status.get("phase") == "Starting" and obj_status.get("nodeName")):
            # Freed capacity, or a VM that others' affinity rules wait for: the scheduler retries its pending pods.
            self._retry_unscheduled(obj)
        if event_type == "DELETED":
            power.forget(self.cluster, obj["metadata"]["uid"])
            self._applied.pop(obj["metadata"]["uid"], None)
            self._placement.pop(obj["metadata"]["uid"], None)
            self._migratable_for.pop(obj["metadata"]["uid"], None)
            return
        super().on_primary(event_type, obj)

    def _retry_unscheduled(self, gone):
        for vm in self.cluster.store.iter(self.kind):
            status = vm.get("status") or {}
            if status.get("phase") == "Pending" and _waits_for_a_node(status) and \
                    vm["metadata"]["uid"] != gone["metadata"]["uid"]:
                self.kick(vm["metadata"]["namespace"], vm["metadata"]["name"])

    def on_related(self, event_type, kind, obj):
        if kind.kind in ("VirtualMachineClass", "Node", "ModuleConfig"):
            self.kick_all()
            return
        if kind.kind in ("Network", "ClusterNetwork"):  # condition NetworkReady of the VMs that name it
            for vm in self.cluster.store.iter(self.kind, obj["metadata"].get("namespace") if kind.namespaced else None):
                if any(n.get("type") == kind.kind and n.get("name") == obj["metadata"]["name"]
                       for n in vm["spec"].get("networks") or []):
                    self.kick(vm["metadata"]["namespace"], vm["metadata"]["name"])
            return
        namespace = obj["metadata"].get("namespace")
        if kind.kind == "VirtualMachineBlockDeviceAttachment":
            self.kick(namespace, (obj.get("spec") or {}).get("virtualMachineName", ""))
            return
        if kind.kind == "Secret":
            for vm in self.cluster.store.iter(self.kind, namespace):
                if obj["metadata"]["name"] in provisioning_secrets(vm):
                    self.kick(namespace, vm["metadata"]["name"])
            return
        if kind.kind == "VirtualMachineIPAddress":
            for vm in self.cluster.store.iter(self.kind, namespace):
                if ip_address_name(vm) == obj["metadata"]["name"]:
                    self.kick(namespace, vm["metadata"]["name"])
            return
        for vm in self.cluster.store.iter(self.kind, namespace if kind.namespaced else None):
            refs = vm.get("spec", {}).get("blockDeviceRefs") or []
            if any(r.get("kind") == kind.kind and r.get("name") == obj["metadata"]["name"] for r in refs):
                self.kick(vm["metadata"]["namespace"], vm["metadata"]["name"])

    # ---- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, namespace, name):
        vm = self.get(namespace, name)
        if vm is None:
            return
        if is_deleting(vm):
            await self._delete(vm)
            return
        vm = self.set_finalizer(vm, True)
        state = power.of(self.cluster, vm)
        policy = vm["spec"].get("runPolicy")
        if policy == "AlwaysOff":
            state.on = False
        elif policy == "AlwaysOn":
            state.on = True
        if (condition(vm.get("status") or {}, "Maintenance") or {}).get("status") == "True":
            state.on = False  # a restore from a snapshot holds the VM stopped
        self._ensure_ip_address(vm)
        status = status_of(vm)
        if not status.get("phase"):
            self._set_phase(vm, status, "Pending")
        ready = self._dependencies(vm, status)
        phase = status["phase"]

        if state.restart and phase in RUNNING_PHASES:
            state.restart = False
            if phase == "Pause":
                state.force = True  # nothing left to shut down gracefully
            await self._stop(vm, status, state, then="Starting")
            vm = self.get(namespace, name)
            if vm is None:
                return
            status = status_of(vm)
            phase = status["phase"]
        state.restart = False

        if not state.on:
            if phase in RUNNING_PHASES:
                await self._stop(vm, status, state, then="Stopped")
            elif phase != "Stopped" and phase != "Stopping":
                state.fault = ""  # a crash-looping or unschedulable VM has no instance left to stop
                self._drop_instance(status)
                self._set_phase(vm, status, "Stopped")
                self._not_running(status, "The virtual machine is stopped.")
                status["resources"] = spec_resources(vm)
                self.write_status(vm, status)
            else:
                if phase == "Stopped":
                    status["resources"] = spec_resources(vm)
                self.write_status(vm, status)
            return

        if state.fault and phase in ("Running", "Starting", "Pause"):
            await self._crash(vm, status, state)
            return
        if state.fault and phase == "Pending":
            self.write_status(vm, status)
            return  # crash-looping: until the run policy restarts it, or a Stop operation
        if state.paused and phase == "Running":
            self._pause(vm, status, state)
            return
        if phase == "Pause":
            if not state.paused:
                self._resume(vm, status)
            else:
                self.write_status(vm, status)
            return

        if phase in ("Pending", "Stopped"):
            status["resources"] = spec_resources(vm)  # no instance yet: DVP shows what the spec asks for
        if phase in ("Pending", "Stopped", "Stopping"):
            if not ready:
                if phase != "Pending":
                    self._set_phase(vm, status, "Pending")
                    status["resources"] = spec_resources(vm)
                self._drop_instance(status)
                self._not_running(status, "Waiting for the dependent resources to be ready.")
                self.write_status(vm, status)
                return
            if phase == "Pending" and _waits_for_a_node(status):
                await self._start(vm, status, state)  # the scheduler tries its Pod again
                return
            self._set_phase(vm, status, "Starting")
            self._not_running(status, "The virtual machine is starting.", reason="PodNotStarted")
            vm = self.write_status(vm, status)
            if vm is None:
                return
            self.event(vm, "Starting", "The virtual machine is starting")
            await self.sleep(SCHEDULE_SECONDS)
            phase = "Starting"
            vm = self.get(namespace, name)
            if vm is None:
                return
            status = status_of(vm)

        if phase == "Starting":
            await self._start(vm, status, state)
            return
        if phase == "Running":
            self._running_bookkeeping(vm, status, state)
            if state.agent_check:
                state.agent_check = False
                await self._reconnect_agent(namespace, name, state)

    async def _reconnect_agent(self, namespace, name, state):
        """After a reboot inside the guest the agent goes away until the OS is up again; after an install by
        hand it connects for the first time."""
        vm = self.get(namespace, name)
        if vm is None:
            return
        status = status_of(vm)
        if (condition(status, "AgentReady") or {}).get("status") == "True":
            status.pop("guestOSInfo", None)
            set_condition(self.cluster, status, "AgentReady", "False", "AgentNotReady", AGENT_NOT_CONNECTED)
            self.write_status(vm, status)
        await self.connect_agent(namespace, name, state)


def _waits_for_a_node(status) -> bool:
    """Its virt-launcher Pod is there but not scheduled yet."""
    return bool(status.get("virtualMachinePods")) and not status.get("nodeName")
