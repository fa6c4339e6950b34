"""VirtualMachineMACAddress and its lease (dvp-api-notes §4.9): a MAC address for each additional network of a VM.

Each `spec.networks` entry of type Network or ClusterNetwork gets a vmmac: the one it names in
`virtualMachineMACAddressName`, or one created for it (`<vm>-<random>`, owned by the VM). An empty `spec.address` is
generated — an OUI derived from the cluster's identity and three random octets — and reserved by a cluster-wide
VirtualMachineMACAddressLease named `mac-xx-xx-xx-xx-xx-xx`. The address cannot change once Bound (admission).
"""

import hashlib
import secrets

from dvpsim import kinds
from dvpsim.controllers import power
from dvpsim.controllers.base import Controller, set_condition, status_of
from dvpsim.errors import AlreadyExists, NotFound

ADDITIONAL_TYPES = ("Network", "ClusterNetwork")
VM_LABEL = "virtualization.deckhouse.io/virtual-machine-name"
NETWORK_ANNOTATION = "dvpsim.deckhouse.io/network-id"  # which of the VM's networks a created vmmac serves
ATTACHED_VM_PHASES = ("Starting", "Running", "Stopping", "Migrating", "Pause", "Degraded")


def lease_name(address: str) -> str:
    return "mac-" + address.lower().replace(":", "-")


def assigned(cluster, vm) -> dict:
    """{network id: vmmac} for the VM's additional networks that have one."""
    namespace = vm["metadata"]["namespace"]
    kind = kinds.get("VirtualMachineMACAddress")
    created = {}
    for vmmac in cluster.store.iter(kind, namespace):
        meta = vmmac["metadata"]
        if (meta.get("labels") or {}).get(VM_LABEL) == vm["metadata"]["name"] and \
                NETWORK_ANNOTATION in (meta.get("annotations") or {}):
            created[str(meta["annotations"][NETWORK_ANNOTATION])] = vmmac
    found = {}
    for network in vm["spec"].get("networks") or []:
        if network.get("type") not in ADDITIONAL_TYPES:
            continue
        named = network.get("virtualMachineMACAddressName")
        vmmac = cluster.store.get(kind, namespace, named) if named else created.get(str(network.get("id")))
        if vmmac is not None:
            found[network.get("id")] = vmmac
    return found


