"""Injected faults: latency, error answers and dropped watch streams, per resource and verb.

Tests and the CLI add rules; every API request that a rule matches is delayed, refused with
the rule's status, or (a watch) cut after `drop_after` seconds.
"""

import asyncio
from dataclasses import asdict, dataclass

from .errors import ApiError

REASONS = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


@dataclass
class Fault:
    verb: str = "*"          # get, list, watch, create, update, patch, delete, … or *
    resource: str = "*"      # plural (virtualmachines) or *
    namespace: str = "*"
    latency: float = 0.0     # seconds added before answering
    status: int = 0          # answer with this error code instead
    drop_after: float = 0.0  # watches: end the stream after this many seconds
    times: int = 0           # how many requests it applies to; 0 = until removed

    def matches(self, verb, resource, namespace):
        return (self.verb in ("*", verb) and self.resource in ("*", resource)
                and self.namespace in ("*", namespace or ""))

    @classmethod
    def parse(cls, spec):
        """From the CLI: "verb=list,resource=virtualmachines,status=500"."""
        fields = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, _, value = item.partition("=")
            if key not in cls.__dataclass_fields__:
                raise ValueError(f"unknown fault field {key!r}")
            kind = cls.__dataclass_fields__[key].type
            fields[key] = {"float": float, "int": int}.get(kind, str)(value)
        return cls(**fields)

    def to_dict(self):
        return asdict(self)


class Faults:
    def __init__(self):
        self.rules = []

    def add(self, fault):
        self.rules.append(fault)
        return fault

    def clear(self):
        self.rules.clear()

    def _take(self, verb, resource, namespace):
        hits = [f for f in self.rules if f.matches(verb, resource, namespace)]
        for fault in hits:
            if fault.times:
                fault.times -= 1
                if fault.times == 0:
                    self.rules.remove(fault)
        return hits

    async def apply(self, verb, resource, namespace):
        """Delay or refuse a request; returns the seconds after which a watch must be dropped (or 0)."""
        hits = self._take(verb, resource, namespace)
        latency = sum(f.latency for f in hits)
        if latency:
            await asyncio.sleep(latency)
        for fault in hits:
            if fault.status:
                raise ApiError(f"injected fault: {verb} {resource} answered {fault.status}",
                               code=fault.status, reason=REASONS.get(fault.status, "InternalError"))
        drops = [f.drop_after for f in hits if f.drop_after]
        return min(drops) if drops else 0.0
