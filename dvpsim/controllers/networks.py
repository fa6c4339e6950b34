"""The sdn module's networks (`network.deckhouse.io/v1alpha1` Network and ClusterNetwork), reduced to what VMs need.

dvpsim has no CRDs of the sdn module: it keeps whatever spec it is sent and only reports each network usable
(`status.phase: Ready`, condition Ready=True) once, with an Event, so `spec.networks` of a VM can name it.
"""

from dvpsim.controllers.base import Controller, set_condition, status_of
from dvpsim.errors import ApiError


class _NetworkController(Controller):
    def event(self, obj, reason, message, type_="Normal"):
        try:
            self.cluster.record_event(obj, type_, reason, message, component="sdn-controller")
        except ApiError:
            pass

    async def reconcile(self, namespace, name):
        network = self.get(namespace, name)
        if network is None or network["metadata"].get("deletionTimestamp"):
            return
        status = status_of(network)
        before = status.get("phase")
        status["phase"] = "Ready"
        status["observedGeneration"] = network["metadata"].get("generation")
        set_condition(self.cluster, status, "Ready", "True", "Ready", f"The {self.primary} is ready to be used.",
                      network["metadata"].get("generation"))
        if status == network.get("status"):
            return
        written = self.write_status(network, status)
        if written is not None and before != "Ready":
            self.event(written, "Ready", f"The {self.primary} is ready to be used.")


class NetworkController(_NetworkController):
    primary = "Network"


class ClusterNetworkController(_NetworkController):
    primary = "ClusterNetwork"
