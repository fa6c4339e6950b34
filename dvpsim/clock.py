"""Simulation clock: wall time plus an offset tests can step, with sleeps shortened by the speed.

`sleep(s)` ends when `s` seconds of simulated time have passed: after s / speed real seconds,
or at once when `step()` moves the clock past its deadline (so a test can jump over a
10-minute timeout without waiting for it).
"""

import asyncio
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self, speed=1.0):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self.offset = timedelta(0)
        self._sleepers = {}  # future -> simulated deadline

    def now(self):
        return datetime.now(timezone.utc) + self.offset

    def timestamp(self):
        """now() as an RFC 3339 string with second precision, like Kubernetes."""
        return format_time(self.now())

    async def sleep(self, seconds):
        seconds = max(0.0, seconds)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._sleepers[future] = self.now() + timedelta(seconds=seconds)
        timer = loop.call_later(seconds / self.speed, _wake, future)
        try:
            await future
        finally:
            timer.cancel()
            self._sleepers.pop(future, None)

    def step(self, seconds):
        """Move simulated time forward; sleepers whose deadline has passed wake up."""
        self.offset += timedelta(seconds=seconds)
        now = self.now()
        for future, deadline in list(self._sleepers.items()):
            if deadline <= now:
                _wake(future)

    def set_speed(self, speed):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)


def _wake(future):
    if not future.done():
        future.set_result(None)


def format_time(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
