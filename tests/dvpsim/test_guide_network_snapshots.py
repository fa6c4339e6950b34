"""The user guide's "Network configuration", "Snapshots" and "Creating a VM clone" sections, driven the way the guide
does it (kubectl for its `d8 k` commands, its own YAML where it gives some) against the shared demo cluster.

Behaviours asserted elsewhere over HTTP and not repeated here: the 10-minute retention of a released IP lease under a
stepped clock (test_ip_mac), keepIPAddress Always converting the Auto address to Static and the consistency rules of
VM snapshots (test_vm_snapshots), disk snapshots waiting for a missing disk or for the agent (test_disk_snapshots),
restore in maintenance mode and of MAC addresses, clones of a running VM, VMSOP (test_restore_clone).
"""

import ipaddress
import json
import re
import shutil
import time
import urllib.request

import pytest
import yaml
from kubernetes import client

from tests.dvpsim.guide_examples import GUIDE, examples
from tests.kube import GUIDE_USER_DATA, Dvp, blank_disk, condition, fresh_namespace, vm_body
from tests.kubectl import KUBECTL, kubectl

CIDRS = [ipaddress.ip_network(c) for c in ("10.66.10.0/24", "10.66.20.0/24", "10.66.30.0/24")]  # the demo's
AGENT_USER_DATA = GUIDE_USER_DATA + "packages:\n  - qemu-guest-agent\n"
SDN = ("network.deckhouse.io", "v1alpha1")
SECTION = (2349, 2896)  # the guide's lines these tests narrate

pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "guidenet"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def table(output):
    """kubectl table output as (header, rows), split on runs of two or more spaces."""
    lines = [line for line in output.splitlines() if line.strip()]
    return re.split(r"\s{2,}", lines[0].strip()), [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def guide_yaml(kind, **replace):
    """The guide's own manifest of `kind` in the narrated lines (its `$(date +%s)` made concrete)."""
    for line, _verb, text in examples():
        if SECTION[0] <= line <= SECTION[1] and yaml.safe_load(text.replace("$(date +%s)", "0")).get("kind") == kind:
            text = text.replace("$(date +%s)", "1728027905")
            for old, new in replace.items():
                text = text.replace(old, new)
            return text
    raise AssertionError(f"no {kind} example in the guide's lines {SECTION}")


def apply(sim, namespace, text):
    return kubectl(sim, "apply", "-n", namespace, "-f", "-", stdin=text).stdout


def small_vm(name, **spec):
    """A VM as the guide's linux-vm, with a 10% CPU share (the shared cluster's nodes are not endless)."""
    body = vm_body(name, **spec)
    body["spec"]["cpu"]["coreFraction"] = "10%"
    return body


def running_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", small_vm(name, **spec))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


def stopped_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", small_vm(name, **{"runPolicy": "Manual", **spec}))  # Manual: created Stopped
    dvp.wait_phase("virtualdisks", f"{name}-root", "Ready")
    return dvp.wait_phase("virtualmachines", name, "Stopped", timeout=30)


def assignable(address):
    ip = ipaddress.ip_address(address)
    return any(ip in net and ip not in (net.network_address, net.broadcast_address) for net in CIDRS)


def free_address(dvp, preferred):
    """The guide's address if no lease holds it (other tests of the session may have taken it), else a free one."""
    taken = {i["metadata"]["name"] for i in dvp.custom.list_cluster_custom_object(
        "virtualization.deckhouse.io", "v1alpha2", "virtualmachineipaddressleases")["items"]}
    for candidate in [preferred] + [f"10.66.20.{i}" for i in range(200, 250)]:
        if "ip-" + candidate.replace(".", "-") not in taken:
            return candidate
    raise AssertionError("no free address left in 10.66.20.200-249")


def operation(dvp, name, type_, vm, **spec):
    return dvp.create("virtualmachineoperations", {"metadata": {"name": name},
                                                   "spec": {"type": type_, "virtualMachineName": vm, **spec}})


def wait_until(read, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = read()
        if predicate(obj):
            return obj
        time.sleep(0.05)
    raise AssertionError(f"timed out; last seen: {obj}")


def finished(dvp, name, timeout=30):
    return dvp.wait("virtualmachineoperations", name,
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=timeout)


def snapshot_of(dvp, name, vm, **spec):
    dvp.create("virtualmachinesnapshots", {"metadata": {"name": name}, "spec": {"virtualMachineName": vm, **spec}})
    return dvp.wait_phase("virtualmachinesnapshots", name, "Ready", timeout=30)


def get_json(sim, path, user="admin"):
    request = urllib.request.Request(f"{sim.url}{path}", headers={"Authorization": f"Bearer {sim.token(user)}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def api_groups(sim):
    return [g["name"] for g in get_json(sim, "/apis")["groups"]]


def project_network(dvp, name="user-net", spec=None):
    """A project Network of the sdn module in the test namespace (created once)."""
    try:
        return dvp.custom.get_namespaced_custom_object(*SDN, dvp.namespace, "networks", name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    return dvp.custom.create_namespaced_custom_object(*SDN, dvp.namespace, "networks", {
        "apiVersion": "/".join(SDN), "kind": "Network", "metadata": {"name": name}, "spec": spec or {}})


def resources_of(op):
    return {(r["kind"], r["name"]): r for r in op["status"].get("resources") or []}


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


# ---- Disk snapshots -------------------------------------------------------------------------------------------------

def test_it_snapshots_a_free_disk_with_the_guides_manifest_and_restores_a_disk_from_it(sim, dvp):
    dvp.create("virtualdisks", blank_disk("linux-vm-root-free", size="10Gi"))
    dvp.wait_phase("virtualdisks", "linux-vm-root-free", "Ready")
    apply(sim, dvp.namespace, guide_yaml("VirtualDiskSnapshot", **{"virtualDiskName: linux-vm-root":
                                                                    "virtualDiskName: linux-vm-root-free"}))
    name = "linux-vm-root-1728027905"
    snapshot = dvp.wait_phase("virtualdisksnapshots", name, "Ready")
    assert snapshot["spec"]["requiredConsistency"] is True and snapshot["status"]["consistent"] is True
    header, rows = table(kubectl(sim, "get", "vdsnapshot", name, "-n", dvp.namespace).stdout)
    assert header == ["NAME", "PHASE", "CONSISTENT", "AGE"] and rows[0][:3] == [name, "Ready", "true"]

    disk_yaml = guide_yaml("VirtualDisk").replace("name: linux-vm-root\n", "name: linux-vm-root-restored\n", 1)
    assert "kind: VirtualDiskSnapshot" in disk_yaml and "i-sds-replicated-thin-r2" in disk_yaml
    apply(sim, dvp.namespace, disk_yaml)
    restored = dvp.wait_phase("virtualdisks", "linux-vm-root-restored", "Ready")
    assert restored["status"]["capacity"] == "10Gi"
    assert restored["status"]["storageClassName"] == "i-sds-replicated-thin-r2"
    assert restored["spec"]["dataSource"]["objectRef"] == {"kind": "VirtualDiskSnapshot", "name": name}


def test_it_snapshots_the_disk_of_a_stopped_vm_consistently(dvp):
    stopped_vm(dvp, "sleeper")
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "sleeper-snap"},
                                        "spec": {"virtualDiskName": "sleeper-root", "requiredConsistency": True}})
    assert dvp.wait_phase("virtualdisksnapshots", "sleeper-snap", "Ready")["status"]["consistent"] is True


def test_it_freezes_a_running_vm_with_the_agent_for_a_consistent_disk_snapshot(sim, dvp):
    running_vm(dvp, "agent-vm", user_data=AGENT_USER_DATA)
    dvp.wait("virtualmachines", "agent-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    speed = sim.control("clock")["speed"]
    sim.control("clock", {"speed": 0.5})  # the 2-second snapshot takes 4 s: time to see it InProgress
    try:
        dvp.create("virtualdisksnapshots", {"metadata": {"name": "agent-snap"},
                                            "spec": {"virtualDiskName": "agent-vm-root", "requiredConsistency": True}})
        in_progress = dvp.wait_phase("virtualdisksnapshots", "agent-snap", "InProgress")
    finally:
        sim.control("clock", {"speed": speed})
    assert condition(in_progress, "VirtualDiskSnapshotReady")["message"] == \
        "The file systems are frozen: the snapshot is being taken."
    assert dvp.wait_phase("virtualdisksnapshots", "agent-snap", "Ready")["status"]["consistent"] is True


def test_it_takes_an_inconsistent_disk_snapshot_of_a_running_vm_when_consistency_is_not_required(sim, dvp):
    running_vm(dvp, "no-agent", user_data=None)
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "must-be-consistent"},
                                        "spec": {"virtualDiskName": "no-agent-root"}})  # requiredConsistency: true
    waiting = dvp.wait("virtualdisksnapshots", "must-be-consistent",
                       lambda o: condition(o, "VirtualDiskSnapshotReady") is not None)
    assert waiting["status"]["phase"] == "Pending"
    assert condition(waiting, "VirtualDiskSnapshotReady")["reason"] == "PotentiallyInconsistent"
    dvp.create("virtualdisksnapshots", {"metadata": {"name": "test-only"},
                                        "spec": {"virtualDiskName": "no-agent-root", "requiredConsistency": False}})
    ready = dvp.wait_phase("virtualdisksnapshots", "test-only", "Ready")
    assert not ready["status"].get("consistent")
    assert table(kubectl(sim, "get", "vds", "test-only", "-n", dvp.namespace).stdout)[1][0][:2] == ["test-only", "Ready"]


