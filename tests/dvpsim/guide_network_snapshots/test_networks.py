"""The user guide's "IP addresses of virtual machines" and "Additional network interfaces", driven the way the
guide does it (kubectl for its `d8 k` commands, its own YAML where it gives some)."""

import json
import re
import shutil

import pytest
from kubernetes import client

from tests.dvpsim.guide_examples import GUIDE
from tests.kube import blank_disk, condition
from tests.kubectl import KUBECTL, kubectl
from tests.dvpsim.guide_network_snapshots.helpers import (
    api_groups,
    apply,
    assignable,
    finished,
    free_address,
    get_json,
    guide_yaml,
    operation,
    project_network,
    running_vm,
    SDN,
    small_vm,
    stopped_vm,
    table,
    wait_until,
)


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


# ---- IP addresses of virtual machines ------------------------------------------------------------------------------

def test_it_gives_a_new_vm_an_address_from_the_cidrs_and_lists_it_like_the_guide(sim, dvp):
    vm = running_vm(dvp, "linux-vm")
    ip_name = kubectl(sim, "get", "vm", "linux-vm", "-n", dvp.namespace,
                      "-o", "jsonpath={.status.virtualMachineIPAddressName}").stdout
    assert ip_name == "linux-vm"  # dvp-api-notes §4.5: the Auto VMIP is named like the VM (the guide: <vm>-<hash>)
    address = vm["status"]["ipAddress"]
    assert assignable(address), address  # from virtualMachineCIDRs, never a subnet's first or last address

    vmip = dvp.wait_phase("virtualmachineipaddresses", ip_name, "Attached")
    assert vmip["spec"]["type"] == "Auto"
    assert vmip["metadata"]["ownerReferences"][0]["name"] == "linux-vm"  # it goes with the VM
    header, rows = table(kubectl(sim, "get", "vmip", "-n", dvp.namespace).stdout)
    assert header == ["NAME", "ADDRESS", "STATUS", "VM", "AGE"]
    assert [ip_name, address, "Attached", "linux-vm"] in [row[:4] for row in rows]

    lease = "ip-" + address.replace(".", "-")
    header, rows = table(kubectl(sim, "get", "vmipl", lease).stdout)
    assert header == ["NAME", "VIRTUALMACHINEIPADDRESS", "STATUS", "AGE"]
    assert rows[0][:3] == [lease, json.dumps({"name": ip_name, "namespace": dvp.namespace}, separators=(",", ":")),
                           "Bound"]


def test_it_refuses_a_subnets_network_and_broadcast_addresses(sim, dvp):
    for name, address in (("first-address", "10.66.30.0"), ("last-address", "10.66.30.255")):
        apply(sim, dvp.namespace, guide_yaml("VirtualMachineIPAddress", **{
            "linux-vm-custom-ip": name, "10.66.20.77": address}))
        refused = dvp.wait("virtualmachineipaddresses", name, lambda o: condition(o, "Bound") is not None)
        assert refused["status"]["phase"] == "Pending"
        assert condition(refused, "Bound")["reason"] == "VirtualMachineIPAddressIsOutOfTheValidRange"
        assert dvp.find("virtualmachineipaddressleases", "ip-" + address.replace(".", "-")) is None


def test_it_binds_the_requested_address_and_gives_it_to_the_vm_that_names_it(sim, dvp):
    address = free_address(dvp, "10.66.20.77")
    apply(sim, dvp.namespace, guide_yaml("VirtualMachineIPAddress", **{"10.66.20.77": address}))
    bound = dvp.wait_phase("virtualmachineipaddresses", "linux-vm-custom-ip", "Bound")
    assert bound["status"]["address"] == address
    assert not bound["metadata"].get("ownerReferences")

    vm = running_vm(dvp, "custom-ip-vm", virtualMachineIPAddressName="linux-vm-custom-ip")
    assert vm["status"]["ipAddress"] == address
    assert vm["status"]["virtualMachineIPAddressName"] == "linux-vm-custom-ip"
    attached = dvp.wait_phase("virtualmachineipaddresses", "linux-vm-custom-ip", "Attached")
    assert attached["status"]["virtualMachineName"] == "custom-ip-vm"
    assert dvp.find("virtualmachineipaddresses", "custom-ip-vm") is None  # no Auto address besides
    dvp.delete("virtualmachines", "custom-ip-vm")
    dvp.wait_gone("virtualmachines", "custom-ip-vm", timeout=30)


