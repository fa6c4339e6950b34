"""The simulated guests behind the console subresource."""

from dvpsim.guest.console import serve_console

__all__ = ["serve_console"]
