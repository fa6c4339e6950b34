"""DVP's NetworksValidator of a VM's `spec.networks` (deckhouse/virtualization at cf3a9e6c4cfb,
images/virtualization-artifact/pkg/controller/vm/internal/validators/networks_validator.go), in its order."""

from dvpsim import kinds
from dvpsim.admission.checks import get

MAX_ID = 16 * 1024 - 1  # pkg/common/network/ids.go
NO_CIDRS = "ModuleConfig/virtualization has no configured IP ranges in the spec.settings.virtualMachineCIDRs field"


def check_networks(cluster, operation, checks, obj, old):
    spec = obj.get("spec") or {}
    networks = [n for n in spec.get("networks") or [] if isinstance(n, dict)]
    old_networks = [n for n in get(old or {}, "spec", "networks", default=None) or [] if isinstance(n, dict)]
    if operation == "UPDATE" and networks == old_networks:
        return  # an invalid list must not hold back changes of other fields
    _check_requirements(cluster, checks, networks)
    if not networks:
        return
    if operation == "UPDATE":
        _check_ids_unchanged(checks, old_networks, networks, get(old or {}, "status", "phase"))
    _check_spec(checks, networks)
    if operation == "UPDATE":
        keys = {(n.get("type"), n.get("name") or "") for n in old_networks}
        _check_exist(cluster, checks, obj["metadata"].get("namespace"), [n for n in networks if (n.get("type"), n.get("name") or "") not in keys])


def _check_requirements(cluster, checks, networks):
    settings = get(cluster.store.get(kinds.get("ModuleConfig"), None, "virtualization") or {},
                   "spec", "settings", default={}) or {}
    has_cidrs = bool(settings.get("virtualMachineCIDRs"))
    if not has_cidrs and any(n.get("type") == "Main" for n in networks):
        checks.deny(f"spec.networks cannot explicitly include Main network type when {NO_CIDRS}")
    if not has_cidrs and not networks:
        checks.deny(f"spec.networks cannot be empty when {NO_CIDRS}")
    only_main = len(networks) == 1 and networks[0].get("type") == "Main"
    if networks and not only_main and not _sdn_enabled(cluster):
        message = "spec.networks has additional networks, this configuration requires SDN module to be enabled"
        if not has_cidrs:
            message += f"; also note that the Main network is unavailable for VirtualMachines because {NO_CIDRS}"
        checks.deny(message)


def _sdn_enabled(cluster):
    config = cluster.store.get(kinds.get("ModuleConfig"), None, "sdn") or {}
    return bool((config.get("spec") or {}).get("enabled"))


def _identifier(network):
    return network.get("type") if network.get("type") == "Main" else f'{network.get("type")}/{network.get("name")}'


def _check_ids_unchanged(checks, old_networks, networks, phase):
    new_by_key = {_identifier(n): n for n in networks}
    for old in old_networks:
        new = new_by_key.get(_identifier(old))
        if new is None or old.get("id") is None or old.get("id") == new.get("id"):
            continue
        if phase != "Stopped":
            checks.deny(f"cannot change network ID for network '{_identifier(old)}' while VM is in phase '{phase}' "
                        "(only allowed when VM is stopped)")


def _check_spec(checks, networks):
    names, ids = set(), set()
    for index, network in enumerate(networks):
        type_, name = network.get("type"), network.get("name") or ""
        if type_ == "Main" and index > 0:
            checks.deny(f"network type 'Main' occurs at unexpected position {index}, it should be first")
        if type_ == "Main" and name:
            checks.deny("network with type 'Main' should not have a name")
        if type_ != "Main" and not name:
            checks.deny(f"network with type '{type_}' must have a non-empty name")
        if (type_, name) in names:
            checks.deny(f"network {type_}:{name} is duplicated" if name else f"network {type_} is duplicated")
        names.add((type_, name))
        id_ = network.get("id") or 0
        if id_ and id_ in ids:
            checks.deny(f"network id {id_} is duplicated for network {_identifier(network)}")
        ids.add(id_)
        if "id" in network and not 1 <= network["id"] <= MAX_ID:
            checks.deny(f"network id must be between 1 and {MAX_ID} for network {_identifier(network)}, "
                        f"got {network['id']}")
        if "id" in network and type_ == "Main" and network["id"] != 1:
            checks.deny(f"network id for network Main must be 1, got {network['id']}")


def _check_exist(cluster, checks, namespace, added):
    """Checked for the networks an update adds, never on create."""
    for network in added:
        name = network.get("name") or ""
        if network.get("type") == "ClusterNetwork" and cluster.store.get(kinds.get("ClusterNetwork"), None, name) is None:
            checks.deny(f'ClusterNetwork "{name}" referenced in spec.networks does not exist')
        if network.get("type") == "Network" and cluster.store.get(kinds.get("Network"), namespace, name) is None:
            checks.deny(f'network "{name}" referenced in spec.networks does not exist in namespace "{namespace}"')
