"""The aggregated group subresources.virtualization.deckhouse.io/v1alpha2: VM console,
VNC and port-forward streams, `?probe=true`, and the per-VM exclusivity of streams."""

import asyncio
import importlib
import json
import logging
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from . import kinds
from .errors import ApiError, BadRequest, Forbidden, InternalError, MethodNotAllowed, NotFound
from .rbac import forbidden_message

log = logging.getLogger("dvpsim.consoles")

PROTOCOLS = ("plain.kubevirt.io", "plain.virtualization.deckhouse.io")
STREAMS = ("console", "vnc", "portforward")
PREEMPT_REASON = {"console": "ConsoleSessionPreempted", "vnc": "VNCSessionPreempted"}
PREEMPT_WHAT = {"console": "serial console", "vnc": "VNC"}
RENEW_INTERVAL = 10  # seconds of simulated time between renewals of a session Lease


@dataclass
class Session:
    ws: object
    username: str
    start_time: str
    client: str
    lease: str = ""
    extra: dict = field(default_factory=dict)


def _json(body, status=200):
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")


def _is_upgrade(request):
    return (request.headers.get("Upgrade", "").lower() == "websocket"
            and "upgrade" in request.headers.get("Connection", "").lower())


async def handle_subresource(cluster, request, user, parts):
    """parts: [version, "namespaces", ns, "virtualmachines", name, (sub)]."""
    if len(parts) < 5 or parts[0] != kinds.SUBRESOURCES_VERSION or parts[1] != "namespaces" \
            or parts[3] != "virtualmachines" or len(parts) > 6:
        raise NotFound("the server could not find the requested resource")
    ns, name = parts[2], parts[4]
    sub = parts[5] if len(parts) == 6 else None
    verb = {"GET": "get", "POST": "create", "PUT": "update"}.get(request.method)
    if verb is None:
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    allowed, _ = cluster.rbac.authorize(user, verb=verb, group=kinds.SUBRESOURCES_GROUP, resource="virtualmachines",
                                        subresource=sub, namespace=ns, name=name)
    if not allowed:
        raise Forbidden(forbidden_message(user, verb, kinds.SUBRESOURCES_GROUP, "virtualmachines", sub, ns, name),
                        details={"name": name, "group": kinds.SUBRESOURCES_GROUP, "kind": "virtualmachines"})
    # Injected faults name these "virtualmachines/console" etc.; a stream's drop_after cuts it mid-way.
    drop_after = await cluster.faults.apply(verb, f"virtualmachines/{sub}" if sub else "virtualmachines", ns)
    vm_kind = kinds.get("VirtualMachine")
    vm = cluster.store.get(vm_kind, ns, name)
    if vm is None:
        raise NotFound.of(vm_kind, name)
    if sub is None:
        if request.method != "GET":
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return _json({"apiVersion": f"{kinds.SUBRESOURCES_GROUP}/{kinds.SUBRESOURCES_VERSION}",
                      "kind": "VirtualMachine", "metadata": vm["metadata"]})
    if sub == "scale" and request.method == "GET":
        return _json({"kind": "Scale", "apiVersion": "autoscaling/v1",
                      "metadata": {"name": name, "namespace": ns, "uid": vm["metadata"]["uid"],
                                   "resourceVersion": vm["metadata"]["resourceVersion"],
                                   "creationTimestamp": vm["metadata"]["creationTimestamp"]},
                      "spec": {"replicas": 1},
                      "status": {"replicas": 1, "selector": "kubevirt.internal.virtualization.deckhouse.io=virt-launcher,"
                                                            f"vm.kubevirt.internal.virtualization.deckhouse.io/name={name}"}})
    if sub not in STREAMS:
        raise NotFound("the server could not find the requested resource")
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    if sub in ("console", "vnc") and request.query.get("probe") == "true" and not _is_upgrade(request):
        return _json(holder(cluster, ns, name, sub))
    phase = (vm.get("status") or {}).get("phase")
    if phase not in ("Running", "Migrating"):
        raise ApiError("VirtualMachine is not Running or Migrating", code=500, reason="InternalError")
    if not _is_upgrade(request):
        raise BadRequest("Upgrade request required")
    return await _stream(cluster, request, user, vm, sub, drop_after)


def holder(cluster, ns, name, sub):
    """The probe answer: who holds the stream ({} when free)."""
    s = cluster.console_sessions.get((ns, name, sub))
    if s is None or s.ws.closed:
        return {}
    return {"holder": s.username, "startTime": s.start_time, "client": s.client}