def test_it_refuses_a_requested_address_for_a_vm_without_the_main_network(dvp):
    with pytest.raises(client.ApiException) as refused:
        dvp.create("virtualmachines", small_vm("no-main", virtualMachineIPAddressName="linux-vm-custom-ip",
                                               networks=[{"type": "ClusterNetwork", "name": "corp-net"}]))
    assert refused.value.status == 403
    assert "spec.virtualMachineIPAddressName cannot be set without Main network type in spec.networks" in \
        refused.value.body


def test_it_keeps_the_address_of_a_deleted_vm_once_the_owner_references_are_removed(sim, dvp):
    vm = running_vm(dvp, "keeper")
    ip_name = kubectl(sim, "get", "vm", "keeper", "-n", dvp.namespace,
                      "-o", "jsonpath={.status.virtualMachineIPAddressName}").stdout
    address = vm["status"]["ipAddress"]
    kubectl(sim, "patch", "vmip", ip_name, "-n", dvp.namespace, "--type=merge",
            "--patch", '{"metadata":{"ownerReferences":null}}')
    assert not dvp.get("virtualmachineipaddresses", ip_name)["metadata"].get("ownerReferences")
    kubectl(sim, "delete", "vm", "keeper", "-n", dvp.namespace, "--wait=false")
    dvp.wait_gone("virtualmachines", "keeper", timeout=30)
    kept = dvp.wait_phase("virtualmachineipaddresses", ip_name, "Bound")
    assert kept["status"]["address"] == address and "virtualMachineName" not in kept["status"]
    with pytest.raises(client.ApiException) as refused:  # a new VM of that name must say it wants that address
        dvp.create("virtualmachines", small_vm("keeper"))
    assert refused.value.status == 403
    assert ("VirtualMachineIPAddress with the name of the virtual machine already exists: set "
            f"spec.virtualMachineIPAddress field to keeper to use IP {address}") in refused.value.body

    reborn = running_vm(dvp, "reborn", disk="keeper-root", virtualMachineIPAddressName=ip_name)
    assert reborn["status"]["ipAddress"] == address
    assert dvp.wait_phase("virtualmachineipaddresses", ip_name, "Attached")["status"]["virtualMachineName"] == "reborn"
    dvp.delete("virtualmachines", "reborn")
    dvp.wait_gone("virtualmachines", "reborn", timeout=30)


def test_it_releases_the_address_of_a_deleted_vm_and_lets_the_project_request_it_again(sim, dvp):
    vm = running_vm(dvp, "gone")
    address, lease = vm["status"]["ipAddress"], "ip-" + vm["status"]["ipAddress"].replace(".", "-")
    kubectl(sim, "delete", "vm", "gone", "-n", dvp.namespace, "--wait=false")
    dvp.wait_gone("virtualmachineipaddresses", "gone", timeout=30)  # the vmip goes with the VM
    released = dvp.wait("virtualmachineipaddressleases", lease, lambda o: o["status"]["phase"] == "Released")
    assert released["spec"]["virtualMachineIPAddressRef"]["namespace"] == dvp.namespace
    assert "Released" in table(kubectl(sim, "get", "vmipl", lease).stdout)[1][0]

    apply(sim, dvp.namespace, guide_yaml("VirtualMachineIPAddress", **{
        "linux-vm-custom-ip": "gone-again", "10.66.20.77": address}))  # the guide's re-request
    again = dvp.wait_phase("virtualmachineipaddresses", "gone-again", "Bound")
    assert again["status"]["address"] == address
    lease_now = dvp.get("virtualmachineipaddressleases", lease)
    assert lease_now["status"]["phase"] == "Bound"
    assert lease_now["spec"]["virtualMachineIPAddressRef"] == {"name": "gone-again", "namespace": dvp.namespace}


# ---- Additional network interfaces ---------------------------------------------------------------------------------

