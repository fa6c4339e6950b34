"""The `portforward` subresource: raw TCP to a port of the guest over a WebSocket (binary frames), as
`d8 v port-forward` / `d8 v ssh --local-ssh` use it. Port 22 answers with an SSH server that knows the
cloud-init users (passwords when `ssh_pwauth` allows them, `ssh_authorized_keys`) and runs the same small
shell as the serial console; any other port is closed (the stream ends, as a refused connection does).
"""

import asyncio
import contextlib
import socket
import weakref

import asyncssh
from aiohttp import WSMsgType

from dvpsim import kinds
from dvpsim.guest import cloudinit
from dvpsim.guest.console import facts_of
from dvpsim.guest.session import GuestSession

SSH_PORT = 22
_HOST_KEYS = weakref.WeakKeyDictionary()  # cluster -> {vm uid: host key}: one key per guest, as its sshd keeps


async def serve_portforward(cluster, vm: dict, ws, username: str, query=None):
    try:
        port = int((query or {}).get("port", "0"))
    except ValueError:
        port = 0
    if port != SSH_PORT:
        await ws.close(code=1011, message=f"dial tcp 127.0.0.1:{port}: connect: connection refused".encode())
        return
    ours, theirs = _tcp_pair()
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    sshd = {}
    server = loop.create_task(_run_sshd(cluster, vm, theirs, sshd))
    pump = loop.create_task(_to_websocket(loop, ours, ws))
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                await loop.sock_sendall(ours, message.data)
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
    except OSError:
        pass
    finally:
        # The SSH connection owns its socket (and its event-loop registration): close it through the connection,
        # never under its feet, or a later socket reusing the descriptor inherits the stale registration.
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        conn = sshd.get("conn")
        if conn is not None:
            conn.abort()
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await server
        if conn is None:
            theirs.close()
        ours.close()


def _tcp_pair():
    """Two connected loopback TCP sockets (SSH libraries want a peer address, which a socketpair lacks)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    return a, b


async def _to_websocket(loop, sock, ws):
    while True:
        data = await loop.sock_recv(sock, 65536)
        if not data:
            await ws.close()
            return
        await ws.send_bytes(data)


async def _run_sshd(cluster, vm, sock, sshd):
    config = cloudinit.parse(cloudinit.user_data_of(cluster, vm))
    users = cloudinit.users(config)
    keys = {str(k) for k in config.get("ssh_authorized_keys") or []}
    for entry in config.get("users") or []:
        if isinstance(entry, dict):
            keys |= {f'{entry.get("name")}\0{k}' for k in entry.get("ssh_authorized_keys") or []}
    password_auth = cloudinit._truthy(config.get("ssh_pwauth", False))
    host_keys = _HOST_KEYS.setdefault(cluster, {})
    uid = vm["metadata"]["uid"]
    if uid not in host_keys:
        host_keys[uid] = asyncssh.generate_private_key("ssh-ed25519")

    def facts():
        fresh = cluster.store.get(kinds.get("VirtualMachine"), vm["metadata"]["namespace"], vm["metadata"]["name"])
        return facts_of(cluster, fresh or vm, config)

    class Server(asyncssh.SSHServer):
        def begin_auth(self, name):
            return True

        def password_auth_supported(self):
            return password_auth

        def validate_password(self, name, password):
            user = users.get(name)
            return user is not None and user.check_password(password)

        def public_key_auth_supported(self):
            return bool(keys)

        def validate_public_key(self, name, key):
            text = key.export_public_key().decode().split()[1]
            return any(text in k and (("\0" not in k) or k.startswith(f"{name}\0")) for k in keys)

    async def process(proc):
        name = proc.get_extra_info("username")
        guest = GuestSession(facts(), users)
        guest.state, guest.user = "shell", name
        if proc.command:
            output = guest.run(proc.command).replace("\r\n", "\n")
            proc.stdout.write(output)
            proc.exit(127 if output.endswith(": command not found\n") else 0)
            return
        proc.stdout.write(guest.prompt())
        try:
            async for data in proc.stdin:
                shown = guest.feed(data.encode()).decode()
                if guest.state != "shell":  # exit / logout
                    proc.stdout.write("\r\nlogout\r\n")
                    break
                proc.stdout.write(shown)
        except asyncssh.BreakReceived:
            pass
        proc.exit(0)

    conn = await asyncssh.run_server(sock, server_factory=Server, server_host_keys=[host_keys[uid]],
                                     process_factory=process)
    sshd["conn"] = conn
    await conn.wait_closed()
