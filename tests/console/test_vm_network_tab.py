"""The VM's Network tab: networks in order, the IP address, a static address, keeping the address."""
from .conftest import PROJECT_A
from .helpers import get_dvp, list_dvp, make_vm
from .tabs_support import tab_url, wait_for, remove_test_vms  # noqa: F401 (autouse)


def vmips_for(sim, address):
    return [i for i in list_dvp(sim, "virtualmachineipaddresses", PROJECT_A)
            if i["spec"].get("staticIP") == address]


def test_it_shows_the_main_network_and_the_ip_address(owner, sim, unique):
    name = unique("net")
    vm = make_vm(sim, PROJECT_A, name, f"{name}-root")
    page = owner.get(tab_url(name, "network")).content.decode()
    assert "<td>1</td><td>Main network</td>" in page
    assert f"<dd>{vm['status']['ipAddress']}</dd>" in page
    # The demo cluster runs the sdn module (network.deckhouse.io is in discovery): the "Add network" form shows.
    assert "which is not enabled in this cluster" not in page
    assert 'name="network_name"' in page and '<option value="ClusterNetwork"' in page
    # The networks the user may list are offered: the demo's project Network and ClusterNetwork.
    assert '<option value="user-net">Network</option>' in page
    assert '<option value="corp-net">ClusterNetwork</option>' in page


def test_it_requests_a_static_ip_and_points_the_vm_at_it(owner, sim, unique):
    name = unique("net")
    make_vm(sim, PROJECT_A, name, f"{name}-root")
    address = f"10.66.20.{100 + int(name[-2:], 16) % 100}"
    response = owner.post(tab_url(name, "network"), {"action": "static_ip", "static_ip": address})
    assert response.status_code == 302
    [vmip] = vmips_for(sim, address)
    assert vmip["spec"]["type"] == "Static"
    vm = get_dvp(sim, "virtualmachines", PROJECT_A, name)
    assert vm["spec"]["virtualMachineIPAddressName"] == vmip["metadata"]["name"]
    wait_for(lambda: get_dvp(sim, "virtualmachines", PROJECT_A, name)["status"].get("ipAddress") == address)


def test_it_refuses_an_address_outside_the_cidrs_and_leaves_nothing_behind(owner, sim, unique):
    name = unique("net")
    make_vm(sim, PROJECT_A, name, f"{name}-root")
    response = owner.post(tab_url(name, "network"), {"action": "static_ip", "static_ip": "192.168.77.5"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "The requested address 192.168.77.5 is out of the valid range" in page
    assert 'name="static_ip" id="id_static_ip" inputmode="decimal" placeholder="10.66.20.77" value="192.168.77.5"' \
        in page
    wait_for(lambda: not vmips_for(sim, "192.168.77.5"))
    assert "virtualMachineIPAddressName" not in get_dvp(sim, "virtualmachines", PROJECT_A, name)["spec"]
    response = owner.post(tab_url(name, "network"), {"action": "static_ip", "static_ip": "10.66.300.1"})
    assert "Enter an IPv4 address, for example 10.66.20.77." in response.content.decode()


def test_it_keeps_the_ip_address_after_the_vm_is_deleted(owner, sim, unique):
    name = unique("net")
    vm = make_vm(sim, PROJECT_A, name, f"{name}-root")
    ip_name = vm["status"]["virtualMachineIPAddressName"]
    assert get_dvp(sim, "virtualmachineipaddresses", PROJECT_A, ip_name)["metadata"].get("ownerReferences")
    assert owner.post(tab_url(name, "network"), {"action": "keep_ip"}).status_code == 302
    assert not get_dvp(sim, "virtualmachineipaddresses", PROJECT_A, ip_name)["metadata"].get("ownerReferences")
    page = owner.get(tab_url(name, "network")).content.decode()
    assert "<dt>Kept after the VM is deleted</dt><dd>yes</dd>" in page
    owner.post(f"/projects/{PROJECT_A}/vms/{name}/delete/")
    wait_for(lambda: get_dvp(sim, "virtualmachines", PROJECT_A, name) is None, timeout=30)
    assert get_dvp(sim, "virtualmachineipaddresses", PROJECT_A, ip_name) is not None


def sdn_module(sim, enabled):
    from kubernetes import client
    client.CustomObjectsApi(sim.api("admin")).patch_cluster_custom_object(
        "deckhouse.io", "v1alpha1", "moduleconfigs", "sdn", {"spec": {"enabled": enabled}})


def test_it_refuses_additional_networks_without_the_sdn_module(owner, sim, unique):
    name = unique("net")
    make_vm(sim, PROJECT_A, name, f"{name}-root")
    sdn_module(sim, False)  # the demo enables sdn: without it network.deckhouse.io leaves discovery
    try:
        page = owner.get(tab_url(name, "network")).content.decode()
        assert "need the SDN module (<code>sdn</code>), which is not enabled in this cluster" in page
        assert 'name="network_name"' not in page
        response = owner.post(tab_url(name, "network"), {"action": "add_network", "network_type": "Network",
                                                         "network_name": "user-net"})
    finally:
        sdn_module(sim, True)
    assert response.status_code == 422
    assert "Additional networks need the SDN module" in response.content.decode()
    assert "networks" not in get_dvp(sim, "virtualmachines", PROJECT_A, name)["spec"]


def test_it_adds_the_project_network_last_and_waits_for_a_restart(owner, sim, unique):
    name = unique("net")
    make_vm(sim, PROJECT_A, name, f"{name}-root")
    response = owner.post(tab_url(name, "network"), {"action": "add_network", "network_type": "Network",
                                                     "network_name": "user-net"})
    assert response.status_code == 302
    networks = get_dvp(sim, "virtualmachines", PROJECT_A, name)["spec"]["networks"]
    assert [(n["type"], n.get("name")) for n in networks] == [("Main", None), ("Network", "user-net")]
    wait_for(lambda: any(c["path"] == "networks" for c in get_dvp(sim, "virtualmachines", PROJECT_A, name)
                         ["status"].get("restartAwaitingChanges") or []))


def test_it_offers_the_project_networks_to_a_viewer_too(login, sim, unique, db):
    name = unique("net")
    make_vm(sim, PROJECT_A, name, f"{name}-root")
    client = login("victor")  # a viewer of project-a may list its Networks (DVP role chain)
    page = client.get(tab_url(name, "network")).content.decode()
    assert '<option value="user-net">Network</option>' in page
