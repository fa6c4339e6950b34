"""The simulated guests behind the console subresource."""

from dvpsim.guest.console import serve_console
from dvpsim.guest.ssh import serve_portforward
from dvpsim.guest.vnc import serve_vnc

__all__ = ["serve_console", "serve_portforward", "serve_vnc"]