async def _stream(cluster, request, user, vm, sub, drop_after=0.0):
    ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    if drop_after:
        # An injected fault: the connection breaks without a close frame (the client sees 1006).
        asyncio.get_running_loop().call_later(drop_after, request.transport.close)
    key = (ns, name, sub)
    renewal = None
    session = Session(ws, user.name, cluster.clock.timestamp(), request.headers.get("User-Agent", "")[:128])
    if sub in ("console", "vnc"):
        previous = cluster.console_sessions.get(key)
        cluster.console_sessions[key] = session
        if previous is not None and not previous.ws.closed:
            if previous.username != user.name:
                cluster.record_event(
                    vm, "Warning", PREEMPT_REASON[sub],
                    f'The {PREEMPT_WHAT[sub]} of the VirtualMachine was taken over by user "{user.name}", '
                    f'the session of user "{previous.username}" was disconnected.')
            await previous.ws.close(code=1001, message=b"close by another connection")
        _write_lease(cluster, vm, sub, session)
        renewal = asyncio.get_running_loop().create_task(_renew_lease(cluster, ns, session))
    try:
        serve = _guest_handler(sub)
        if serve is None:
            await ws.close(code=1011, message=f"{sub} is not available in dvpsim".encode())
        else:
            await serve(cluster, vm, ws, user.name, *((request.query,) if sub == "portforward" else ()))
    except Exception:
        log.exception("%s stream of %s/%s failed", sub, ns, name)
    finally:
        if renewal is not None:
            renewal.cancel()
        if not ws.closed:
            await ws.close()
        if cluster.console_sessions.get(key) is session:
            del cluster.console_sessions[key]
            _drop_lease(cluster, ns, session)
    return ws


def _guest_handler(sub):
    try:
        guest = importlib.import_module("dvpsim.guest")
    except ModuleNotFoundError:
        return None
    return getattr(guest, {"console": "serve_console", "vnc": "serve_vnc", "portforward": "serve_portforward"}[sub],
                   None)


def _write_lease(cluster, vm, sub, session):
    lease_kind = kinds.get("Lease")
    meta = vm["metadata"]
    lease_name = f"d8v-vm-{sub}-{meta['name']}-{meta['uid']}"
    body = {
        "metadata": {
            "name": lease_name, "namespace": meta["namespace"],
            "labels": {"virtualization.deckhouse.io/session": sub},
            "annotations": {"virtualization.deckhouse.io/session-id": str(uuid.uuid4()),
                            "virtualization.deckhouse.io/session-client": session.client},
            "ownerReferences": [{"apiVersion": vm["apiVersion"], "kind": "VirtualMachine", "name": meta["name"],
                                 "uid": meta["uid"]}],
        },
        "spec": {"holderIdentity": session.username, "leaseDurationSeconds": 30,
                 "acquireTime": _micro_time(cluster), "renewTime": _micro_time(cluster)},
    }
    try:
        if cluster.store.peek(lease_kind, meta["namespace"], lease_name) is None:
            cluster.create(lease_kind, body)
        else:
            cluster.update(lease_kind, body)
        session.lease = lease_name
    except (ApiError, InternalError):
        log.exception("could not write the session lease")


def _micro_time(cluster):
    """A metav1.MicroTime on the simulation clock."""
    return cluster.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _renew_lease(cluster, ns, session):
    """Renew the session Lease every RENEW_INTERVAL seconds of simulated time while the stream is open
    (dvp-api-notes §5.4: leaseDurationSeconds 30, renewed every 10 s)."""
    lease_kind = kinds.get("Lease")
    while True:
        await cluster.clock.sleep(RENEW_INTERVAL)
        if not session.lease or session.ws.closed:
            return
        lease = cluster.store.get(lease_kind, ns, session.lease)
        if lease is None:
            return
        lease.setdefault("spec", {})["renewTime"] = _micro_time(cluster)
        try:
            cluster.update(lease_kind, lease)
        except ApiError:
            log.exception("could not renew the session lease")


def _drop_lease(cluster, ns, session):
    """Delete the session Lease with UID and resourceVersion preconditions (as virtualization-api does)."""
    if session.lease:
        lease = cluster.store.peek(kinds.get("Lease"), ns, session.lease)
        if lease is None:
            return
        try:
            cluster.delete(kinds.get("Lease"), ns, session.lease,
                           preconditions={"uid": lease["metadata"]["uid"],
                                          "resourceVersion": lease["metadata"]["resourceVersion"]})
        except ApiError:
            pass
