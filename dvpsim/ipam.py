"""VM IP address allocation from the module's `virtualMachineCIDRs`."""

import ipaddress


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


def allocate(cidrs: list[str], used: set[str]) -> str | None:
    """The first free address, subnets in order; the network, gateway (first host) and broadcast are skipped."""
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        hosts = network.hosts()
        next(hosts, None)  # the gateway
        for host in hosts:
            if str(host) not in used:
                return str(host)
    return None
