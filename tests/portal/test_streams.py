"""portal.kube.streams: a VM console as a ConsoleStream of bytes, ended by a typed Closed."""
import asyncio

import pytest

from portal.kube import Forbidden, Identity, streams
from tests.kube import guest_vm


@pytest.fixture(scope="module")
def stream_vm(sim, project):
    guest_vm(sim, project, "stream-vm")
    return "stream-vm"


async def read_until(stream, needle, timeout=10):
    seen = b""

    async def read():
        nonlocal seen
        async for chunk in stream:
            seen += chunk
            if needle in seen:
                return

    await asyncio.wait_for(read(), timeout)
    return seen


async def test_it_streams_bytes_both_ways_and_ends_with_the_servers_close_code(cast, project, stream_vm):
    async with streams.open_console(Identity(cast.owner), project, stream_vm, keepalive=0) as console:
        await console.send(b"\r")
        assert f"{stream_vm} login:".encode() in await read_until(console, b"login:")
        assert console.closed is None

        async with streams.open_console(Identity(cast.operator), project, stream_vm, keepalive=0):  # takes it over
            chunks = [chunk async for chunk in console]
            assert all(isinstance(chunk, bytes) for chunk in chunks)
            assert isinstance(console.closed, streams.Closed)
            assert console.closed.code == 1001
            with pytest.raises(streams.Closed):
                for _ in range(50):  # the first writes may still land in the socket's buffer
                    await console.send(b"\r")
                    await asyncio.sleep(0.02)


async def test_it_raises_the_refusal_of_the_upgrade(cast, project, stream_vm):
    with pytest.raises(Forbidden):
        async with streams.open_console(Identity(cast.viewer), project, stream_vm):
            pass


async def test_it_closes_the_stream_on_request(cast, project, stream_vm):
    async with streams.open_console(Identity(cast.owner), project, stream_vm, keepalive=0) as console:
        assert (await streams.probe_console(Identity(cast.owner), project, stream_vm))["holder"] == cast.owner
        await console.close()
        assert [chunk async for chunk in console] == []
        assert console.closed is not None
    for _ in range(50):  # the server releases the console once it has seen the close
        holder = await streams.probe_console(Identity(cast.owner), project, stream_vm)
        if holder is not None and not holder.get("holder"):
            break
        await asyncio.sleep(0.1)
    assert holder is not None and not holder.get("holder")
