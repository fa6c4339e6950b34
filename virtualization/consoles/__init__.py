"""The VM consoles: the relays of their sockets and the pages that show them.

sockets.py  the one check a project's WebSocket makes before it is accepted (uploads.py uses it too)
relay.py    the serial console and VNC relays (browser <-> consumer <-> the VM's subresource)
pages.py    the TTY and VNC tabs, their pop-out windows and the holder probe
"""
