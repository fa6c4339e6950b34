"""Run policies when the guest powers itself off: `sudo poweroff` typed into the serial console."""

import aiohttp
import pytest

from tests.dvpsim.support import Dvp, blank_disk, fresh_namespace, vm_body
from tests.dvpsim.test_guest import Console, console_url


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "runpolicy"))


async def power_off_from_inside(sim, dvp, name, command="sudo poweroff", logged_in=False):
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(console_url(sim, dvp, name), protocols=("plain.kubevirt.io",),
                                      headers={"Authorization": f"Bearer {sim.token('admin')}"})
        console = Console(ws)
        if logged_in:  # the guest session outlives the connection
            await console.expect(f"cloud@{name}:~$ ")
        else:
            await console.type("\r")
            await console.expect("login: ")
            await console.type("cloud\rcloud\r")
            await console.expect(f"cloud@{name}:~$ ")
        await console.type(command + "\r")
        seen = await console.expect(f"cloud@{name}:~$ ")
        await ws.close()
        return seen


def phases(vm):
    return [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]


def running(dvp, name, policy):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", vm_body(name, runPolicy=policy))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


async def test_it_starts_an_always_on_vm_again_after_the_guest_powers_off(sim, dvp):
    assert phases(running(dvp, "always", "AlwaysOn")) == ["Pending", "Starting", "Running"]
    assert "Powering off" in await power_off_from_inside(sim, dvp, "always")
    dvp.wait("virtualmachines", "always", lambda o: phases(o)[-3:] == ["Stopping", "Starting", "Running"], timeout=30)
    assert "GuestPoweredOff" in [e.reason for e in dvp.events_about("always")]


async def test_it_leaves_a_vm_stopped_after_the_guest_powers_off_under_other_policies(sim, dvp):
    running(dvp, "manual", "AlwaysOnUnlessStoppedManually")
    assert "Access denied" in await power_off_from_inside(sim, dvp, "manual", command="poweroff")
    assert dvp.get("virtualmachines", "manual")["status"]["phase"] == "Running"
    await power_off_from_inside(sim, dvp, "manual", logged_in=True)
    dvp.wait_phase("virtualmachines", "manual", "Stopped", timeout=30)
