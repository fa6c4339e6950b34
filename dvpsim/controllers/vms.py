"""VirtualMachine life cycle: Pending → Starting → Running → Stopping → Stopped, on simulated nodes."""

import secrets

from dvpsim import kinds, scheduling
from dvpsim.controllers import attachments, firmware, macs, power
from dvpsim.controllers.base import (Controller, condition, is_deleting, remove_condition, set_condition,
                                     status_of)
from dvpsim.admission import sizing_policy_problem
from dvpsim.errors import AlreadyExists
from dvpsim.guest import cloudinit

RUNNING_PHASES = ("Running", "Starting", "Migrating", "Pause", "Degraded")
BOOT_SECONDS = 3.0
SCHEDULE_SECONDS = 1.0
AGENT_SECONDS = 2.0
GRACEFUL_STOP_SECONDS = 2.0
FORCED_STOP_SECONDS = 0.3
CRASH_BACKOFF_SECONDS = 5.0  # KubeVirt's back-off before it starts a failed instance again
# The Running condition while KubeVirt keeps the guest paused after an I/O error (a full or failed disk).
PAUSED_IO_ERROR = "VMI was paused, low-level IO error detected"
AGENT_NOT_CONNECTED = "Failed to connect to VM Agent."
CLOUD_INIT_SECRET = "provisioning.virtualization.deckhouse.io/cloud-init"
SYSPREP_SECRET = "provisioning.virtualization.deckhouse.io/sysprep"
# Spec fields whose change only takes effect after a restart.
RESTART_FIELDS = ("cpu", "memory", "blockDeviceRefs", "provisioning", "virtualMachineClassName", "osType",
                  "bootloader", "enableParavirtualization", "networks")
# Placement rules apply at once while the VM's node satisfies them, else after a restart.
PLACEMENT_FIELDS = ("affinity", "nodeSelector", "tolerations")

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


