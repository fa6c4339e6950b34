"""VM IP address allocation from the module's `virtualMachineCIDRs`."""

import ipaddress
import random


def lease_name(address: str) -> str:
    return "ip-" + address.replace(".", "-")


def address_of_lease(name: str) -> str:
    return name.removeprefix("ip-").replace("-", ".")


def in_cidrs(address: str, cidrs: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)


def assignable(address: str, cidrs: list[str]) -> bool:
    """Whether a VM may have `address`: inside a subnet, and neither its first (network) nor its last (broadcast)
    address (the guide, "IP addresses of virtual machines")."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if ip in network:
            return network.num_addresses <= 2 or ip not in (network.network_address, network.broadcast_address)
    return False


def allocate(cidrs: list[str], used: set[str]) -> str | None:
    """A random free address (the guide: the lease "selects a random IP address from a shared pool"), taken from the
    first subnet that has one left, so later subnets stay free for Static requests as long as possible; every address
    but a subnet's first (network) and last (broadcast) one may be given out."""
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        size = network.num_addresses - 2 if network.num_addresses > 2 else network.num_addresses
        first = 1 if network.num_addresses > 2 else 0
        start = random.randrange(size) if size > 0 else 0
        for step in range(size):  # from a random position on, so a nearly full subnet still finds its last address
            address = str(network.network_address + first + (start + step) % size)
            if address not in used:
                return address
    return None
