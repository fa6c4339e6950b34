"""VM IP addresses and their leases: Static in and out of virtualMachineCIDRs, release and 10-minute retention;
MAC addresses for additional networks."""

import pytest

from tests.conftest import start_sim, stop_sim
from tests.dvpsim.support import Dvp, condition, fresh_namespace


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "ipmac"))


def vmip(name, static_ip=None):
    spec = {"type": "Static", "staticIP": static_ip} if static_ip else {"type": "Auto"}
    return {"metadata": {"name": name}, "spec": spec}


def bound(dvp, name):
    return dvp.wait("virtualmachineipaddresses", name, lambda o: (o.get("status") or {}).get("address"))


def test_it_binds_a_static_address_inside_the_cidrs_and_refuses_one_outside(dvp):
    dvp.create("virtualmachineipaddresses", vmip("inside", "10.66.20.77"))
    assert bound(dvp, "inside")["status"]["phase"] == "Bound"
    lease = dvp.get("virtualmachineipaddressleases", "ip-10-66-20-77")
    assert lease["spec"]["virtualMachineIPAddressRef"] == {"name": "inside", "namespace": dvp.namespace}
    assert lease["status"]["phase"] == "Bound"

    dvp.create("virtualmachineipaddresses", vmip("outside", "192.168.250.9"))
    refused = dvp.wait("virtualmachineipaddresses", "outside", lambda o: condition(o, "Bound") is not None)
    assert refused["status"]["phase"] == "Pending"
    assert condition(refused, "Bound")["reason"] == "VirtualMachineIPAddressIsOutOfTheValidRange"


def test_it_keeps_a_released_lease_for_its_namespace_ten_minutes_of_clock_time():
    sim = start_sim()  # its own cluster: the clock jumps ten minutes
    try:
        mine, theirs = Dvp(sim, fresh_namespace(sim, "mine")), Dvp(sim, fresh_namespace(sim, "theirs"))
        mine.create("virtualmachineipaddresses", vmip("keep"))
        address = bound(mine, "keep")["status"]["address"]
        lease_name = "ip-" + address.replace(".", "-")
        mine.delete("virtualmachineipaddresses", "keep")
        released = mine.wait("virtualmachineipaddressleases", lease_name,
                             lambda o: o["status"]["phase"] == "Released")
        assert condition(released, "Bound")["reason"] == "Released"

        theirs.create("virtualmachineipaddresses", vmip("steal", address))
        refused = theirs.wait("virtualmachineipaddresses", "steal", lambda o: condition(o, "Bound") is not None)
        assert condition(refused, "Bound")["reason"] == "VirtualMachineIPAddressLeaseAlreadyExists"
        theirs.create("virtualmachineipaddresses", vmip("auto"))
        assert bound(theirs, "auto")["status"]["address"] != address

        sim.control("clock", {"step": 599})
        assert mine.find("virtualmachineipaddressleases", lease_name) is not None
        sim.control("clock", {"step": 2})
        assert bound(theirs, "steal")["status"]["address"] == address  # the expired lease freed the address
        lease = mine.get("virtualmachineipaddressleases", lease_name)
        assert lease["metadata"]["uid"] != released["metadata"]["uid"]
        assert lease["spec"]["virtualMachineIPAddressRef"] == {"name": "steal", "namespace": theirs.namespace}
        assert "Expired" in [e.reason for e in theirs.core.list_namespaced_event("default").items
                             if e.involved_object.uid == released["metadata"]["uid"]]
    finally:
        stop_sim(sim)


def test_it_lets_the_namespace_reclaim_its_released_address(dvp):
    dvp.create("virtualmachineipaddresses", vmip("first"))
    address = bound(dvp, "first")["status"]["address"]
    dvp.delete("virtualmachineipaddresses", "first")
    dvp.wait("virtualmachineipaddressleases", "ip-" + address.replace(".", "-"),
             lambda o: o["status"]["phase"] == "Released")
    dvp.create("virtualmachineipaddresses", vmip("again", address))
    assert bound(dvp, "again")["status"]["address"] == address
    lease = dvp.get("virtualmachineipaddressleases", "ip-" + address.replace(".", "-"))
    assert lease["status"]["phase"] == "Bound"
    assert lease["spec"]["virtualMachineIPAddressRef"]["name"] == "again"
