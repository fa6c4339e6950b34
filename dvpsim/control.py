"""The simulator's own controls for tests and operators: faults and the clock (cluster admins only).

    GET/POST/DELETE /dvpsim/faults   list, add (JSON Fault fields), clear the injected faults
    GET/POST        /dvpsim/clock    read; {"step": seconds} moves time on, {"speed": x} changes the pace
"""

import json

from aiohttp import web

from .auth import authenticate
from .errors import ApiError, BadRequest, Forbidden
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

    return [web.route("*", "/dvpsim/faults", faults), web.route("*", "/dvpsim/clock", clock)]
