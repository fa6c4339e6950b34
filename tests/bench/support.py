"""What the benchmarks share: the smoke switch, ratios that must be real numbers, Daphne's memory and a
logged-in session.

BENCH_SMOKE=1 (scripts/test sets it) shrinks every benchmark to a few rounds and small sizes: the
figures mean little then, but each way is still exercised and checked, so a broken benchmark fails CI.
"""
import math
import os
import re
from pathlib import Path

import aiohttp

SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
PASSWORD = "bench-password"  # the demo users' password in the benchmarks' Daphne


def size(full, smoke):
    """`full` for `make bench`, `smoke` under BENCH_SMOKE=1."""
    return smoke if SMOKE else full


def ratio(numerator, denominator):
    """numerator / denominator, both measured: a zero, negative or non-finite figure means a way did not work."""
    assert math.isfinite(numerator) and numerator > 0, numerator
    assert math.isfinite(denominator) and denominator > 0, denominator
    return numerator / denominator


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def session_cookie(host, username="alice"):
    """A Django session of `username` on the Daphne at `host`, logged in through the login form."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # IP hosts
        async with session.get(f"http://{host}/login/") as response:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', await response.text()).group(1)
        async with session.post(f"http://{host}/login/", data={
                "csrfmiddlewaretoken": token, "username": username, "password": PASSWORD, "next": "/projects/"},
                headers={"Referer": f"http://{host}/login/"}, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
        return {c.key: c.value for c in session.cookie_jar}["sessionid"]