class VirtualMachineController(Controller):
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
            if status.get("phase") == "Starting" and not status.get("nodeName") and \
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
                if obj["metadata"]["name"] in _provisioning_secrets(vm):
                    self.kick(namespace, vm["metadata"]["name"])
            return
        if kind.kind == "VirtualMachineIPAddress":
            for vm in self.cluster.store.iter(self.kind, namespace):
                if _ip_address_name(vm) == obj["metadata"]["name"]:
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
            if phase in ("Degraded", "Pause"):
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
                self._set_phase(vm, status, "Stopped")
                self._not_running(status, "The virtual machine is stopped.")
                status["resources"] = _spec_resources(vm)
                self.write_status(vm, status)
            else:
                if phase == "Stopped":
                    status["resources"] = _spec_resources(vm)
                self.write_status(vm, status)
            return

        if state.fault and phase in ("Running", "Starting", "Pause"):
            await self._degrade(vm, status, state)
            return
        if phase == "Degraded":
            self.write_status(vm, status)
            return  # until the run policy restarts it, or a Stop/Restart operation
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
            status["resources"] = _spec_resources(vm)  # no instance yet: DVP shows what the spec asks for
        if phase in ("Pending", "Stopped", "Stopping"):
            if not ready:
                if phase != "Pending":
                    self._set_phase(vm, status, "Pending")
                    status["resources"] = _spec_resources(vm)
                self._not_running(status, "Waiting for the dependent resources to be ready.")
                self.write_status(vm, status)
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

    # ---- dependencies -------------------------------------------------------------------------

    def _dependencies(self, vm, status) -> bool:
        """Sets the *Ready conditions; True when the VM may be scheduled."""
        generation = vm["metadata"].get("generation")
        class_name = vm["spec"].get("virtualMachineClassName")
        vmclass = self.get(None, class_name, kinds.get("VirtualMachineClass")) if class_name else None
        class_ok = vmclass is not None and (vmclass.get("status") or {}).get("phase", "Ready") == "Ready"
        if class_ok:
            set_condition(self.cluster, status, "VirtualMachineClassReady", "True", "VirtualMachineClassReady", "", generation)
            # A class whose policy changed leaves the VM running, but its spec cannot change until it matches.
            problem = sizing_policy_problem(self.cluster, vm["spec"])
            if problem:
                set_condition(self.cluster, status, "SizingPolicyMatched", "False", "SizingPolicyNotMatched",
                              problem[0].upper() + problem[1:] + ".", generation)
            else:
                set_condition(self.cluster, status, "SizingPolicyMatched", "True", "SizingPolicyMatched", "",
                              generation)
        else:
            set_condition(self.cluster, status, "VirtualMachineClassReady", "False", "VirtualMachineClassNotReady",
                          f'VirtualMachineClass "{class_name}" not found.' if vmclass is None
                          else f'VirtualMachineClass "{class_name}" is not ready.', generation)

        provisioning_problem = self._provisioning_problem(vm)
        if provisioning_problem:
            set_condition(self.cluster, status, "ProvisioningReady", "False", "ProvisioningNotReady",
                          provisioning_problem, generation)
        else:
            set_condition(self.cluster, status, "ProvisioningReady", "True", "ProvisioningReady", "", generation)

        ip_name = _ip_address_name(vm)
        vmip = self.get(vm["metadata"]["namespace"], ip_name, kinds.get("VirtualMachineIPAddress"))
        ip_ok = vmip is not None and (vmip.get("status") or {}).get("phase") in ("Bound", "Attached")
        status["virtualMachineIPAddressName"] = ip_name
        if ip_ok:
            status["ipAddress"] = vmip["status"]["address"]
            set_condition(self.cluster, status, "VirtualMachineIPAddressReady", "True",
                          "VirtualMachineIPAddressReady", "", generation)
        else:
            set_condition(self.cluster, status, "VirtualMachineIPAddressReady", "False",
                          "VirtualMachineIPAddressNotReady",
                          f'VirtualMachineIPAddress "{ip_name}" is not ready yet.', generation)

        waiting = []
        wffc = False
        devices = []
        for ref in vm["spec"].get("blockDeviceRefs") or []:
            kind = kinds.get(ref["kind"])
            obj = self.get(vm["metadata"]["namespace"], ref["name"], kind)
            obj_status = (obj or {}).get("status") or {}
            phase = obj_status.get("phase")
            if phase == "WaitForFirstConsumer":
                wffc = True
            elif phase != "Ready":
                waiting.append(f'{ref["kind"]} "{ref["name"]}"' + ("" if obj else " not found"))
            devices.append(_block_device_status(ref, obj_status))
        devices.extend(self._hotplugged(vm))
        status["blockDeviceRefs"] = devices
        vmmacs = macs.assigned(self.cluster, vm)
        running_with = self._applied.get(vm["metadata"]["uid"]) if status.get("phase") in RUNNING_PHASES else None
        status["networks"] = _network_status(vm, vmmacs, None if running_with is None else
                                             running_with.get("networks") or [], status.get("networks"))
        waiting_macs = [n.get("name") or str(n.get("id")) for n in vm["spec"].get("networks") or []
                        if n.get("type") in macs.ADDITIONAL_TYPES
                        and not ((vmmacs.get(n.get("id")) or {}).get("status") or {}).get("address")]
        _set_network_ready(self.cluster, vm, status, generation)
        if any(n.get("type") in macs.ADDITIONAL_TYPES for n in vm["spec"].get("networks") or []):
            set_condition(self.cluster, status, "VirtualMachineMACAddressReady", "False" if waiting_macs else "True",
                          "VirtualMachineMACAddressNotReady" if waiting_macs else "VirtualMachineMACAddressReady",
                          f"Waiting for the MAC addresses of the networks {', '.join(waiting_macs)}."
                          if waiting_macs else "", generation)
        else:
            remove_condition(status, "VirtualMachineMACAddressReady")
        if waiting:
            set_condition(self.cluster, status, "BlockDevicesReady", "False", "BlockDevicesNotReady",
                          "Waiting for block devices to be ready: " + ", ".join(waiting) + ".", generation)
        elif wffc:
            set_condition(self.cluster, status, "BlockDevicesReady", "False",
                          "WaitingForWaitForFirstConsumerBlockDevicesToBeReady",
                          "Waiting for the WaitForFirstConsumer disks to be provisioned on the VM's node.", generation)
        else:
            set_condition(self.cluster, status, "BlockDevicesReady", "True", "BlockDevicesReady", "", generation)
        # As DVP's checkVirtualMachineConfiguration: no start without the MAC addresses, nor while the sdn module is off.
        network_ok = not waiting_macs and (condition(status, "NetworkReady") or {}).get("reason") != "SDNModuleDisabled"
        return class_ok and ip_ok and not waiting and not provisioning_problem and network_ok

    def _provisioning_problem(self, vm) -> str:
        """Why the initialization script cannot be used yet (the ProvisioningReady condition's message), or ""."""
        provisioning = vm["spec"].get("provisioning")
        if not provisioning:
            return ""
        type_ = provisioning.get("type")
        if type_ == "UserData":
            return "" if provisioning.get("userData") else "Provisioning is defined but it is empty."
        if type_ not in ("UserDataRef", "SysprepRef"):
            return "Unexpected provisioning type."
        ref = provisioning.get("userDataRef" if type_ == "UserDataRef" else "sysprepRef") or {}
        namespace = vm["metadata"]["namespace"]
        secret = self.get(namespace, ref.get("name", ""), kinds.get("Secret"))
        if secret is None:
            return f"Secret {namespace}/{ref.get('name', '')} not found"
        secret_type = secret.get("type") or "Opaque"
        if secret_type == CLOUD_INIT_SECRET:
            if not any(key in (secret.get("data") or {}) for key in ("userdata", "userData")):
                return (f'Invalid secret "{namespace}/{ref["name"]}": the secret should have one of data fields '
                        "[userdata userData]: secret is not valid")
            return ""
        if secret_type == SYSPREP_SECRET:
            return ""
        return f"Unexpected secret type: {secret_type}"

    def _hotplugged(self, vm) -> list[dict]:
        devices = []
        for vmbda in attachments.attachments_of(self.cluster, vm):
            ref = vmbda["spec"]["blockDeviceRef"]
            kind = kinds.get(ref["kind"])
            obj = self.get(vm["metadata"]["namespace"], ref["name"], kind) or {}
            device = _block_device_status(ref, obj.get("status") or {})
            device.update(attached=True, hotplugged=True,
                          virtualMachineBlockDeviceAttachmentName=vmbda["metadata"]["name"])
            devices.append(device)
        return devices

    def _ensure_ip_address(self, vm):
        if vm["spec"].get("virtualMachineIPAddressName"):
            return
        kind = kinds.get("VirtualMachineIPAddress")
        meta = vm["metadata"]
        if self.get(meta["namespace"], meta["name"], kind) is not None:
            return
        try:
            self.cluster.create(kind, {
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "labels": {"virtualization.deckhouse.io/virtual-machine-name": meta["name"]},
                             "ownerReferences": [{"apiVersion": vm["apiVersion"], "kind": "VirtualMachine",
                                                  "name": meta["name"], "uid": meta["uid"]}]},
                "spec": {"type": "Auto"},
            })
        except AlreadyExists:
            pass

    # ---- starting -----------------------------------------------------------------------------

    async def _start(self, vm, status, state):
        namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        if not status.get("nodeName"):
            node, message = self._schedule(vm)
            if node is None:
                if (condition(status, "Running") or {}).get("message") != message:
                    self.event(vm, "FailedScheduling", message, "Warning")
                self._not_running(status, message, reason="PodNotStarted")
                self.write_status(vm, status)
                return
            status["nodeName"] = node
            status["virtualMachinePods"] = [{"name": f"virt-launcher-{name}-{_pod_suffix()}", "active": True}]
            self.write_status(vm, status)
            self.event(vm, "Scheduled", f"Successfully assigned {namespace}/{name} to {node}")
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
        self._applied[vm["metadata"]["uid"]] = _restart_fields(vm)
        self._placement[vm["metadata"]["uid"]] = _placement_fields(vm)
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
        applied = self._applied.setdefault(uid, _restart_fields(vm))
        wanted = _restart_fields(vm)
        changes = restart_changes(applied, wanted)
        scheduled_with = self._placement.setdefault(uid, _placement_fields(vm))
        if scheduled_with != _placement_fields(vm):
            if self._fits_its_node(vm, status):
                self._placement[uid] = _placement_fields(vm)  # rules the node satisfies are applied at once
            else:
                # As in DVP CE: new placement rules that the current node breaks wait for a restart (EE live-migrates).
                # vmchange compares each placement field whole (path "nodeSelector", not its keys).
                desired = _placement_fields(vm)
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
        for key in ("nodeName", "guestOSInfo", "virtualMachinePods", "versions"):
            status.pop(key, None)
        remove_condition(status, "AgentReady")
        remove_condition(status, "Migratable")
        for device in status.get("blockDeviceRefs") or []:
            device["attached"] = False
        self._set_phase(vm, status, then)
        if then == "Stopped":
            status["resources"] = _spec_resources(vm)
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

    async def _degrade(self, vm, status, state):
        """An internal failure of the VM or its hypervisor: phase Degraded, the Running condition says why
        (reason InternalVirtualMachineError, DVP's wording), a Warning Event. AlwaysOn and
        AlwaysOnUnlessStoppedManually restore it after KubeVirt's back-off; Manual waits for a Stop or Restart."""
        namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        message = f"Internal virtual machine error: {state.fault}"
        self._set_phase(vm, status, "Degraded")
        set_condition(self.cluster, status, "Running", "False", "InternalVirtualMachineError", message,
                      vm["metadata"].get("generation"))
        status.pop("guestOSInfo", None)
        set_condition(self.cluster, status, "AgentReady", "False", "AgentNotReady", AGENT_NOT_CONNECTED)
        if self.write_status(vm, status) is None:
            return
        self.event(vm, "InternalVirtualMachineError", message, "Warning")
        if vm["spec"].get("runPolicy") not in ("AlwaysOn", "AlwaysOnUnlessStoppedManually"):
            return
        fault = state.fault
        await self.sleep(CRASH_BACKOFF_SECONDS)
        vm = self.get(namespace, name)
        if vm is None or is_deleting(vm) or state.fault != fault or not state.on or state.restart or \
                (vm.get("status") or {}).get("phase") != "Degraded":
            return  # stopped, restarted or deleted meanwhile: the next reconcile does that
        self.event(vm, "Starting", "The virtual machine is starting again after an internal error")
        state.force = True
        await self._stop(vm, status_of(vm), state, then="Starting")
        self._dirty.add((namespace, name))

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