def test_it_serves_the_sdn_modules_networks(sim, dvp):
    resources = {r["name"]: r for r in get_json(sim, f"/apis/{SDN[0]}/{SDN[1]}")["resources"]}
    assert resources["networks"]["namespaced"] and not resources["clusternetworks"]["namespaced"]
    # We have no CRD of the sdn module: whatever spec is sent is kept.
    spec = {"type": "Access", "parentNodeNetworkInterfaces": {"labelSelector": {"matchLabels": {"a": "b"}}}}
    assert project_network(dvp, spec=spec)["spec"] == spec
    network = wait_until(lambda: dvp.custom.get_namespaced_custom_object(*SDN, dvp.namespace, "networks", "user-net"),
                         lambda o: (o.get("status") or {}).get("phase") == "Ready")
    assert condition(network, "Ready")["status"] == "True"
    header, rows = table(kubectl(sim, "get", "networks", "-n", dvp.namespace).stdout)
    assert header == ["NAME", "PHASE", "READY", "AGE"] and rows[0][:3] == ["user-net", "Ready", "True"]
    header, rows = table(kubectl(sim, "get", "clusternetworks", "corp-net").stdout)  # the demo's cluster network
    assert rows[0][:3] == ["corp-net", "Ready", "True"]
    apply(sim, dvp.namespace, "apiVersion: network.deckhouse.io/v1alpha1\nkind: Network\n"
                              "metadata:\n  name: scratch-net\nspec: {}\n")
    kubectl(sim, "patch", "network", "scratch-net", "-n", dvp.namespace, "--type=merge",
            "-p", '{"metadata":{"labels":{"tier":"lab"}}}')
    described = kubectl(sim, "describe", "network", "scratch-net", "-n", dvp.namespace).stdout
    assert "tier=lab" in described and "Kind:         Network" in described
    kubectl(sim, "delete", "network", "scratch-net", "-n", dvp.namespace)
    assert kubectl(sim, "get", "network", "scratch-net", "-n", dvp.namespace, check=False).returncode == 1
    assert "Ready" in [e.reason for e in dvp.events_about("user-net")]
    # Project members read their project's networks and the cluster networks (the console's "Add network" form).
    alice = client.CustomObjectsApi(sim.api("alice"))
    assert [n["metadata"]["name"] for n in alice.list_namespaced_custom_object(*SDN, "project-a", "networks")
            ["items"]] == ["user-net"]
    assert "corp-net" in [n["metadata"]["name"] for n in alice.list_cluster_custom_object(*SDN, "clusternetworks")
                          ["items"]]


def test_it_hides_the_networks_while_the_sdn_module_is_disabled(sim, dvp):
    project_network(dvp)
    stopped_vm(dvp, "sdn-user", networks=[{"type": "Main"}, {"type": "Network", "name": "user-net"}])
    modules = client.CustomObjectsApi(sim.api("admin"))
    modules.patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "sdn", {"spec": {"enabled": False}})
    try:
        off = dvp.wait("virtualmachines", "sdn-user",
                       lambda o: (condition(o, "NetworkReady") or {}).get("reason") == "SDNModuleDisabled")
        assert condition(off, "NetworkReady")["message"] == "For additional network interfaces, please enable SDN module"
        operation(dvp, "sdn-user-start", "Start", "sdn-user")
        held = dvp.wait_phase("virtualmachines", "sdn-user", "Pending")  # it cannot start without the module
        assert condition(held, "Running")["message"] == "Waiting for the dependent resources to be ready."
        assert SDN[0] not in api_groups(sim)
        with pytest.raises(client.ApiException) as missing:
            dvp.custom.list_cluster_custom_object(*SDN, "clusternetworks")
        assert missing.value.status == 404
        with pytest.raises(client.ApiException) as refused:
            dvp.create("virtualmachines", small_vm("no-sdn", networks=[{"type": "Main"},
                                                                       {"type": "Network", "name": "user-net"}]))
        assert refused.value.status == 403 and "requires SDN module to be enabled" in refused.value.body
    finally:
        modules.patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "sdn",
                                            {"spec": {"enabled": True}})
    assert SDN[0] in api_groups(sim)
    assert condition(dvp.wait_phase("virtualmachines", "sdn-user", "Running", timeout=30), "NetworkReady")["status"] \
        == "True"
    dvp.delete("virtualmachines", "sdn-user")


