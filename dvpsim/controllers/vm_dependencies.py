"""What a VM waits for before it may start: its class, provisioning Secret, IP address, block devices, MAC
addresses and networks, each with its *Ready condition."""

from dvpsim import kinds
from dvpsim.admission import sizing_policy_problem
from dvpsim.controllers import attachments, macs
from dvpsim.controllers.base import condition, remove_condition, set_condition
from dvpsim.controllers.vm_lifecycle import RUNNING_PHASES
from dvpsim.controllers.vm_networks import network_status, set_network_ready
from dvpsim.errors import AlreadyExists

CLOUD_INIT_SECRET = "provisioning.virtualization.deckhouse.io/cloud-init"
SYSPREP_SECRET = "provisioning.virtualization.deckhouse.io/sysprep"


class VmDependencies:
    """VirtualMachineController's part that sets the *Ready conditions and creates the Auto IP address."""

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

        ip_name = ip_address_name(vm)
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
            devices.append(block_device_status(ref, obj_status))
        devices.extend(self._hotplugged(vm))
        status["blockDeviceRefs"] = devices
        vmmacs = macs.assigned(self.cluster, vm)
        running_with = self._applied.get(vm["metadata"]["uid"]) if status.get("phase") in RUNNING_PHASES else None
        status["networks"] = network_status(vm, vmmacs, None if running_with is None else
                                             running_with.get("networks") or [], status.get("networks"))
        waiting_macs = [n.get("name") or str(n.get("id")) for n in vm["spec"].get("networks") or []
                        if n.get("type") in macs.ADDITIONAL_TYPES
                        and not ((vmmacs.get(n.get("id")) or {}).get("status") or {}).get("address")]
        set_network_ready(self.cluster, vm, status, generation)
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
            device = block_device_status(ref, obj.get("status") or {})
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


def provisioning_secrets(vm) -> set:
    provisioning = vm.get("spec", {}).get("provisioning") or {}
    return {(provisioning.get(key) or {}).get("name") for key in ("userDataRef", "sysprepRef")} - {None}


def ip_address_name(vm) -> str:
    return vm["spec"].get("virtualMachineIPAddressName") or vm["metadata"]["name"]


def block_device_status(ref, obj_status) -> dict:
    if ref["kind"] == "VirtualDisk":
        size = obj_status.get("capacity") or ""
    else:
        size = (obj_status.get("size") or {}).get("unpacked") or ""
    device = {"kind": ref["kind"], "name": ref["name"], "size": size, "attached": False}
    if "bootOrder" in ref:
        device["bootOrder"] = ref["bootOrder"]
    return device