def _provisioning_secrets(vm) -> set:
    provisioning = vm.get("spec", {}).get("provisioning") or {}
    return {(provisioning.get(key) or {}).get("name") for key in ("userDataRef", "sysprepRef")} - {None}


def _spec_resources(vm) -> dict:
    """`status.resources` of a VM without an instance: what its spec asks for (statistic handler, kvvmi == nil)."""
    cores = int(vm["spec"]["cpu"]["cores"])
    return {"cpu": {"cores": cores, "coreFraction": vm["spec"]["cpu"].get("coreFraction", "100%"),
                    "topology": topology(cores)},
            "memory": {"size": vm["spec"]["memory"]["size"]}}


def _ip_address_name(vm) -> str:
    return vm["spec"].get("virtualMachineIPAddressName") or vm["metadata"]["name"]


def _block_device_status(ref, obj_status) -> dict:
    if ref["kind"] == "VirtualDisk":
        size = obj_status.get("capacity") or ""
    else:
        size = (obj_status.get("size") or {}).get("unpacked") or ""
    device = {"kind": ref["kind"], "name": ref["name"], "size": size, "attached": False}
    if "bootOrder" in ref:
        device["bootOrder"] = ref["bootOrder"]
    return device


def _restart_fields(vm) -> dict:
    return {field: vm["spec"].get(field) for field in RESTART_FIELDS if vm["spec"].get(field) is not None}


