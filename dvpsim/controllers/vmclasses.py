"""VirtualMachineClass deletion protection (dvp-api-notes §4.6): a class stays Terminating while a VM uses it.

Like DVP's deletion handler, the class keeps its finalizer and reports who holds it in condition InUse
(reason VirtualMachineClassInUse) until the last VM that names it is gone.
"""

from dvpsim import kinds
from dvpsim.controllers.base import Controller, is_deleting, remove_condition, set_condition, status_of


class VirtualMachineClassController(Controller):
    primary = "VirtualMachineClass"
    related = ("VirtualMachine",)

    def on_related(self, event_type, kind, obj):
        name = (obj.get("spec") or {}).get("virtualMachineClassName")
        if name:
            self.kick("", name)

    async def reconcile(self, namespace, name):
        vmclass = self.get(None, name)
        if vmclass is None:
            return
        if not is_deleting(vmclass):
            self.set_finalizer(vmclass, True)
            return
        users = [f'{vm["metadata"]["namespace"]}/{vm["metadata"]["name"]}'
                 for vm in self.cluster.store.iter(kinds.get("VirtualMachine"))
                 if vm["spec"].get("virtualMachineClassName") == name]
        status = status_of(vmclass)
        if users:
            message = (f"VirtualMachineClass cannot be deleted, there is VM that use it: {users[0]}." if len(users) == 1
                       else f"VirtualMachineClass cannot be deleted, there are VMs that use it {', '.join(users)}.")
            before = status.get("phase")
            status["phase"] = "Terminating"
            set_condition(self.cluster, status, "InUse", "True", "VirtualMachineClassInUse", message,
                          vmclass["metadata"].get("generation"))
            if self.write_status(vmclass, status) is not None and before != "Terminating":
                self.event(vmclass, "VirtualMachineClassInUse", message, "Warning")
            return
        remove_condition(status, "InUse")
        self.write_status(vmclass, status)
        self.set_finalizer(vmclass, False)
