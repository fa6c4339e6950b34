"""DVP's mutating defaults of a VirtualMachine: class, core fraction, run policy and the others, network ids."""

from dvpsim import kinds
from dvpsim.admission.checks import get

DEFAULT_CLASS_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"


def default_vm(cluster, spec, old=None):
    if not spec.get("virtualMachineClassName"):
        default = _default_class(cluster)
        if default is not None:
            spec["virtualMachineClassName"] = default["metadata"]["name"]
    cpu = spec.get("cpu")
    if isinstance(cpu, dict) and "coreFraction" not in cpu and isinstance(cpu.get("cores"), int):
        cpu["coreFraction"] = _default_core_fraction(cluster, spec.get("virtualMachineClassName"), cpu["cores"])
    spec.setdefault("runPolicy", "AlwaysOnUnlessStoppedManually")
    spec.setdefault("osType", "Generic")
    spec.setdefault("bootloader", "BIOS")
    spec.setdefault("disruptions", {}).setdefault("restartApprovalMode", "Manual")
    spec.setdefault("liveMigrationPolicy", "PreferSafe")
    spec.setdefault("enableParavirtualization", True)
    spec.setdefault("terminationGracePeriodSeconds", 60)
    # Network ids: Main = 1, the others from 2 (dvp-api-notes §4.5). A network the VM already had keeps its id (a
    # re-applied list comes without ids); a new one gets the lowest id that neither the spec nor the running
    # interfaces (status.networks) hold, so it does not take the id of one removed but still attached.
    networks = [n for n in spec.get("networks") or [] if isinstance(n, dict)]
    old_networks = [n for n in get(old or {}, "spec", "networks", default=None) or [] if isinstance(n, dict)]
    held = {n.get("id") for n in networks} | {n.get("id") for n in old_networks} | {
        n.get("id") for n in get(old or {}, "status", "networks", default=None) or [] if isinstance(n, dict)}
    claimed = {n.get("id") for n in networks if "id" in n}
    next_id = 2
    for network in networks:
        if "id" in network:
            continue
        if network.get("type") == "Main":
            network["id"] = 1
            continue
        same = next((o.get("id") for o in old_networks if (o.get("type"), o.get("name")) ==
                     (network.get("type"), network.get("name")) and o.get("id") not in claimed), None)
        if same is None:
            while next_id in held:
                next_id += 1
            same = next_id
        network["id"] = same
        held.add(same)
        claimed.add(same)


def _default_class(cluster):
    for vmclass in cluster.store.list(kinds.get("VirtualMachineClass")):
        annotations = vmclass.get("metadata", {}).get("annotations") or {}
        if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
            return vmclass
    return None


def _default_core_fraction(cluster, class_name, cores):
    vmclass = cluster.store.get(kinds.get("VirtualMachineClass"), None, class_name) if class_name else None
    for policy in get(vmclass or {}, "spec", "sizingPolicies", default=[]) or []:
        bounds = policy.get("cores") or {}
        if bounds.get("min", 1) <= cores <= bounds.get("max", 1024):
            default = policy.get("defaultCoreFraction")
            if default in (None, "", "Auto"):
                return "100%"
            return default if isinstance(default, str) and default.endswith("%") else f"{int(default)}%"
    return "100%"