def _placement_fields(vm) -> dict:
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


def _network_status(vm, vmmacs=None, running=None, previous=None) -> list[dict]:
    """`status.networks` as DVP's NetworkInterfaceHandler writes it: the Main network (id 1), then each additional one
    of the spec with its vmmac and the MAC address the instance has. `running`: the networks the running instance was
    started with (None when it is not running) — a network added since shows no MAC address until the restart, and one
    removed since stays listed (with its MAC) until then; the guide: "changes … take effect only after the VM is
    rebooted"."""
    def same(a, b):
        return (a.get("type"), a.get("name"), a.get("id")) == (b.get("type"), b.get("name"), b.get("id"))

    networks = []
    for net in vm["spec"].get("networks") or [{"type": "Main"}]:
        entry = {"type": net.get("type", "Main")}
        if entry["type"] == "Main":
            entry["id"] = net.get("id", 1)
            networks.append(entry)
            continue
        for key in ("id", "name"):
            if key in net:
                entry[key] = net[key]
        vmmac = (vmmacs or {}).get(net.get("id"))
        if vmmac is not None:
            entry["virtualMachineMACAddressName"] = vmmac["metadata"]["name"]
            address = (vmmac.get("status") or {}).get("address")
            if address and (running is None or any(same(net, r) for r in running)):
                entry["macAddress"] = address
        networks.append(entry)
    for net in running or []:
        if net.get("type") == "Main" or any(same(net, n) for n in vm["spec"].get("networks") or []):
            continue
        kept = next((p for p in previous or [] if same(net, p) and p.get("macAddress")), None)
        if kept is not None:
            networks.append(kept)
    return networks


