"""Injected faults: errors, latency and dropped watches, per resource and verb; the clock's controls."""
import asyncio
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from dvpsim.clock import Clock
from tests.conftest import start_sim, stop_sim
from tests.kube import fresh_namespace

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"


@pytest.fixture
def faults(sim):
    sim.clear_faults()
    yield sim
    sim.clear_faults()


def list_vms(sim, namespace, user="admin"):
    return client.CustomObjectsApi(sim.api(user)).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "virtualmachines")


def test_it_answers_an_injected_error_for_the_matching_requests_only(faults):
    ns = fresh_namespace(faults, "faults")
    faults.inject(verb="list", resource="virtualmachines", namespace=ns, status=500)
    with pytest.raises(ApiException) as caught:
        list_vms(faults, ns)
    assert caught.value.status == 500
    assert "injected fault" in caught.value.body
    client.CustomObjectsApi(faults.api()).list_namespaced_custom_object(GROUP, VERSION, ns, "virtualdisks")
    list_vms(faults, "project-b")
    faults.clear_faults()
    assert list_vms(faults, ns)["items"] == []


def test_it_applies_a_fault_only_as_many_times_as_asked(faults):
    ns = fresh_namespace(faults, "faults")
    faults.inject(verb="list", resource="virtualmachines", namespace=ns, status=503, times=1)
    with pytest.raises(ApiException):
        list_vms(faults, ns)
    list_vms(faults, ns)


def test_it_adds_latency(faults):
    ns = fresh_namespace(faults, "faults")
    list_vms(faults, ns)
    start = time.monotonic()
    list_vms(faults, ns)
    fast = time.monotonic() - start
    faults.inject(resource="virtualmachines", namespace=ns, latency=0.4)
    start = time.monotonic()
    list_vms(faults, ns)
    assert time.monotonic() - start >= 0.4 > fast


def test_it_drops_a_watch_mid_stream(faults):
    ns = fresh_namespace(faults, "faults")
    faults.inject(verb="watch", resource="virtualmachines", namespace=ns, drop_after=0.5)
    request = urllib.request.Request(
        f"{faults.url}/apis/{GROUP}/{VERSION}/namespaces/{ns}/virtualmachines?watch=1&timeoutSeconds=30",
        headers={"Authorization": f"Bearer {faults.token()}"})
    start = time.monotonic()
    with _ended():
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    assert time.monotonic() - start < 5


class _ended:
    """A dropped stream ends the read, either cleanly or with a connection error."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is None or issubclass(exc_type, (OSError, ConnectionError)) or \
            exc_type.__name__ == "IncompleteRead"


def test_it_lets_only_cluster_admins_inject_faults(sim):
    request = urllib.request.Request(f"{sim.url}/dvpsim/faults", data=b'{"status": 500}', method="POST",
                                     headers={"Authorization": f"Bearer {sim.token('alice')}"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    assert sim.control("faults") == []


def test_it_takes_faults_from_the_command_line():
    sim = start_sim("--fault", "verb=list,resource=virtualmachines,status=503", demo=False)
    try:
        with pytest.raises(ApiException) as caught:
            list_vms(sim, "default")
        assert caught.value.status == 503
    finally:
        stop_sim(sim)


def test_it_steps_the_clock_over_http():
    sim = start_sim(demo=False)  # its own cluster: an hour's jump must not age the shared one
    try:
        before = sim.control("clock")["now"]
        after = sim.control("clock", {"step": 3600, "speed": 5})
        assert after["now"] > before and after["now"][11:13] != before[11:13]
        assert after["speed"] == 5
    finally:
        stop_sim(sim)


async def test_it_wakes_a_sleeper_when_the_clock_steps_past_its_deadline():
    clock = Clock(speed=1)
    sleeper = asyncio.create_task(clock.sleep(600))
    await asyncio.sleep(0.05)
    clock.step(599)
    await asyncio.sleep(0.05)
    assert not sleeper.done()
    clock.step(2)
    await asyncio.wait_for(sleeper, 1)
