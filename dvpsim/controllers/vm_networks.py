"""A VM's network interfaces: `status.networks` and the NetworkReady condition."""

from dvpsim import kinds
from dvpsim.controllers import macs
from dvpsim.controllers.base import condition, remove_condition, set_condition
from dvpsim.controllers.vm_lifecycle import RUNNING_PHASES


def network_status(vm, vmmacs=None, running=None, previous=None) -> list[dict]:
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


def set_network_ready(cluster, vm, status, generation):
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