# ---- VM snapshots ---------------------------------------------------------------------------------------------------

def test_it_snapshots_a_vm_with_the_guides_manifest_and_lists_the_saved_resources(sim, dvp):
    dvp.core.create_namespaced_secret(dvp.namespace, {
        "metadata": {"name": "cloud-init"}, "type": "provisioning.virtualization.deckhouse.io/cloud-init",
        "stringData": {"userData": AGENT_USER_DATA}})
    for plural, name in (("virtualmachines", "linux-vm"), ("virtualdisks", "linux-vm-root")):  # the IP tests' VM
        if dvp.find(plural, name) is not None:
            dvp.delete(plural, name)
            dvp.wait_gone(plural, name, timeout=30)
    dvp.create("virtualdisks", blank_disk("linux-vm-root"))
    dvp.create("virtualmachines", small_vm("linux-vm", user_data=None, provisioning={
        "type": "UserDataRef", "userDataRef": {"kind": "Secret", "name": "cloud-init"}}))
    dvp.wait_phase("virtualmachines", "linux-vm", "Running", timeout=30)
    dvp.wait("virtualmachines", "linux-vm", lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")

    apply(sim, dvp.namespace, guide_yaml("VirtualMachineSnapshot"))
    snapshot = dvp.wait_phase("virtualmachinesnapshots", "linux-vm-snapshot", "Ready", timeout=30)
    assert snapshot["spec"] == {"virtualMachineName": "linux-vm", "requiredConsistency": True,
                                "keepIPAddress": "Never"}
    assert snapshot["status"]["consistent"] is True
    assert [(r["apiVersion"], r["kind"], r["name"]) for r in snapshot["status"]["resources"]] == [
        ("virtualization.deckhouse.io/v1alpha2", "VirtualMachine", "linux-vm"),
        ("v1", "Secret", "cloud-init"),
        ("virtualization.deckhouse.io/v1alpha2", "VirtualDisk", "linux-vm-root")]
    assert dvp.wait_phase("virtualmachineipaddresses", "linux-vm", "Attached")["spec"]["type"] == "Auto"  # Never
    header, rows = table(kubectl(sim, "get", "vms", "-n", dvp.namespace).stdout)  # vms = VirtualMachineSnapshot
    assert header == ["NAME", "PHASE", "CONSISTENT", "AGE"] and rows[0][:3] == ["linux-vm-snapshot", "Ready", "true"]


def test_it_holds_the_snapshot_of_a_vm_back_while_its_disk_is_resizing(sim, dvp):
    stopped_vm(dvp, "grower")
    speed = sim.control("clock")["speed"]
    sim.control("clock", {"speed": 0.2})  # the 2-second resize takes 10 s: time to look at the snapshot meanwhile
    try:
        dvp.patch("virtualdisks", "grower-root", {"spec": {"persistentVolumeClaim": {"size": "3Gi"}}})
        dvp.wait_phase("virtualdisks", "grower-root", "Resizing")
        dvp.create("virtualmachinesnapshots", {"metadata": {"name": "grower-snap"},
                                               "spec": {"virtualMachineName": "grower"}})
        waiting = dvp.wait("virtualmachinesnapshots", "grower-snap",
                           lambda o: condition(o, "VirtualMachineSnapshotReady") is not None)
        assert dvp.get("virtualdisks", "grower-root")["status"]["phase"] == "Resizing"
    finally:
        sim.control("clock", {"speed": speed})
    assert waiting["status"]["phase"] == "Pending"
    assert condition(waiting, "VirtualMachineSnapshotReady")["reason"] == "BlockDevicesNotReady"
    assert condition(waiting, "VirtualMachineSnapshotReady")["message"] == \
        'Virtual disk is in the process of resizing: waiting for the virtual disk "grower-root" to be resized.'
    assert dvp.wait_phase("virtualmachinesnapshots", "grower-snap", "Ready", timeout=30)


def test_it_saves_the_changes_awaiting_a_restart_in_the_snapshot(dvp):
    running_vm(dvp, "pending-change", user_data=AGENT_USER_DATA)
    dvp.wait("virtualmachines", "pending-change",
             lambda o: (condition(o, "AgentReady") or {}).get("status") == "True")
    dvp.patch("virtualmachines", "pending-change", {"spec": {"memory": {"size": "2Gi"}}})
    dvp.wait("virtualmachines", "pending-change", lambda o: o["status"].get("restartAwaitingChanges"))
    snapshot_of(dvp, "pending-change-snap", "pending-change")
    assert dvp.get("virtualmachines", "pending-change")["status"]["restartAwaitingChanges"]  # still waiting
    # A VM created from the snapshot gets the updated configuration.
    dvp.create("virtualmachinesnapshotoperations", {"metadata": {"name": "from-snap"}, "spec": {
        "type": "CreateVirtualMachine", "virtualMachineSnapshotName": "pending-change-snap",
        "createVirtualMachine": {"mode": "Strict", "customization": {"namePrefix": "new-"}}}})
    done = dvp.wait("virtualmachinesnapshotoperations", "from-snap",
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=30)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert dvp.get("virtualmachines", "new-pending-change")["spec"]["memory"]["size"] == "2Gi"
    dvp.delete("virtualmachines", "new-pending-change")
    dvp.delete("virtualmachines", "pending-change")


# ---- Restore --------------------------------------------------------------------------------------------------------

def test_it_dry_runs_a_restore_and_reports_the_conflicts_in_status_resources(sim, dvp):
    stopped_vm(dvp, "origin")
    snapshot_of(dvp, "origin-snap", "origin")  # keepIPAddress Always: the address is saved as Static
    ip_name = dvp.get("virtualmachines", "origin")["status"]["virtualMachineIPAddressName"]
    # Another VM takes the disk.
    dvp.create("virtualmachines", small_vm("thief", disk="origin-root", runPolicy="Manual"))
    dvp.wait_phase("virtualmachines", "thief", "Stopped", timeout=30)

    text = ("apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineOperation\n"
            "metadata:\n  name: restore-vm\nspec:\n  type: Restore\n  virtualMachineName: origin\n"
            "  restore:\n    mode: DryRun\n    virtualMachineSnapshotName: origin-snap\n")
    apply(sim, dvp.namespace, text)
    op = finished(dvp, "restore-vm")
    out = json.loads(kubectl(sim, "get", "vmop", "restore-vm", "-n", dvp.namespace, "-o", "json").stdout)
    resources = resources_of(out)
    assert resources[("VirtualDisk", "origin-root")]["status"] == "Failed"
    assert 'in use by the virtual machine "thief"' in resources[("VirtualDisk", "origin-root")]["message"]
    assert resources[("VirtualMachine", "origin")]["status"] == "Completed"
    assert resources[("VirtualMachineIPAddress", ip_name)]["status"] == "Completed"
    assert op["status"]["phase"] == "Completed"  # the dry run itself succeeds and says what the restore would do
    assert condition(op, "Completed")["message"].startswith("The restore would fail: ")
    assert dvp.get("virtualmachines", "origin")["status"]["phase"] == "Stopped"  # nothing was touched

    dvp.delete("virtualmachines", "thief")
    dvp.wait_gone("virtualmachines", "thief", timeout=30)
    op = finished(dvp, operation(dvp, "restore-vm-again", "Restore", "origin", restore={
        "mode": "DryRun", "virtualMachineSnapshotName": "origin-snap"})["metadata"]["name"])
    assert op["status"]["phase"] == "Completed"
    assert {r["status"] for r in op["status"]["resources"]} == {"Completed"}


def test_it_reports_an_ip_address_of_the_snapshot_taken_by_another_vmip_as_a_conflict(dvp):
    stopped_vm(dvp, "addressed")
    snapshot_of(dvp, "addressed-snap", "addressed")  # keepIPAddress Always: vmip "addressed" is now Static
    saved = dvp.get("virtualmachineipaddresses", "addressed")
    assert saved["spec"]["type"] == "Static"
    address = saved["spec"]["staticIP"]
    # The VM moves to another address; its old one is taken by a new vmip of the project.
    dvp.create("virtualmachineipaddresses", {"metadata": {"name": "addressed-new"}, "spec": {"type": "Auto"}})
    dvp.wait_phase("virtualmachineipaddresses", "addressed-new", "Bound")
    dvp.patch("virtualmachines", "addressed", {"spec": {"virtualMachineIPAddressName": "addressed-new"}})
    dvp.delete("virtualmachineipaddresses", "addressed")
    dvp.wait_gone("virtualmachineipaddresses", "addressed")
    dvp.create("virtualmachineipaddresses", {"metadata": {"name": "grabber"},
                                             "spec": {"type": "Static", "staticIP": address}})
    dvp.wait_phase("virtualmachineipaddresses", "grabber", "Bound")

    op = finished(dvp, operation(dvp, "addressed-dry", "Restore", "addressed", restore={
        "mode": "DryRun", "virtualMachineSnapshotName": "addressed-snap"})["metadata"]["name"])
    conflict = resources_of(op)[("VirtualMachineIPAddress", "addressed")]
    assert conflict["status"] == "Failed"
    assert conflict["message"] == (f'The IP address {address} is in use by the virtual machine IP address '
                                   f'"{dvp.namespace}/grabber".')
    op = finished(dvp, operation(dvp, "addressed-strict", "Restore", "addressed", restore={
        "mode": "Strict", "virtualMachineSnapshotName": "addressed-snap"})["metadata"]["name"])
    assert op["status"]["phase"] == "Failed" and condition(op, "Completed")["reason"] == "OperationFailed"
    assert dvp.get("virtualmachines", "addressed")["spec"]["virtualMachineIPAddressName"] == "addressed-new"


def test_it_reports_a_mac_address_of_the_snapshot_used_by_another_vm_as_a_conflict(dvp):
    project_network(dvp)
    dvp.create("virtualmachinemacaddresses", {"metadata": {"name": "shared-mac"}, "spec": {}})
    stopped_vm(dvp, "nic-owner", networks=[{"type": "Main"}, {"type": "Network", "name": "user-net",
                                                              "virtualMachineMACAddressName": "shared-mac"}])
    dvp.wait("virtualmachines", "nic-owner", lambda o: o["status"]["networks"][1].get("macAddress"))
    snapshot_of(dvp, "nic-owner-snap", "nic-owner", keepIPAddress="Never")
    dvp.patch("virtualmachines", "nic-owner", {"spec": {"networks": [{"type": "Main"}]}})
    dvp.create("virtualdisks", blank_disk("nic-taker-root"))
    dvp.create("virtualmachines", small_vm("nic-taker", runPolicy="AlwaysOff", networks=[
        {"type": "Main"}, {"type": "Network", "name": "user-net", "virtualMachineMACAddressName": "shared-mac"}]))
    dvp.wait("virtualmachinemacaddresses", "shared-mac",
             lambda o: (o.get("status") or {}).get("virtualMachineName") == "nic-taker")

    op = finished(dvp, operation(dvp, "nic-owner-dry", "Restore", "nic-owner", restore={
        "mode": "DryRun", "virtualMachineSnapshotName": "nic-owner-snap"})["metadata"]["name"])
    conflict = resources_of(op)[("VirtualMachineMACAddress", "shared-mac")]
    assert conflict["status"] == "Failed"
    assert conflict["message"] == \
        'The virtual machine MAC address "shared-mac" is in use by the virtual machine "nic-taker".'


def test_it_dry_runs_a_vm_from_a_snapshot_and_reports_names_already_taken(dvp):
    stopped_vm(dvp, "source")
    snapshot_of(dvp, "source-snap", "source")
    dvp.create("virtualdisks", blank_disk("taken-disk"))
    dvp.create("virtualmachinesnapshotoperations", {"metadata": {"name": "source-dry"}, "spec": {
        "type": "CreateVirtualMachine", "virtualMachineSnapshotName": "source-snap",
        "createVirtualMachine": {"mode": "DryRun", "nameReplacement": [
            {"from": {"kind": "VirtualDisk", "name": "source-root"}, "to": "taken-disk"},
            {"from": {"kind": "VirtualMachine", "name": "source"}, "to": "copy"}]}}})
    done = dvp.wait("virtualmachinesnapshotoperations", "source-dry",
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=30)
    resources = resources_of(done)
    assert resources[("VirtualMachine", "copy")]["status"] == "Completed"
    assert resources[("VirtualDisk", "taken-disk")]["status"] == "Failed"
    assert resources[("VirtualDisk", "taken-disk")]["message"] == \
        'The VirtualDisk "taken-disk" (the clone of "source-root") already exists.'
    assert dvp.find("virtualmachines", "copy") is None  # a dry run creates nothing


def test_it_refuses_to_restore_a_vm_that_is_not_the_one_of_the_snapshot(dvp):
    stopped_vm(dvp, "twin")
    snapshot_of(dvp, "twin-snap", "twin")
    dvp.delete("virtualmachines", "twin")
    dvp.wait_gone("virtualmachines", "twin", timeout=30)
    dvp.create("virtualmachines", small_vm("twin", runPolicy="Manual"))  # same name, another uid
    dvp.wait_phase("virtualmachines", "twin", "Stopped", timeout=30)
    op = finished(dvp, operation(dvp, "twin-restore", "Restore", "twin", restore={
        "mode": "Strict", "virtualMachineSnapshotName": "twin-snap"})["metadata"]["name"])
    assert op["status"]["phase"] == "Failed"
    assert resources_of(op)[("VirtualMachine", "twin")]["status"] == "Failed"
    assert "is not the one the snapshot was taken of" in resources_of(op)[("VirtualMachine", "twin")]["message"]


def test_it_restores_with_best_effort_without_a_missing_image_and_strictly_with_it(sim, dvp):
    dvp.create("virtualimages", {"metadata": {"name": "tools-iso"}, "spec": {
        "storage": "ContainerRegistry",
        "dataSource": {"type": "HTTP", "http": {"url": f"{sim.url}/dvpsim/samples/alpine-virt.qcow2"}}}})
    dvp.wait_phase("virtualimages", "tools-iso", "Ready", timeout=30)
    dvp.create("virtualdisks", blank_disk("imaged-root"))
    dvp.create("virtualmachines", small_vm("imaged", runPolicy="Manual", blockDeviceRefs=[
        {"kind": "VirtualDisk", "name": "imaged-root"}, {"kind": "VirtualImage", "name": "tools-iso"}]))
    dvp.wait_phase("virtualmachines", "imaged", "Stopped", timeout=30)
    snapshot_of(dvp, "imaged-snap", "imaged")
    dvp.patch("virtualmachines", "imaged", {"spec": {"blockDeviceRefs": [{"kind": "VirtualDisk",
                                                                          "name": "imaged-root"}]}})
    dvp.delete("virtualimages", "tools-iso")
    dvp.wait_gone("virtualimages", "tools-iso", timeout=30)

    op = finished(dvp, operation(dvp, "imaged-best", "Restore", "imaged", restore={
        "mode": "BestEffort", "virtualMachineSnapshotName": "imaged-snap"})["metadata"]["name"])
    assert op["status"]["phase"] == "Completed", op["status"]
    assert [r["kind"] for r in dvp.get("virtualmachines", "imaged")["spec"]["blockDeviceRefs"]] == ["VirtualDisk"]

    op = finished(dvp, operation(dvp, "imaged-strict", "Restore", "imaged", restore={
        "mode": "Strict", "virtualMachineSnapshotName": "imaged-snap"})["metadata"]["name"])
    assert op["status"]["phase"] == "Completed", op["status"]
    vm = dvp.get("virtualmachines", "imaged")  # Strict: exactly as captured, the missing image included
    assert [{k: r[k] for k in ("kind", "name")} for r in vm["spec"]["blockDeviceRefs"]] == [
        {"kind": "VirtualDisk", "name": "imaged-root"}, {"kind": "VirtualImage", "name": "tools-iso"}]
    operation(dvp, "imaged-start", "Start", "imaged")
    pending = dvp.wait_phase("virtualmachines", "imaged", "Pending")  # and stays there waiting for the image
    assert condition(pending, "BlockDevicesReady")["status"] == "False"
    assert 'VirtualImage "tools-iso" not found' in condition(pending, "BlockDevicesReady")["message"]
    dvp.delete("virtualmachines", "imaged")


# ---- Creating a VM clone --------------------------------------------------------------------------------------------

def test_it_clones_a_stopped_vm_with_the_crds_spellings_and_new_addresses(sim, dvp):
    project_network(dvp)
    stopped_vm(dvp, "parent", runPolicy="AlwaysOff", networks=[{"type": "Main"}, {"type": "Network", "name": "user-net"}])
    parent = dvp.wait("virtualmachines", "parent", lambda o: o["status"]["networks"][1].get("macAddress"))
    text = ("apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineOperation\n"
            "metadata:\n  name: clone-dry\nspec:\n  type: Clone\n  virtualMachineName: parent\n  clone:\n"
            "    mode: DryRun\n    nameReplacement:\n      - from:\n          kind: VirtualDisk\n"
            "          name: parent-root\n        to: child-disk\n    customization:\n      namePrefix: c-\n")
    apply(sim, dvp.namespace, text)
    dry = finished(dvp, "clone-dry")
    assert dry["status"]["phase"] == "Completed"
    names = {(r["kind"], r["name"]) for r in dry["status"]["resources"]}
    assert ("VirtualMachine", "c-parent") in names and ("VirtualDisk", "c-child-disk") in names
    assert dvp.find("virtualmachines", "c-parent") is None  # a dry run creates nothing

    apply(sim, dvp.namespace, text.replace("clone-dry", "clone-real").replace("DryRun", "Strict"))
    done = finished(dvp, "clone-real")
    assert done["status"]["phase"] == "Completed", done["status"]
    child = dvp.wait_phase("virtualmachines", "c-parent", "Stopped", timeout=30)
    assert child["spec"]["runPolicy"] == "AlwaysOff"  # the clone inherits the parent's behaviour
    assert child["spec"]["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "c-child-disk"}]
    assert dvp.wait_phase("virtualdisks", "c-child-disk", "Ready")
    child = dvp.wait("virtualmachines", "c-parent", lambda o: o["status"].get("ipAddress")
                     and o["status"]["networks"][1].get("macAddress"))
    assert child["status"]["ipAddress"] != parent["status"]["ipAddress"]  # a new IP address
    assert child["status"]["networks"][1]["macAddress"] != parent["status"]["networks"][1]["macAddress"]  # and MAC
    assert child["status"]["networks"][1]["virtualMachineMACAddressName"].startswith("c-parent-")
    assert dvp.get("virtualmachines", "parent")["status"]["phase"] == "Stopped"


def test_it_refuses_the_guides_plural_name_replacements(sim, dvp):
    guide_spelling = ("apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineOperation\n"
                      "metadata:\n  name: clone-guide-spelling\nspec:\n  type: Clone\n  virtualMachineName: parent\n"
                      "  clone:\n    mode: DryRun\n    nameReplacements:\n      - from:\n          kind: VirtualDisk\n"
                      "          name: parent-root\n      - to:\n          name: child\n")
    # dvp-api-notes §8.2: the CRD says nameReplacement (singular) with a string `to`; the guide's plural is an unknown
    # field: kubectl's default strict validation refuses it by name...
    strict = kubectl(sim, "apply", "-n", dvp.namespace, "-f", "-", stdin=guide_spelling, check=False)
    assert 'strict decoding error: unknown field "spec.clone.nameReplacements"' in strict.stderr, strict.stderr
    # ... and without it (--validate=false) it is pruned, and then the CEL rule refuses the empty clone.
    refused = kubectl(sim, "apply", "--validate=false", "-n", dvp.namespace, "-f", "-", stdin=guide_spelling,
                      check=False)
    assert refused.returncode != 0
    assert 'The VirtualMachineOperation "clone-guide-spelling" is invalid: spec.clone: Invalid value: "object": ' \
        "At least one of customization.namePrefix, customization.nameSuffix, or nameReplacement must be set" \
        in refused.stderr
    assert dvp.find("virtualmachineoperations", "clone-guide-spelling") is None
    british = guide_spelling.replace("nameReplacements:\n      - from:\n          kind: VirtualDisk\n"
                                     "          name: parent-root\n      - to:\n          name: child\n",
                                     "customisation:\n      namePrefix: c-\n")
    assert "customisation" in british
    refused = kubectl(sim, "apply", "--validate=false", "-n", dvp.namespace, "-f", "-", stdin=british, check=False)
    assert "At least one of customization.namePrefix" in refused.stderr  # only the CRD's "customization" counts


def test_it_gives_the_roles_of_a_saved_state_the_network_rules(tmp_path):
    from tests.conftest import start_sim, stop_sim

    state = str(tmp_path / "state.json")
    sim = start_sim("--state", state)
    try:  # a state saved by a dvpsim whose shared read role did not know the sdn module's cluster networks
        rbac = client.RbacAuthorizationV1Api(sim.api("admin"))
        role = rbac.read_cluster_role("d8:use:cluster-read")
        role.rules = [r for r in role.rules if "clusternetworks" not in (r.resources or [])]
        rbac.replace_cluster_role("d8:use:cluster-read", role)
    finally:
        stop_sim(sim)
    sim = start_sim("--state", state)
    try:  # kube-apiserver reconciles its bootstrap roles at start; dvpsim does the same with its own
        alice = client.CustomObjectsApi(sim.api("alice"))
        assert "corp-net" in [n["metadata"]["name"] for n in alice.list_cluster_custom_object(*SDN, "clusternetworks")
                              ["items"]]
    finally:
        stop_sim(sim)
