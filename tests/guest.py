"""Talking to a simulated VM's guest: its serial console over the console subresource WebSocket, and
`d8 v port-forward` / `d8 v ssh` through the portforward subresource, as the cluster admin."""

import asyncio
import socket

import aiohttp
import asyncssh

SUBRESOURCES = "/apis/subresources.virtualization.deckhouse.io/v1alpha2"


class Console:
    """A serial console: type text, and expect what the guest shows."""

    def __init__(self, ws):
        self.ws = ws
        self.buffer = ""

    async def expect(self, text, timeout=5.0):
        """Read until `text` has been shown; returns everything read so far and resets the buffer."""
        async def read():
            while text not in self.buffer:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.BINARY:
                    raise AssertionError(f"unexpected {message.type} while waiting for {text!r}: {self.buffer!r}")
                self.buffer += message.data.decode()
        await asyncio.wait_for(read(), timeout)
        seen, self.buffer = self.buffer, ""
        return seen

    async def type(self, text):
        await self.ws.send_bytes(text.encode())


def console_url(sim, dvp, name="linux-vm"):
    return f"{sim.url}{SUBRESOURCES}/namespaces/{dvp.namespace}/virtualmachines/{name}/console"


async def connect(session, sim, dvp):
    ws = await session.ws_connect(console_url(sim, dvp), protocols=("plain.kubevirt.io",),
                                  headers={"Authorization": f"Bearer {sim.token('admin')}"})
    return Console(ws)


def tcp_pair():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    return a, b


class PortForward:
    """`d8 v port-forward`: the VM's TCP port through the portforward subresource WebSocket, as a local socket."""

    def __init__(self, sim, dvp, name, port=22):
        self.url = console_url(sim, dvp, name).replace("/console", f"/portforward?port={port}&protocol=tcp")
        self.token = sim.token("admin")

    async def __aenter__(self):
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, protocols=("plain.kubevirt.io",),
                                                headers={"Authorization": f"Bearer {self.token}"})
        self.ours, self.sock = tcp_pair()
        self.ours.setblocking(False)
        loop = asyncio.get_running_loop()
        self.pumps = [loop.create_task(self._up(loop)), loop.create_task(self._down(loop))]
        return self.sock

    async def _up(self, loop):
        while data := await loop.sock_recv(self.ours, 65536):
            await self.ws.send_bytes(data)
        await self.ws.close()

    async def _down(self, loop):
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            await loop.sock_sendall(self.ours, message.data)
        self.ours.shutdown(socket.SHUT_WR)  # the far end closed: EOF to whoever reads the local socket

    async def __aexit__(self, *exc):
        for pump in self.pumps:
            pump.cancel()
        await asyncio.gather(*self.pumps, return_exceptions=True)
        self.ours.close()
        await self.ws.close()
        await self.session.close()
        self.sock.close()  # a no-op when an SSH connection took it and closed it already


async def ssh(sim, dvp, name, command, username="cloud", password="cloud"):
    """`d8 v ssh <user>@<vm> --local-ssh --command <command>`: its output."""
    async with PortForward(sim, dvp, name) as sock:
        async with asyncssh.run_client(sock, username=username, password=password, known_hosts=None) as conn:
            result = await conn.run(command)
            return result.stdout
