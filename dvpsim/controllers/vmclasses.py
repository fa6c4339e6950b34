"""VirtualMachineClass: which nodes can run its VMs (status), and deletion protection (dvp-api-notes §4.6).

A class's status is worked out from the nodes, as DVP's class controller does from the node labeller's labels:
the nodes its `nodeSelector` (and for Discovery `cpu.discovery.nodeSelector`) selects and whose CPU has what the
class asks (`cpu-model.node…/<model>`, `cpu-feature.node…/<feature>`) are `availableNodes`; Discovery fixes the
instruction sets all its discovery nodes share. No node: phase Pending, Ready=False.

Deleting: like DVP's deletion handler, the class keeps its finalizer and reports who holds it in condition InUse
(reason VirtualMachineClassInUse) until the last VM that names it is gone.
"""

from dvpsim import kinds
from dvpsim.controllers.base import Controller, is_deleting, remove_condition, set_condition, status_of
from dvpsim.scheduling import selector_matches

MODEL_LABEL = "cpu-model.node.virtualization.deckhouse.io/"
FEATURE_LABEL = "cpu-feature.node.virtualization.deckhouse.io/"


def _features(node):
    return {key[len(FEATURE_LABEL):] for key, value in (node["metadata"].get("labels") or {}).items()
            if key.startswith(FEATURE_LABEL) and value == "true"}


def _models(node):
    return {key[len(MODEL_LABEL):] for key, value in (node["metadata"].get("labels") or {}).items()
            if key.startswith(MODEL_LABEL) and value == "true"}


def placement(spec, nodes):
    """(available node names, enabled instruction sets) of a class's spec on these nodes."""
    cpu = spec.get("cpu") or {}
    placed = [n for n in nodes if selector_matches(n["metadata"].get("labels") or {}, spec.get("nodeSelector"))]
    kind = cpu.get("type")
    if kind == "Discovery":
        discovery = [n for n in nodes if selector_matches(n["metadata"].get("labels") or {},
                                                          (cpu.get("discovery") or {}).get("nodeSelector"))]
        enabled = set.intersection(*(_features(n) for n in discovery)) if discovery else set()
    elif kind == "Features":
        enabled = set(cpu.get("features") or [])
    else:
        enabled = set()
    if kind == "Model":
        placed = [n for n in placed if cpu.get("model") in _models(n)]
    elif kind in ("Discovery", "Features"):
        placed = [n for n in placed if enabled <= _features(n)]
    return sorted(n["metadata"]["name"] for n in placed), sorted(enabled)


class VirtualMachineClassController(Controller):
    primary = "VirtualMachineClass"
    related = ("VirtualMachine", "Node")

    def on_related(self, event_type, kind, obj):
        if kind.kind == "Node":
            for vmclass in self.cluster.store.iter(kinds.get("VirtualMachineClass")):
                self.kick("", vmclass["metadata"]["name"])
            return
        name = (obj.get("spec") or {}).get("virtualMachineClassName")
        if name:
            self.kick("", name)

    async def reconcile(self, namespace, name):
        vmclass = self.get(None, name)
        if vmclass is None:
            return
        if not is_deleting(vmclass):
            self.set_finalizer(vmclass, True)
            self._place(vmclass)
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

    def _place(self, vmclass):
        vmclass = self.get(None, vmclass["metadata"]["name"]) or vmclass
        spec, status = vmclass.get("spec") or {}, status_of(vmclass)
        nodes = list(self.cluster.store.iter(kinds.get("Node")))
        available, enabled = placement(spec, nodes)
        generation = vmclass["metadata"].get("generation")
        if (spec.get("cpu") or {}).get("type") == "Discovery" and "cpuFeatures" in status:
            enabled = (status.get("cpuFeatures") or {}).get("enabled") or []  # fixed when the class was made
        status["availableNodes"] = available
        status["cpuFeatures"] = {"enabled": enabled} if enabled else status.get("cpuFeatures") or {}
        status["phase"] = "Ready" if available else "Pending"
        set_condition(self.cluster, status, "Ready", "True" if available else "False",
                      "SuitableNodesFound" if available else "NoSuitableNodesFound",
                      "" if available else "No matching nodes found.", generation)
        if (spec.get("cpu") or {}).get("type") == "Discovery":
            set_condition(self.cluster, status, "Discovered", "True" if enabled else "False",
                          "DiscoverySucceeded" if enabled else "DiscoveryFailed", "", generation)
        status["observedGeneration"] = generation
        self.write_status(vmclass, status)
