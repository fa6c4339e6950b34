"""ModuleConfig `virtualization`: the virtualization controller's module-config webhook (no subnet that still holds
a leased address may leave virtualMachineCIDRs: remove_cidrs_validator.go, word for word) and Deckhouse's rule
that a module is disabled only with the `modules.deckhouse.io/allow-disabling: "true"` annotation (wording ours)."""
import ipaddress

from dvpsim import kinds
from dvpsim.errors import Forbidden
from dvpsim.ipam import address_of_lease

ALLOW_DISABLING = "modules.deckhouse.io/allow-disabling"
CONFIRMABLE = ("virtualization",)  # the modules whose disabling Deckhouse asks to confirm with the annotation


def admit_module_config(cluster, operation, obj, old, checks):
    name = obj["metadata"].get("name", "")
    spec, old_spec = obj.get("spec") or {}, (old or {}).get("spec") or {}
    if operation == "UPDATE" and name in CONFIRMABLE and old_spec.get("enabled") is not False \
            and spec.get("enabled") is False \
            and (obj["metadata"].get("annotations") or {}).get(ALLOW_DISABLING) != "true":
        raise Forbidden(f'admission webhook "module-configs.deckhouse-webhook.deckhouse.io" denied the request: the "{name}" '
                        f'module cannot be disabled without the annotation {ALLOW_DISABLING}: "true"')
    if operation != "UPDATE" or name != "virtualization":
        return
    kept = set((spec.get("settings") or {}).get("virtualMachineCIDRs") or [])
    removed = []
    for cidr in (old_spec.get("settings") or {}).get("virtualMachineCIDRs") or []:
        if cidr not in kept:
            try:
                removed.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                continue
    for lease in cluster.store.iter(kinds.get("VirtualMachineIPAddressLease")):
        try:
            address = ipaddress.ip_address(address_of_lease(lease["metadata"]["name"]))
        except ValueError:
            continue
        for network in removed:
            if address in network:
                checks.deny(f'virtualMachineCIDRs item "{network}" can\'t be removed: '
                            f'VirtualMachineIPAddressLease/{lease["metadata"]["name"]} holds IP address from this network')
