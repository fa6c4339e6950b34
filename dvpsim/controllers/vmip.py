"""VirtualMachineIPAddress: allocation from `virtualMachineCIDRs`, leases, attachment to the VM."""

from dvpsim import ipam, kinds
from dvpsim.controllers import storage
from dvpsim.clock import parse_time
from dvpsim.controllers.base import Controller, condition, set_condition, status_of
from dvpsim.errors import AlreadyExists, NotFound

ATTACHED_VM_PHASES = ("Starting", "Running", "Stopping", "Migrating", "Pause", "Degraded")
LEASE_RETENTION_SECONDS = 600  # VIRTUAL_MACHINE_IP_LEASES_RETENTION_DURATION: released leases are kept 10 minutes


class VirtualMachineIPAddressController(Controller):
    primary = "VirtualMachineIPAddress"
    related = ("VirtualMachine", "ModuleConfig", "VirtualMachineIPAddressLease")

    def on_primary(self, event_type, obj):
        if event_type == "DELETED":
            self._release(obj)
            return
        super().on_primary(event_type, obj)

    def on_related(self, event_type, kind, obj):
        if kind.kind == "ModuleConfig":
            self.kick_all()
            return
        if kind.kind == "VirtualMachineIPAddressLease":
            if event_type == "DELETED":  # an expired lease frees its address for those waiting
                for vmip in self.cluster.store.iter(self.kind):
                    if not (vmip.get("status") or {}).get("address"):
                        self.kick(vmip["metadata"]["namespace"], vmip["metadata"]["name"])
            return
        ip_name = obj.get("spec", {}).get("virtualMachineIPAddressName") or obj["metadata"]["name"]
        self.kick(obj["metadata"]["namespace"], ip_name)

    async def reconcile(self, namespace, name):
        vmip = self.get(namespace, name)
        if vmip is None:
            return
        status = status_of(vmip)
        generation = vmip["metadata"].get("generation")
        address = status.get("address") or self._bind(vmip, status)
        if not address:
            self.write_status(vmip, status)
            return
        vm = self._vm_of(vmip)
        if vm is not None and (vm.get("status") or {}).get("phase") in ATTACHED_VM_PHASES:
            status["phase"] = "Attached"
            status["virtualMachineName"] = vm["metadata"]["name"]
            set_condition(self.cluster, status, "Attached", "True", "Attached", "", generation)
        else:
            status["phase"] = "Bound"
            if vm is not None:
                status["virtualMachineName"] = vm["metadata"]["name"]
            else:
                status.pop("virtualMachineName", None)
            set_condition(self.cluster, status, "Attached", "False", "VirtualMachineNotFound",
                          "The IP address is not attached to a running virtual machine.", generation)
        before = (vmip.get("status") or {}).get("phase")
        if self.write_status(vmip, status) is not None and before != status["phase"]:
            self.event(vmip, status["phase"], f"The IP address {address} is {status['phase'].lower()}")

    def _bind(self, vmip, status) -> str | None:
        generation = vmip["metadata"].get("generation")
        status.setdefault("phase", "Pending")
        cidrs = storage.module_settings(self.cluster).get("virtualMachineCIDRs") or []
        lease_kind = kinds.get("VirtualMachineIPAddressLease")
        leases = {l["metadata"]["name"]: l for l in self.cluster.store.list(lease_kind)}
        ref = {"name": vmip["metadata"]["name"], "namespace": vmip["metadata"]["namespace"]}
        # A lease already pointing at this VMIP (e.g. after a simulator restart) wins.
        for lease in leases.values():
            if lease.get("spec", {}).get("virtualMachineIPAddressRef") == ref and \
                    (lease.get("status") or {}).get("phase") == "Bound":
                return self._bound(vmip, status, ipam.address_of_lease(lease["metadata"]["name"]))
        if vmip["spec"].get("type") == "Static":
            address = vmip["spec"].get("staticIP", "")
            if not ipam.assignable(address, cidrs):
                set_condition(self.cluster, status, "Bound", "False", "VirtualMachineIPAddressIsOutOfTheValidRange",
                              f"The requested address {address} is out of the valid range {cidrs}.", generation)
                return None
            taken = leases.get(ipam.lease_name(address))
            if taken and _held_elsewhere(taken, ref):
                set_condition(self.cluster, status, "Bound", "False", "VirtualMachineIPAddressLeaseAlreadyExists",
                              f"The IP address {address} is already taken.", generation)
                return None
        else:
            # A released lease stays reserved for its namespace until it expires.
            used = {ipam.address_of_lease(n) for n in leases}
            address = ipam.allocate(cidrs, used)
            if address is None:
                message = "No free IP address is left in the virtualMachineCIDRs." if cidrs else \
                    "The virtualMachineCIDRs setting of the virtualization module is empty."
                set_condition(self.cluster, status, "Bound", "False", "VirtualMachineIPAddressLeaseNotFound",
                              message, generation)
                return None
        self._take_lease(lease_kind, leases.get(ipam.lease_name(address)), address, ref)
        return self._bound(vmip, status, address)

    def _take_lease(self, lease_kind, existing, address, ref):
        name = ipam.lease_name(address)
        if existing is not None:
            existing["spec"]["virtualMachineIPAddressRef"] = ref
            existing["metadata"].pop("resourceVersion", None)
            lease = self.cluster.update(lease_kind, existing)
        else:
            try:
                lease = self.cluster.create(lease_kind, {"metadata": {"name": name},
                                                         "spec": {"virtualMachineIPAddressRef": ref}})
            except AlreadyExists:
                lease = self.get(None, name, lease_kind)
        lease_status = status_of(lease)
        lease_status["phase"] = "Bound"
        set_condition(self.cluster, lease_status, "Bound", "True", "Bound", "")
        self.write_status(lease, lease_status, lease_kind)

    def _bound(self, vmip, status, address):
        status["address"] = address
        status["phase"] = "Bound"
        set_condition(self.cluster, status, "Bound", "True", "Bound", "", vmip["metadata"].get("generation"))
        return address

    def _vm_of(self, vmip):
        vm_kind = kinds.get("VirtualMachine")
        namespace, name = vmip["metadata"]["namespace"], vmip["metadata"]["name"]
        for vm in self.cluster.store.iter(vm_kind, namespace):
            if (vm.get("spec", {}).get("virtualMachineIPAddressName") or vm["metadata"]["name"]) == name:
                return vm
        return None

    def _release(self, vmip):
        address = (vmip.get("status") or {}).get("address")
        if not address:
            return
        lease_kind = kinds.get("VirtualMachineIPAddressLease")
        lease = self.get(None, ipam.lease_name(address), lease_kind)
        if lease is None:
            return
        status = status_of(lease)
        status["phase"] = "Released"
        set_condition(self.cluster, status, "Bound", "False", "Released", "The IP address lease is released.")
        if self.write_status(lease, status, lease_kind) is not None:
            self.event(lease, "Released", f"The IP address {address} is released")


