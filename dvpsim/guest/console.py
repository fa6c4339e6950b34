"""The VM serial console over a WebSocket: raw binary frames to and from the simulated guest.

One guest session per VM boot: it survives reconnects while the VM runs and starts afresh
after a restart. When the VM stops or reboots, the connection drops as a real one does
(the client sees an abnormal closure, 1006).
"""

import asyncio
import contextlib
import socket
import weakref

from aiohttp import WSMsgType

from dvpsim import kinds, quantity
from dvpsim.controllers import guest_power, power
from dvpsim.guest import cloudinit, dns
from dvpsim.guest.session import BlockDevice, GuestFacts, GuestSession

CONSOLE_PHASES = ("Running", "Migrating")
FLOOD_CHUNK = 16 * 1024
_SESSIONS = weakref.WeakKeyDictionary()  # cluster -> {vm uid: (boot number, GuestSession)}


def guest_for(cluster, vm: dict) -> GuestSession:
    """The guest of the VM's current boot, created on first use."""
    boots = power.of(cluster, vm).boots
    sessions = _SESSIONS.setdefault(cluster, {})
    uid = vm["metadata"]["uid"]
    current = sessions.get(uid)
    config = cloudinit.parse(cloudinit.user_data_of(cluster, vm))
    facts = facts_of(cluster, vm, config)
    if current is None or current[0] != boots:
        current = (boots, GuestSession(facts, cloudinit.users(config)))
        namespace, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        current[1].on_power_off = lambda: guest_power.powered_off(cluster, namespace, name)
        current[1].on_reboot = lambda: guest_power.rebooted(cluster, namespace, name)
        current[1].on_crash = lambda detail: guest_power.crashed(cluster, namespace, name)
        current[1].on_agent = lambda: guest_power.agent_started(cluster, namespace, name)
        sessions[uid] = current
    else:
        current[1].facts = facts
    return current[1]


def facts_of(cluster, vm: dict, config: dict) -> GuestFacts:
    status = vm.get("status") or {}
    resources = status.get("resources") or {}
    cores = (resources.get("cpu") or {}).get("cores") or vm["spec"].get("cpu", {}).get("cores", 1)
    memory = (resources.get("memory") or {}).get("size") or vm["spec"].get("memory", {}).get("size", "1Gi")
    devices = []
    refs = status.get("blockDeviceRefs") or []
    # KubeVirt's disk order: the static devices, the cloud-init NoCloud disk (1M, as the guide's lsblk shows), then
    # the hot-plugged ones.
    refs = [r for r in refs if not r.get("hotplugged")] + \
        ([{"kind": "cloudinit", "name": "cloudinit", "size": "1Mi"}] if vm["spec"].get("provisioning") else []) + \
        [r for r in refs if r.get("hotplugged")]
    for ref in refs:
        size = quantity.parse_bytes(ref["size"]) if ref.get("size") else 0
        cdrom = False
        if ref.get("kind") in ("VirtualImage", "ClusterVirtualImage"):
            image = cluster.store.get(kinds.get(ref["kind"]), vm["metadata"]["namespace"], ref["name"]) or {}
            cdrom = bool((image.get("status") or {}).get("cdrom"))
        devices.append(BlockDevice(ref["name"], size, cdrom=cdrom,
                                   read_only=ref.get("kind") in ("VirtualImage", "ClusterVirtualImage")))
    return GuestFacts(
        hostname=cloudinit.hostname(config, vm["metadata"]["name"]),
        cores=int(cores),
        memory_bytes=quantity.parse_bytes(memory),
        ip_address=status.get("ipAddress", ""),
        block_devices=devices,
        agent_installed=cloudinit.has_guest_agent(config) or power.of(cluster, vm).agent_installed,
        resolve=lambda name: dns.resolve(cluster, vm["metadata"]["namespace"], name),
    )


async def serve_console(cluster, vm: dict, ws, username: str):
    """Serve an accepted (prepared) WebSocket until either side goes away."""
    guest = guest_for(cluster, vm)
    boot = power.of(cluster, vm).boots
    await ws.send_bytes(guest.connect())
    loop = asyncio.get_running_loop()
    watcher = loop.create_task(_drop_when_vm_goes_down(cluster, vm, boot, ws))
    flood = None
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                if _phase(cluster, vm) == "Pause":
                    continue  # a paused guest takes no input; the line stays open
                output = guest.feed(message.data)
                if output:
                    await ws.send_bytes(output)
                if guest.hang_up:
                    # A reboot inside the guest drops the serial connection: the client sees 1006
                    # (dvp-api-notes.md §5.3: "Guest reboot / network loss shows up as 1006").
                    guest.hang_up = False
                    await _drained(ws)
                    _abort(ws)
                    break
                if guest.flood and (flood is None or flood.done()):
                    flood = loop.create_task(_flood(guest, ws))
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            # Text frames are dropped, as virt-handler does.
    finally:
        for task in (watcher, flood):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _flood(guest, ws):
    """`yes` in the guest: output as fast as the reader takes it (send waits for the socket to drain)."""
    while guest.flood and not ws.closed:
        line = guest.flood
        chunk = (line * (FLOOD_CHUNK // len(line) + 1)).encode()
        await ws.send_bytes(chunk)
        guest.screen.write(chunk[-len(chunk) // 64:])
        # send_bytes only suspends when the socket is full: a reader that keeps up would otherwise keep
        # this loop from ever yielding, so Ctrl+C (and every other request to dvpsim) waits for seconds.
        await asyncio.sleep(0)


async def _drop_when_vm_goes_down(cluster, vm, boot, ws):
    uid = vm["metadata"]["uid"]
    # VM events only: every open stream renews its Lease (each 0.5 s at --speed 20), and a deep copy of each
    # renewal for each open stream made 200 open streams saturate the simulator.
    subscription = cluster.subscribe({"VirtualMachine"})
    try:
        async for event_type, kind, obj in subscription:
            if kind.kind != "VirtualMachine" or obj["metadata"].get("uid") != uid:
                continue
            phase = (obj.get("status") or {}).get("phase")
            if phase == "Pause" and event_type != "DELETED" and power.of(cluster, obj).boots == boot:
                continue  # paused, not gone: the connection stays
            if event_type == "DELETED" or phase not in CONSOLE_PHASES or power.of(cluster, obj).boots != boot:
                _abort(ws)
                return
    finally:
        await subscription.aclose()


async def _drained(ws):
    """Let the last output (the reboot messages) reach the socket before the line drops."""
    writer = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    for _ in range(100):
        if transport is None or transport.get_write_buffer_size() == 0:
            return
        await asyncio.sleep(0.01)


def _phase(cluster, vm) -> str:
    fresh = cluster.store.get(kinds.get("VirtualMachine"), vm["metadata"]["namespace"], vm["metadata"]["name"])
    return ((fresh or {}).get("status") or {}).get("phase", "")


def _abort(ws):
    sock = ws.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
