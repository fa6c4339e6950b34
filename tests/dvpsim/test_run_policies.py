"""VM life cycle beyond operations: run policies when the guest powers itself off, Terminating on deletion."""

import aiohttp
import pytest
from kubernetes import watch

from tests.kube import GROUP, VERSION, Dvp, blank_disk, fresh_namespace, vm_body
from tests.guest import Console, console_url


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "runpolicy"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


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


def test_it_shows_a_deleted_vm_terminating_while_it_stops(dvp):
    running(dvp, "doomed", "AlwaysOn")
    before = dvp.get("virtualmachines", "doomed")["metadata"]["resourceVersion"]
    dvp.delete("virtualmachines", "doomed")
    dvp.wait_gone("virtualmachines", "doomed", timeout=30)
    seen = [event["object"]["status"].get("phase") for event in watch.Watch().stream(
        dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace, "virtualmachines",
        field_selector="metadata.name=doomed", resource_version=before, timeout_seconds=2)]
    assert seen[-2:] == ["Terminating", "Terminating"]  # the last status, then the DELETED event
    assert "Stopping" in seen
    assert "Terminating" in [e.reason for e in dvp.events_about("doomed")]
