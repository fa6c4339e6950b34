"""The simulator's own controls for tests and operators: faults and the clock (cluster admins only).

    GET/POST/DELETE /dvpsim/faults   list, add (JSON Fault fields), clear the injected faults
    GET/POST        /dvpsim/clock    read; {"step": seconds} moves time on, {"speed": x} changes the pace
    POST /dvpsim/vms/<namespace>/<name>/fail    the VM's instance fails: phase Pending, KubeVirt's CrashLoopBackOff
                                                ({"status": "Unknown"} or another status of vm_failures.FAILURES)
    POST /dvpsim/vms/<namespace>/<name>/pause   KubeVirt pauses the guest on an I/O error: phase Pause
    POST /dvpsim/vms/<namespace>/<name>/resume  the I/O error is gone and the guest is unpaused: Running again
    GET/POST        /dvpsim/firmware  read; {"qemu": "...", "libvirt": "..."} = a module update with new VM
                                      firmware: running VMs are moved onto it by firmware-update-* Evict operations
    GET/POST        /dvpsim/feature-gates  read; {"USB": true|false} turns an EE feature gate on or off
    POST            /dvpsim/usb        a USB device is plugged into a node (labelled virtualization.deckhouse.io/usbip):
                                       {"node": ..., "vendorID": "0951", "productID": "1666", "manufacturer": ...,
                                        "product": ..., "serial": ..., "bus": "3", "deviceNumber": "2", "speed": 480};
                                       answers the NodeUSBDevice (needs the USB gate)
    DELETE          /dvpsim/usb/<name> the device is unplugged from its node
"""

import json

from aiohttp import web

from .auth import authenticate
from . import kinds
from .controllers import firmware, guest_power, usb, vm_failures
from .errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from .faults import Fault



def _admin(cluster, request):
    user = authenticate(cluster, request)
    if "system:masters" not in user.groups:
        raise Forbidden(f'User "{user.name}" may not control the simulator')
    return user


def _errors(handler):
    async def wrapped(request):
        try:
            return await handler(request)
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)
    return wrapped


def routes(cluster):
    async def body(request):
        try:
            return json.loads(await request.read() or b"{}")
        except ValueError:
            raise BadRequest("the body must be JSON")

    @_errors
    async def faults(request):
        _admin(cluster, request)
        if request.method == "POST":
            try:
                fault = cluster.faults.add(Fault(**await body(request)))
            except TypeError as exc:
                raise BadRequest(str(exc))
            return web.json_response(fault.to_dict(), status=201)
        if request.method == "DELETE":
            cluster.faults.clear()
        return web.json_response([f.to_dict() for f in cluster.faults.rules])

    @_errors
    async def clock(request):
        _admin(cluster, request)
        if request.method == "POST":
            data = await body(request)
            try:
                if "speed" in data:
                    cluster.clock.set_speed(float(data["speed"]))
                if "step" in data:
                    cluster.clock.step(float(data["step"]))
            except (TypeError, ValueError) as exc:
                raise BadRequest(str(exc))
        return web.json_response({"now": cluster.clock.timestamp(), "speed": cluster.clock.speed})

    @_errors
    async def vm_action(request):
        _admin(cluster, request)
        namespace, name, action = (request.match_info[k] for k in ("namespace", "name", "action"))
        kind = kinds.get("VirtualMachine")
        vm = cluster.store.get(kind, namespace, name)
        if vm is None:
            raise NotFound.of(kind, name)
        data = await body(request)
        if action == "fail":
            status = data.get("status") or "CrashLoopBackOff"
            if status not in vm_failures.FAILURES:
                raise BadRequest(f'unknown status "{status}": use one of {", ".join(vm_failures.FAILURES)}')
            done = guest_power.crashed(cluster, namespace, name, status)
        elif action == "pause":
            done = guest_power.paused(cluster, namespace, name, str(data.get("reason") or "IOError"))
        elif action == "resume":
            done = guest_power.resumed(cluster, namespace, name)
        else:
            raise NotFound(f'unknown action "{action}": use fail, pause or resume')
        if not done:
            phase = (vm.get("status") or {}).get("phase") or "Pending"
            raise Conflict.of(kind, name, f"cannot {action} a virtual machine in phase {phase}")
        return web.json_response({"namespace": namespace, "name": name, "action": action}, status=202)

    @_errors
    async def firmware_versions(request):
        _admin(cluster, request)
        if request.method == "POST":
            data = await body(request)
            if not isinstance(data, dict) or not data or not all(
                    k in ("libvirt", "qemu") and isinstance(v, str) and v for k, v in data.items()):
                raise BadRequest('give the new firmware as {"libvirt": "<version>", "qemu": "<version>"}')
            firmware.update(cluster, data)
        return web.json_response(firmware.current(cluster))

    @_errors
    async def feature_gates(request):
        _admin(cluster, request)
        if request.method == "POST":
            data = await body(request)
            if not isinstance(data, dict) or not all(k == usb.FEATURE_GATE and isinstance(v, bool)
                                                     for k, v in data.items()):
                raise BadRequest('give the gates as {"USB": true|false}')
            for gate, on in data.items():
                was = gate in cluster.feature_gates
                (cluster.feature_gates.add if on else cluster.feature_gates.discard)(gate)
                if on and not was:
                    usb.gate_turned_on(cluster)
        return web.json_response({gate: gate in cluster.feature_gates for gate in (usb.FEATURE_GATE,)})

    @_errors
    async def usb_plug(request):
        _admin(cluster, request)
        data = await body(request)
        if not isinstance(data, dict) or not isinstance(data.get("node"), str):
            raise BadRequest('give the device as {"node": "<node>", "vendorID": ..., "productID": ..., ...}')
        try:
            device = usb.plug(cluster, data["node"], {k: v for k, v in data.items() if k != "node"})
        except usb.USBError as exc:
            raise BadRequest(str(exc))
        return web.json_response(device, status=201)

    @_errors
    async def usb_unplug(request):
        _admin(cluster, request)
        device = usb.unplug(cluster, request.match_info["name"])
        if device is None:
            raise NotFound.of(kinds.get("NodeUSBDevice"), request.match_info["name"])
        return web.json_response(device)

    return [web.route("*", "/dvpsim/faults", faults), web.route("*", "/dvpsim/clock", clock),
            web.route("*", "/dvpsim/firmware", firmware_versions),
            web.route("*", "/dvpsim/feature-gates", feature_gates), web.post("/dvpsim/usb", usb_plug),
            web.delete("/dvpsim/usb/{name}", usb_unplug),
            web.post("/dvpsim/vms/{namespace}/{name}/{action}", vm_action)]