class VirtualMachineMACAddressController(Controller):
    primary = "VirtualMachineMACAddress"
    related = ("VirtualMachine",)

    def on_primary(self, event_type, obj):
        if event_type == "DELETED":
            self._release(obj)
        super().on_primary(event_type, obj)

    def on_related(self, event_type, kind, obj):
        if event_type == "DELETED":
            return  # its vmmacs are owned by it
        self._ensure_for_vm(obj)
        for vmmac in assigned(self.cluster, obj).values():
            self.kick(vmmac["metadata"]["namespace"], vmmac["metadata"]["name"])

    def _ensure_for_vm(self, vm):
        if vm["metadata"].get("deletionTimestamp"):
            return
        self._delete_unused(vm)
        have = assigned(self.cluster, vm)
        meta = vm["metadata"]
        for network in vm["spec"].get("networks") or []:
            if network.get("type") not in ADDITIONAL_TYPES or network.get("virtualMachineMACAddressName") or \
                    network.get("id") in have:
                continue
            try:
                self.cluster.create(kinds.get("VirtualMachineMACAddress"), {
                    "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                                 "labels": {VM_LABEL: meta["name"]},
                                 "annotations": {NETWORK_ANNOTATION: str(network.get("id"))},
                                 "ownerReferences": [{"apiVersion": vm["apiVersion"], "kind": "VirtualMachine",
                                                      "name": meta["name"], "uid": meta["uid"]}]},
                    "spec": {}})
            except AlreadyExists:
                pass

    def _delete_unused(self, vm):
        """The guide: when a network is removed from the VM configuration its MAC address is released, and the vmmac
        created for it (and so its lease) is deleted — once the running instance no longer has the interface (DVP:
        status.networks keeps the entry until then). A vmmac the user named and created himself stays."""
        meta = vm["metadata"]
        ids = {str(n.get("id")) for n in vm["spec"].get("networks") or [] if n.get("type") in ADDITIONAL_TYPES
               and not n.get("virtualMachineMACAddressName")}
        ids |= {str(n.get("id")) for n in (vm.get("status") or {}).get("networks") or []
                if n.get("type") in ADDITIONAL_TYPES and n.get("macAddress")}
        kind = kinds.get("VirtualMachineMACAddress")
        for vmmac in list(self.cluster.store.iter(kind, meta["namespace"])):
            vm_meta = vmmac["metadata"]
            network_id = (vm_meta.get("annotations") or {}).get(NETWORK_ANNOTATION)
            owned = any(ref.get("uid") == meta["uid"] for ref in vm_meta.get("ownerReferences") or [])
            if network_id is None or not owned or network_id in ids or vm_meta.get("deletionTimestamp"):
                continue
            try:
                self.cluster.delete(kind, meta["namespace"], vm_meta["name"])
            except NotFound:
                pass

    async def reconcile(self, namespace, name):
        vmmac = self.get(namespace, name)
        if vmmac is None:
            return
        status = status_of(vmmac)
        generation = vmmac["metadata"].get("generation")
        before = status.get("phase")
        status.setdefault("phase", "Pending")
        address = status.get("address") or self._bind(vmmac, status, generation)
        if address:
            vm = self._vm_of(vmmac)
            if vm is not None:
                status["virtualMachineName"] = vm["metadata"]["name"]
            else:
                status.pop("virtualMachineName", None)
            if vm is not None and (vm.get("status") or {}).get("phase") in ATTACHED_VM_PHASES:
                status["phase"] = "Attached"
                set_condition(self.cluster, status, "Attached", "True", "Attached", "", generation)
            else:
                status["phase"] = "Bound"
                set_condition(self.cluster, status, "Attached", "False", "VirtualMachineNotFound" if vm is None
                              else "VirtualMachineNotRunning",
                              "The MAC address is not attached to a running virtual machine.", generation)
        written = self.write_status(vmmac, status)
        if written is not None and before != status["phase"]:
            self.event(written, status["phase"], f"The MAC address {address} is {status['phase'].lower()}" if address
                       else "The MAC address is waiting for a lease")
            vm = self._vm_of(written)
            if vm is not None:
                power.wake(self.cluster, vm)  # its status.networks shows the address

    def _bind(self, vmmac, status, generation):
        lease_kind = kinds.get("VirtualMachineMACAddressLease")
        ref = {"name": vmmac["metadata"]["name"], "namespace": vmmac["metadata"]["namespace"]}
        address = (vmmac["spec"].get("address") or "").lower().replace("-", ":")
        if not address:
            address = self._generate(lease_kind)
        lease = self.get(None, lease_name(address), lease_kind)
        if lease is not None and lease["spec"].get("virtualMachineMACAddressRef") != ref:
            set_condition(self.cluster, status, "Bound", "False", "VirtualMachineMACAddressLeaseAlreadyExists",
                          f"The MAC address {address} is already taken.", generation)
            return None
        if lease is None:
            try:
                lease = self.cluster.create(lease_kind, {"metadata": {"name": lease_name(address)},
                                                         "spec": {"virtualMachineMACAddressRef": ref}})
            except AlreadyExists:
                return None
        lease_status = status_of(lease)
        lease_status["phase"] = "Bound"
        set_condition(self.cluster, lease_status, "Bound", "True", "Bound", "")
        self.write_status(lease, lease_status, lease_kind)
        status["address"] = address
        set_condition(self.cluster, status, "Bound", "True", "Bound", "", generation)
        return address

    def _generate(self, lease_kind) -> str:
        oui = _cluster_oui(self.cluster)
        while True:
            address = ":".join(f"{b:02x}" for b in (*oui, *secrets.token_bytes(3)))
            if self.get(None, lease_name(address), lease_kind) is None:
                return address

    def _vm_of(self, vmmac):
        namespace, name = vmmac["metadata"]["namespace"], vmmac["metadata"]["name"]
        for vm in self.cluster.store.iter(kinds.get("VirtualMachine"), namespace):
            if any(m["metadata"]["name"] == name for m in assigned(self.cluster, vm).values()):
                return vm
        return None

    def _release(self, vmmac):
        address = (vmmac.get("status") or {}).get("address")
        if not address:
            return
        lease_kind = kinds.get("VirtualMachineMACAddressLease")
        lease = self.get(None, lease_name(address), lease_kind)
        ref = {"name": vmmac["metadata"]["name"], "namespace": vmmac["metadata"]["namespace"]}
        if lease is None or lease["spec"].get("virtualMachineMACAddressRef") != ref:
            return
        try:
            self.cluster.delete(lease_kind, None, lease_name(address))
        except NotFound:
            pass


def _cluster_oui(cluster) -> tuple[int, int, int]:
    """Three octets derived from the cluster's identity (the kube-system namespace uid); x2:… is locally administered."""
    namespace = cluster.store.get(kinds.get("Namespace"), None, "kube-system") or \
        cluster.store.get(kinds.get("Namespace"), None, "default") or {"metadata": {"uid": "dvpsim"}}
    digest = hashlib.sha256(namespace["metadata"]["uid"].encode()).digest()
    return ((digest[0] & 0xF0) | 0x02, digest[1], digest[2])