def test_it_refuses_to_add_a_network_that_does_not_exist_but_not_to_create_with_one(dvp):
    """networks_validator.go checks existence only for the networks an update adds."""
    networks = [{"type": "Main"}, {"type": "ClusterNetwork", "name": "no-such-net"}]
    dvp.create("virtualmachines", small_vm("lost", networks=networks, runPolicy="AlwaysOff"))
    for added, words in (({"type": "ClusterNetwork", "name": "also-missing"},
                          'ClusterNetwork \\"also-missing\\" referenced in spec.networks does not exist'),
                         ({"type": "Network", "name": "no-such-net"},
                          f'network \\"no-such-net\\" referenced in spec.networks does not exist in namespace '
                          f'\\"{dvp.namespace}\\"')):
        with pytest.raises(client.ApiException) as refused:
            dvp.patch("virtualmachines", "lost", {"spec": {"networks": networks + [added]}})
        assert refused.value.status == 403 and words in refused.value.body, refused.value.body
    dvp.delete("virtualmachines", "lost")


def test_it_connects_the_guides_networks_with_a_mac_address_each(sim, dvp):
    project_network(dvp)
    project_network(dvp, "second-net")
    guides = [{"type": "Main"}, {"type": "Network", "name": "user-net"}, {"type": "Network", "name": "user-net"},
              {"type": "ClusterNetwork", "name": "corp-net"}]  # the guide's last example
    # "It is allowed to connect a VM to the same network multiple times", says the guide; DVP's networks_validator.go
    # refuses it since "prohibit duplicating networks in the VirtualMachine .spec" (#1545). dvpsim follows the code.
    with pytest.raises(client.ApiException) as refused:
        dvp.create("virtualmachines", small_vm("vm-01", networks=guides))
    assert refused.value.status == 403 and "network Network:user-net is duplicated" in refused.value.body
    networks = [{"type": "Main"}, {"type": "Network", "name": "user-net"}, {"type": "Network", "name": "second-net"},
                {"type": "ClusterNetwork", "name": "corp-net"}]
    running_vm(dvp, "vm-01", networks=networks)
    vm = dvp.wait("virtualmachines", "vm-01", lambda o: all(n.get("macAddress") for n in o["status"]["networks"][1:]))
    assert condition(vm, "NetworkReady")["status"] == "True" and condition(vm, "NetworkReady")["reason"] == "NetworkReady"
    assert vm["status"]["networks"][0] == {"type": "Main", "id": 1}
    reported = vm["status"]["networks"]
    assert [(n["type"], n.get("name")) for n in reported] == [(n["type"], n.get("name")) for n in networks]
    assert "macAddress" not in reported[0]
    assert [n["id"] for n in vm["spec"]["networks"]] == [1, 2, 3, 4]  # the bus order of the list
    macs = [n["macAddress"] for n in reported[1:]]
    assert len(set(macs)) == 3
    for mac in macs:  # x2/x6/xA/xE-xx-…: the first three octets come from the cluster, the last three are random
        assert re.fullmatch(r"[0-9a-f][26ae](:[0-9a-f]{2}){5}", mac), mac
    assert len({mac[:8] for mac in macs}) == 1

    vmmacs = [n["virtualMachineMACAddressName"] for n in reported[1:]]
    assert all(re.fullmatch(r"vm-01-[a-z0-9]{5}", name) for name in vmmacs), vmmacs
    for name, mac in zip(vmmacs, macs):
        attached = dvp.wait_phase("virtualmachinemacaddresses", name, "Attached")
        assert attached["status"]["address"] == mac and attached["status"]["virtualMachineName"] == "vm-01"
    header, rows = table(kubectl(sim, "get", "vmmac", "-n", dvp.namespace).stdout)
    assert header == ["NAME", "ADDRESS", "STATUS", "VM", "AGE"]
    assert sorted(row[:4] for row in rows if row[0] in vmmacs) == sorted(
        [name, mac, "Attached", "vm-01"] for name, mac in zip(vmmacs, macs))
    header, rows = table(kubectl(sim, "get", "vmmacl").stdout)
    assert header == ["NAME", "VIRTUALMACHINEMACADDRESS", "STATUS", "AGE"]
    leases = {row[0]: row for row in rows}
    for name, mac in zip(vmmacs, macs):
        row = leases["mac-" + mac.replace(":", "-")]
        assert row[1:3] == [json.dumps({"name": name, "namespace": dvp.namespace}, separators=(",", ":")), "Bound"]