def _held_elsewhere(lease, ref) -> bool:
    """Whether a lease keeps its address from the VMIP `ref`: Bound to another one, or Released by another namespace."""
    held_by = (lease.get("spec") or {}).get("virtualMachineIPAddressRef") or {}
    if (lease.get("status") or {}).get("phase") == "Bound":
        return held_by != ref
    return held_by.get("namespace") != ref["namespace"]


class VirtualMachineIPAddressLeaseController(Controller):
    """Deletes a Released lease once it has been released for 10 minutes of (simulated) time."""
    primary = "VirtualMachineIPAddressLease"

    async def reconcile(self, namespace, name):
        lease = self.get(None, name)
        if lease is None or (lease.get("status") or {}).get("phase") != "Released":
            return
        released_at = parse_time((condition(lease["status"], "Bound") or {}).get("lastTransitionTime"))
        if released_at is not None:
            left = LEASE_RETENTION_SECONDS - (self.cluster.clock.now() - released_at).total_seconds()
            if left > 0:
                await self.sleep(left)
        fresh = self.get(None, name)
        if fresh is None or fresh["metadata"]["uid"] != lease["metadata"]["uid"] or \
                (fresh.get("status") or {}).get("phase") != "Released" or \
                condition(fresh["status"], "Bound") != condition(lease["status"], "Bound"):
            return  # taken again meanwhile (a later release has its own reconcile)
        self.event(fresh, "Expired", f"The released IP address {ipam.address_of_lease(name)} is freed after "
                                     f"{LEASE_RETENTION_SECONDS // 60} minutes")
        try:
            self.cluster.delete(self.kind, None, name)
        except NotFound:
            pass
