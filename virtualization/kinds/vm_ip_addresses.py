"""VM IP Addresses (VirtualMachineIPAddress): the project's addresses, which VM holds each, and the static ones
kept for reuse. They are made by the VMs (automatic) or from a VM's Network tab (static)."""
from portal.kube import kinds

from ..registry import Column, Resource, register

resource = register(Resource(
    slug="vm-ip-addresses", kind=kinds.VMIP, title="VM IP Addresses", noun="VM IP address",
    columns=(Column("Status", show="phase"),), nav_order=70,
))
