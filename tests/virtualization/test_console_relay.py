"""The console relays (serial and VNC) through Channels: bounded buffers, takeover, closing reasons."""
import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from tests.kube import delete_vm, guest_vm, stop_vm
from tests.kube import wait_for_phase
from tests.websockets import connect, read_until
from virtualization.consoles.relay import StreamRelay

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def relay_vm(sim, project):
    guest_vm(sim, project, "relay-vm")
    yield "relay-vm"
    delete_vm(sim, project, "relay-vm")


def path(project, vm, stream="console"):
    return f"/ws/projects/{project}/vms/{vm}/{stream}/"


async def drain(communicator, quiet=0.5):
    """Everything the relay has sent until it goes quiet for `quiet` seconds: (bytes, close message)."""
    data = b""
    while True:
        try:  # not receive_output(): its timeout would also cancel the consumer
            message = await asyncio.wait_for(communicator.output_queue.get(), quiet)
        except asyncio.TimeoutError:
            return data, None
        if message["type"] == "websocket.close":
            return data, message
        data += message.get("bytes") or b""


async def log_in(communicator, vm):
    await communicator.send_to(bytes_data=b"\r")
    await read_until(communicator, b"login: ")
    await communicator.send_to(bytes_data=b"cloud\r")
    await read_until(communicator, b"Password: ")
    await communicator.send_to(bytes_data=b"cloud\r")
    await read_until(communicator, f"cloud@{vm}:~$ ".encode())


async def test_it_stops_reading_a_flooding_guest_until_the_browser_catches_up(project, cast, relay_vm):
    communicator, connected = await connect(path(project, relay_vm), cast.owner)
    assert connected
    await log_in(communicator, relay_vm)
    await communicator.send_to(text_data="ack 100000")  # what the login showed has been consumed

    await communicator.send_to(bytes_data=b"yes\r")  # the guest now prints "y" as fast as it is read
    flooded, closed = await drain(communicator)
    assert closed is None
    # Without acknowledgements the relay stops at its window (plus at most one upstream message).
    assert StreamRelay.WINDOW // 2 < len(flooded) <= StreamRelay.WINDOW + 64 * 1024

    await communicator.send_to(text_data=f"ack {len(flooded) + 100000}")
    more, _ = await drain(communicator)
    assert StreamRelay.WINDOW // 2 < len(more) <= StreamRelay.WINDOW + 64 * 1024
    assert set(more.replace(b"\r\n", b"")) == {ord("y")}

    await communicator.send_to(bytes_data=b"\x03")  # Ctrl+C ends the flood
    seen = b""
    for _ in range(200):
        await communicator.send_to(text_data="ack 1000000")
        chunk, _ = await drain(communicator, quiet=0.2)
        seen += chunk
        if f"cloud@{relay_vm}:~$ ".encode() in seen[-200:]:
            break
    assert seen.endswith(f"^C\r\ncloud@{relay_vm}:~$ ".encode())
    await communicator.send_to(bytes_data=b"exit\r")
    await communicator.disconnect()


async def test_it_disconnects_a_browser_sending_more_than_the_input_limit(project, cast, relay_vm):
    communicator, connected = await connect(path(project, relay_vm), cast.owner)
    assert connected
    await communicator.send_to(bytes_data=b"\x15" * (StreamRelay.INPUT_LIMIT + 1))
    _, closed = await drain(communicator, quiet=5)
    assert closed["code"] == 4013
    assert "faster than the virtual machine reads it" in closed["reason"]


async def test_it_relays_vnc_as_raw_rfb_bytes(project, cast, relay_vm):
    communicator, connected = await connect(path(project, relay_vm, "vnc"), cast.owner)
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.send", "bytes": b"RFB 003.008\n"}
    await communicator.disconnect()


async def test_it_refuses_the_console_and_vnc_to_a_viewer_before_accepting(project, cast, relay_vm):
    for stream in ("console", "vnc"):
        communicator, connected = await connect(path(project, relay_vm, stream), cast.viewer)
        assert not connected


async def test_it_refuses_a_page_from_another_port_of_the_same_host(project, cast, relay_vm):
    # ALLOWED_HOSTS has no ports, and cookies go to every port: only the console's own origin may connect.
    for stream in ("console", "vnc"):
        communicator, connected = await connect(path(project, relay_vm, stream), cast.owner, origin="http://localhost:6445")
        assert not connected


async def test_it_tells_who_took_the_console_over(project, cast, relay_vm):
    first, connected = await connect(path(project, relay_vm), cast.owner)
    assert connected
    await first.send_to(bytes_data=b"\r")
    await read_until(first, b"login: ")
    second, connected = await connect(path(project, relay_vm), cast.operator)
    assert connected
    _, closed = await drain(first, quiet=5)
    assert closed["code"] == 4001
    assert closed["reason"] == "operator took over this serial console from the web console."
    await second.disconnect()


async def test_it_keeps_an_idle_session_up_with_keepalive_pings(project, cast, relay_vm, settings):
    settings.DVP_CONSOLE_KEEPALIVE_SECONDS = 0.2
    communicator, connected = await connect(path(project, relay_vm), cast.owner)
    assert connected
    await communicator.send_to(bytes_data=b"\r")
    await read_until(communicator, b"login: ")
    _, closed = await drain(communicator, quiet=1.5)  # several ping/pong rounds, no data
    assert closed is None
    await communicator.send_to(bytes_data=b"\r")
    assert b"login: " in await read_until(communicator, b"login: ")
    await communicator.disconnect()


async def test_it_closes_with_the_reason_when_the_vm_stops(project, cast, sim):
    vm = "relay-stop-vm"
    await sync_to_async(guest_vm)(sim, project, vm)
    communicator, connected = await connect(path(project, vm), cast.owner)
    assert connected
    await communicator.send_to(bytes_data=b"\r")
    await read_until(communicator, b"login: ")
    await sync_to_async(stop_vm)(sim, project, vm)
    _, closed = await drain(communicator, quiet=20)
    assert closed["code"] == 4009
    assert closed["reason"].startswith("The virtual machine is Stop")
    await communicator.wait()

    # Reconnecting to the stopped VM: the API refuses the stream and the page is told why.
    await sync_to_async(wait_for_phase)(sim, "virtualmachines", project, vm, "Stopped")
    communicator, connected = await connect(path(project, vm), cast.owner)
    assert connected  # accepted only to say why, then closed
    text = await asyncio.wait_for(communicator.output_queue.get(), 5)
    _, closed = await drain(communicator, quiet=5)
    assert json.loads(text["text"]) == {"close": 4503, "reason": "The virtual machine is not running."}
    assert closed["code"] == 4503  # 4000 + the status of the refusal (5xx: Unavailable)
    await sync_to_async(delete_vm)(sim, project, vm)


async def test_it_tells_the_page_when_the_stream_breaks(project, cast, relay_vm, sim):
    sim.inject(verb="get", resource="virtualmachines/console", namespace=project, drop_after=0.5, times=1)
    try:
        communicator, connected = await connect(path(project, relay_vm), cast.owner)
        assert connected
        _, closed = await drain(communicator, quiet=10)
        assert closed is not None and closed["code"] != 1000
        assert "lost" in closed["reason"]
    finally:
        sim.clear_faults()
