"""Simulation clock: wall time, with sleeps shortened by the speed factor."""

import asyncio
from datetime import datetime, timezone


class Clock:
    def __init__(self, speed=1.0):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)

    def now(self):
        return datetime.now(timezone.utc)

    def timestamp(self):
        """now() as an RFC 3339 string with second precision, like Kubernetes."""
        return format_time(self.now())

    async def sleep(self, seconds):
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def format_time(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
