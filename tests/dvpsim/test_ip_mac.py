"""VM IP addresses and their leases: Static in and out of virtualMachineCIDRs, release and 10-minute retention;
MAC addresses for additional networks."""

import pytest

from tests.conftest import start_sim, stop_sim
from tests.kube import Dvp, blank_disk, condition, fresh_namespace, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "ipmac"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def vmip(name, static_ip=None):
    spec = {"type": "Static", "staticIP": static_ip} if static_ip else {"type": "Auto"}
    return {"metadata": {"name": name}, "spec": spec}


def bound(dvp, name):
    return dvp.wait("virtualmachineipaddresses", name, lambda o: (o.get("status") or {}).get("address"))


def test_it_binds_a_static_address_inside_the_cidrs_and_refuses_one_outside(dvp):
    dvp.create("virtualmachineipaddresses", vmip("inside", "10.66.30.117"))
    assert bound(dvp, "inside")["status"]["phase"] == "Bound"
    lease = dvp.get("virtualmachineipaddressleases", "ip-10-66-30-117")
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


def test_it_gives_each_additional_network_a_mac_address_with_a_lease():
    sim = start_sim()  # its own cluster: it gets a ClusterNetwork (the demo enables the sdn module)
    try:
        from kubernetes import client

        client.CustomObjectsApi(sim.api("admin")).create_cluster_custom_object(
            "network.deckhouse.io", "v1alpha1", "clusternetworks", {
                "apiVersion": "network.deckhouse.io/v1alpha1", "kind": "ClusterNetwork", "metadata": {"name": "wan"},
                "spec": {}})
        dvp = Dvp(sim, fresh_namespace(sim, "mac"))
        dvp.create("virtualmachinemacaddresses", {"metadata": {"name": "fixed"}, "spec": {"address": "AA:BB:CC:00:11:22"}})
        fixed = dvp.wait_phase("virtualmachinemacaddresses", "fixed", "Bound")
        assert fixed["status"]["address"] == "aa:bb:cc:00:11:22"
        lease = dvp.get("virtualmachinemacaddressleases", "mac-aa-bb-cc-00-11-22")
        assert lease["spec"]["virtualMachineMACAddressRef"] == {"name": "fixed", "namespace": dvp.namespace}
        assert lease["status"]["phase"] == "Bound"
        with pytest.raises(client.ApiException) as refused:
            dvp.patch("virtualmachinemacaddresses", "fixed", {"spec": {"address": "aa:bb:cc:00:11:33"}})
        assert refused.value.status == 403 and "cannot be changed once it is Bound" in refused.value.body

        dvp.create("virtualmachinemacaddresses", {"metadata": {"name": "copycat"},
                                                  "spec": {"address": "aa:bb:cc:00:11:22"}})
        copycat = dvp.wait("virtualmachinemacaddresses", "copycat", lambda o: condition(o, "Bound") is not None)
        assert condition(copycat, "Bound")["reason"] == "VirtualMachineMACAddressLeaseAlreadyExists"

        dvp.create("virtualdisks", blank_disk("net-root"))
        dvp.create("virtualmachines", vm_body("net", networks=[
            {"type": "Main"}, {"type": "Network", "name": "lan"},
            {"type": "ClusterNetwork", "name": "wan", "virtualMachineMACAddressName": "fixed"}]))
        vm = dvp.wait("virtualmachines", "net", lambda o: len([n for n in (o.get("status") or {}).get("networks") or []
                                                                 if n.get("macAddress")]) == 2, timeout=30)
        lan, wan = vm["status"]["networks"][1:]
        ready = dvp.wait("virtualmachines", "net", lambda o: (condition(o, "VirtualMachineMACAddressReady") or {})
                         .get("status") == "True")
        assert condition(ready, "VirtualMachineMACAddressReady")["reason"] == "VirtualMachineMACAddressReady"
        assert wan["macAddress"] == "aa:bb:cc:00:11:22" and wan["virtualMachineMACAddressName"] == "fixed"
        generated = dvp.get("virtualmachinemacaddresses", lan["virtualMachineMACAddressName"])
        assert generated["metadata"]["name"].startswith("net-")
        assert generated["metadata"]["ownerReferences"][0]["name"] == "net"
        assert generated["status"]["address"] == lan["macAddress"]
        assert dvp.get("virtualmachinemacaddressleases", "mac-" + lan["macAddress"].replace(":", "-"))
        dvp.wait_phase("virtualmachines", "net", "Running", timeout=30)
        assert dvp.wait_phase("virtualmachinemacaddresses", "fixed", "Attached")["status"]["virtualMachineName"] == "net"

        dvp.create("virtualdisks", blank_disk("stuck-root"))
        dvp.create("virtualmachines", vm_body("stuck", runPolicy="AlwaysOff", networks=[
            {"type": "Main"}, {"type": "Network", "name": "lan", "virtualMachineMACAddressName": "copycat"}]))
        stuck = dvp.wait("virtualmachines", "stuck", lambda o: condition(o, "VirtualMachineMACAddressReady"))
        assert condition(stuck, "VirtualMachineMACAddressReady")["status"] == "False"
        assert "lan" in condition(stuck, "VirtualMachineMACAddressReady")["message"]

        dvp.delete("virtualmachines", "net")
        dvp.wait_gone("virtualmachinemacaddresses", generated["metadata"]["name"])
        dvp.wait_gone("virtualmachinemacaddressleases", "mac-" + lan["macAddress"].replace(":", "-"))
        assert dvp.wait_phase("virtualmachinemacaddresses", "fixed", "Bound")
    finally:
        stop_sim(sim)