def test_it_changes_the_networks_of_a_running_vm_only_after_a_restart_and_then_releases_a_removed_ones_mac(dvp):
    vm = dvp.find("virtualmachines", "vm-01") or pytest.fail("needs the VM of the previous test")
    main, first, second, corp = vm["status"]["networks"]
    project_network(dvp, "lab-net")
    # The list as `kubectl apply` sends it, without ids: corp-net removed, lab-net added last.
    dvp.patch("virtualmachines", "vm-01", {"spec": {"networks": [
        {"type": "Main"}, {"type": "Network", "name": "user-net"}, {"type": "Network", "name": "second-net"},
        {"type": "Network", "name": "lab-net"}]}})
    spec = dvp.get("virtualmachines", "vm-01")["spec"]["networks"]
    assert [n["id"] for n in spec] == [1, 2, 3, 5]  # kept ids; the new one does not take corp-net's 4
    waiting = dvp.wait("virtualmachines", "vm-01", lambda o: len(o["status"]["networks"]) == 5)
    assert [c["path"] for c in waiting["status"].get("restartAwaitingChanges") or []] == ["networks"]
    assert condition(waiting, "AwaitingRestartToApplyConfiguration")["status"] == "True"
    lab, retained = waiting["status"]["networks"][3:]
    assert waiting["status"]["networks"][:3] == [main, first, second]
    assert (lab["type"], lab["name"], lab.get("macAddress")) == ("Network", "lab-net", None)  # not attached yet
    assert retained == corp  # still attached until the restart, its MAC address still reserved
    assert dvp.get("virtualmachinemacaddresses", corp["virtualMachineMACAddressName"])
    reserved = dvp.wait("virtualmachinemacaddresses", lab["virtualMachineMACAddressName"],
                        lambda o: (o.get("status") or {}).get("address"))["status"]["address"]

    operation(dvp, "vm-01-restart", "Restart", "vm-01")
    assert finished(dvp, "vm-01-restart")["status"]["phase"] == "Completed"
    restarted = dvp.wait("virtualmachines", "vm-01", lambda o: o["status"]["phase"] == "Running"
                         and len(o["status"]["networks"]) == 4 and o["status"]["networks"][3].get("macAddress"),
                         timeout=30)
    assert not restarted["status"].get("restartAwaitingChanges")
    assert [(n["type"], n.get("name"), n.get("macAddress")) for n in restarted["status"]["networks"]] == [
        ("Main", None, None), ("Network", "user-net", first["macAddress"]),
        ("Network", "second-net", second["macAddress"]), ("Network", "lab-net", reserved)]
    # The removed network's MAC address is released: its vmmac and lease go.
    dvp.wait_gone("virtualmachinemacaddresses", corp["virtualMachineMACAddressName"])
    dvp.wait_gone("virtualmachinemacaddressleases", "mac-" + corp["macAddress"].replace(":", "-"))
    dvp.delete("virtualmachines", "vm-01")
    for n in restarted["status"]["networks"][1:]:  # the VM's own vmmacs go with it
        dvp.wait_gone("virtualmachinemacaddresses", n["virtualMachineMACAddressName"], timeout=30)


def test_it_says_which_networks_a_vm_waits_for(dvp):
    dvp.create("virtualdisks", blank_disk("waits-root"))
    dvp.create("virtualmachines", small_vm("waits", runPolicy="AlwaysOff", networks=[
        {"type": "Main"}, {"type": "Network", "name": "later-net"}, {"type": "ClusterNetwork", "name": "corp-net"}]))
    waiting = dvp.wait("virtualmachines", "waits", lambda o: condition(o, "NetworkReady") is not None)
    assert condition(waiting, "NetworkReady")["status"] == "False"
    assert condition(waiting, "NetworkReady")["reason"] == "NetworkNotReady"
    assert condition(waiting, "NetworkReady")["message"] == \
        "Waiting for the following networks to become Ready: Network/later-net"
    project_network(dvp, "later-net")
    stopped = dvp.wait("virtualmachines", "waits", lambda o: (condition(o, "NetworkReady") or {}).get("message")
                       == "Waiting for the pod to be created.")  # the networks are Ready; a stopped VM has no pod
    assert condition(stopped, "NetworkReady")["reason"] == "NetworkNotReady"
    assert condition(dvp.find("virtualmachines", "linux-vm") or {"status": {}}, "NetworkReady") is None  # Main only
