"""VM firmware (the virt-launcher's libvirt/QEMU) and the workload updater that moves VMs onto a new one.

An update of the virtualization module brings new firmware: running VMs keep the one they started with, their
`FirmwareUpToDate` condition turns False, and the workload updater live-migrates each migratable one with an Evict
VirtualMachineOperation named `firmware-update-*` (the guide's "Migration types" table); the VM's new
virt-launcher on the target runs the new firmware. `POST /dvpsim/firmware` simulates such an update.
"""

from dvpsim import kinds
from dvpsim.admission import VMOP_FINISHED
from dvpsim.controllers import power
from dvpsim.controllers.base import Controller, condition

DEFAULT = {"libvirt": "10.9.0", "qemu": "9.2.0"}
OUT_OF_DATE = ("The VM firmware version is outdated and not recommended for use with the current version of the "
               "virtualization module, please migrate or reboot the VM to upgrade its firmware version.")


def current(cluster) -> dict:
    return dict(getattr(cluster, "firmware", None) or DEFAULT)


def update(cluster, versions: dict):
    """The module now ships `versions`: running VMs are re-examined."""
    cluster.firmware = {**current(cluster), **versions}
    for vm in cluster.store.iter(kinds.get("VirtualMachine")):
        if (vm.get("status") or {}).get("phase") in ("Running", "Migrating"):
            power.wake(cluster, vm)


def up_to_date(cluster, status) -> tuple[str, str, str]:
    """The FirmwareUpToDate condition for a running VM's status."""
    if status.get("versions") and status["versions"] != current(cluster):
        return "False", "FirmwareOutOfDate", OUT_OF_DATE
    return "True", "FirmwareUpToDate", ""


class WorkloadUpdaterController(Controller):
    primary = "VirtualMachine"

    async def reconcile(self, namespace, name):
        vm = self.get(namespace, name)
        status = (vm or {}).get("status") or {}
        # The versions, not the condition: the condition may still be stale right after a migration.
        if vm is None or status.get("phase") != "Running" or up_to_date(self.cluster, status)[0] != "False" or \
                (condition(status, "Migratable") or {}).get("status") != "True":
            return
        vmop_kind = kinds.get("VirtualMachineOperation")
        if any(op["spec"].get("virtualMachineName") == name and (op.get("status") or {}).get("phase") not in VMOP_FINISHED
               for op in self.cluster.store.iter(vmop_kind, namespace)):
            return
        self.cluster.create(vmop_kind, {
            "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineOperation",
            "metadata": {"generateName": "firmware-update-", "namespace": namespace},
            "spec": {"type": "Evict", "virtualMachineName": name}})