def _set_network_ready(cluster, vm, status, generation):
    """Condition NetworkReady (DVP's NetworkInterfaceHandler): only for VMs with additional networks; False while the
    sdn module is off, while a referenced Network/ClusterNetwork is missing or not Ready, or while there is no pod."""
    additional = [n for n in vm["spec"].get("networks") or [] if n.get("type") in macs.ADDITIONAL_TYPES]
    if not additional:
        remove_condition(status, "NetworkReady")
        return
    config = cluster.store.get(kinds.get("ModuleConfig"), None, "sdn") or {}
    if not (config.get("spec") or {}).get("enabled"):
        set_condition(cluster, status, "NetworkReady", "False", "SDNModuleDisabled",
                      "For additional network interfaces, please enable SDN module", generation)
        return
    pending = []
    for net in additional:
        kind = kinds.get(net["type"])
        obj = cluster.store.get(kind, vm["metadata"]["namespace"] if kind.namespaced else None, net.get("name", ""))
        if (condition((obj or {}).get("status") or {}, "Ready") or {}).get("status") != "True":
            pending.append(f'{net["type"]}/{net.get("name", "")}')
    if pending:
        set_condition(cluster, status, "NetworkReady", "False", "NetworkNotReady",
                      "Waiting for the following networks to become Ready: " + ", ".join(pending), generation)
    elif status.get("phase") not in RUNNING_PHASES:
        set_condition(cluster, status, "NetworkReady", "False", "NetworkNotReady", "Waiting for the pod to be created.",
                      generation)
    else:
        set_condition(cluster, status, "NetworkReady", "True", "NetworkReady", "", generation)


def _pod_suffix() -> str:
    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
