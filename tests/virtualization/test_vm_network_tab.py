"""The VM's Network tab: networks in order, the IP address, a static address, keeping the address."""
import pytest

from tests.kube import action_url, get_dvp, list_dvp, make_network, make_vm, tab_url, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")


@pytest.fixture(scope="module", autouse=True)
def user_net(sim, project):
    """The project Network user-net, as the demo has in project-a."""
    make_network(sim, project, "user-net")


def vmips_for(project, sim, address):
    return [i for i in list_dvp(sim, "virtualmachineipaddresses", project)
            if i["spec"].get("staticIP") == address]


def test_it_shows_the_main_network_and_the_ip_address(project, owner, sim, unique):
    name = unique("net")
    vm = make_vm(sim, project, name, f"{name}-root")
    page = owner.get(tab_url(project, name, "network")).content.decode()
    assert "<td>1</td><td>Main network</td>" in page
    assert f"<dd>{vm['status']['ipAddress']}</dd>" in page
    # The demo cluster runs the sdn module (network.deckhouse.io is in discovery): the "Add network" form shows.
    assert "which is not enabled in this cluster" not in page
    assert 'name="network_name"' in page and '<option value="ClusterNetwork"' in page
    # The networks the user may list are offered: the project's Network and the demo's ClusterNetwork.
    assert '<option value="user-net">Network</option>' in page
    assert '<option value="corp-net">ClusterNetwork</option>' in page


def test_it_requests_a_static_ip_and_points_the_vm_at_it(project, owner, sim, unique):
    name = unique("net")
    make_vm(sim, project, name, f"{name}-root")
    address = f"10.66.20.{100 + int(name[-2:], 16) % 100}"
    response = owner.post(action_url(project, name, "network", "static_ip"), {"static_ip": address})
    assert response.status_code == 302  # the request returns at once; the tab follows the address
    [vmip] = vmips_for(project, sim, address)
    assert vmip["spec"]["type"] == "Static"
    ip_name = vmip["metadata"]["name"]
    wait_for(lambda: get_dvp(sim, "virtualmachineipaddresses", project, ip_name)["status"].get("phase") == "Bound")
    page = owner.get(tab_url(project, name, "network")).content.decode()
    assert f"{address} is reserved as {ip_name}." in page and "data-auto-submit" in page  # the page goes on
    assert owner.post(action_url(project, name, "network", "assign_ip"), {"vmip": ip_name}).status_code == 302
    vm = get_dvp(sim, "virtualmachines", project, name)
    assert vm["spec"]["virtualMachineIPAddressName"] == ip_name
    assert "data-auto-submit" not in owner.get(tab_url(project, name, "network")).content.decode()
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, name)["status"].get("ipAddress") == address)


def test_it_refuses_an_address_outside_the_cidrs_and_leaves_nothing_behind(project, owner, sim, unique):
    name = unique("net")
    make_vm(sim, project, name, f"{name}-root")
    assert owner.post(action_url(project, name, "network", "static_ip"), {"static_ip": "192.168.77.5"}).status_code == 302
    [vmip] = vmips_for(project, sim, "192.168.77.5")
    wait_for(lambda: "cannot be reserved" in owner.get(tab_url(project, name, "network")).content.decode())
    response = owner.post(action_url(project, name, "network", "discard_ip"), {"vmip": vmip["metadata"]["name"]})
    assert response.status_code == 422
    page = response.content.decode()
    assert "The requested address 192.168.77.5 is out of the valid range" in page
    assert 'name="static_ip" id="id_static_ip" inputmode="decimal" placeholder="10.66.20.77" value="192.168.77.5"' \
        in page
    wait_for(lambda: not vmips_for(project, sim, "192.168.77.5"))
    assert "virtualMachineIPAddressName" not in get_dvp(sim, "virtualmachines", project, name)["spec"]
    response = owner.post(action_url(project, name, "network", "static_ip"), {"static_ip": "10.66.300.1"})
    assert "Enter an IPv4 address, for example 10.66.20.77." in response.content.decode()


def test_it_keeps_the_ip_address_after_the_vm_is_deleted(project, owner, sim, unique):
    name = unique("net")
    vm = make_vm(sim, project, name, f"{name}-root")
    ip_name = vm["status"]["virtualMachineIPAddressName"]
    assert get_dvp(sim, "virtualmachineipaddresses", project, ip_name)["metadata"].get("ownerReferences")
    assert owner.post(action_url(project, name, "network", "keep_ip"), {}).status_code == 302
    assert not get_dvp(sim, "virtualmachineipaddresses", project, ip_name)["metadata"].get("ownerReferences")
    page = owner.get(tab_url(project, name, "network")).content.decode()
    assert "<dt>Kept after the VM is deleted</dt><dd>yes</dd>" in page
    owner.post(f"/projects/{project}/vms/{name}/delete/")
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, name) is None, timeout=30)
    assert get_dvp(sim, "virtualmachineipaddresses", project, ip_name) is not None


def sdn_module(sim, enabled):
    from kubernetes import client
    client.CustomObjectsApi(sim.api("admin")).patch_cluster_custom_object(
        "deckhouse.io", "v1alpha1", "moduleconfigs", "sdn", {"spec": {"enabled": enabled}})


def test_it_refuses_additional_networks_without_the_sdn_module(project, owner, sim, unique):
    name = unique("net")
    make_vm(sim, project, name, f"{name}-root")
    sdn_module(sim, False)  # the demo enables sdn: without it network.deckhouse.io leaves discovery
    try:
        page = owner.get(tab_url(project, name, "network")).content.decode()
        assert "need the SDN module (<code>sdn</code>), which is not enabled in this cluster" in page
        assert 'name="network_name"' not in page
        response = owner.post(action_url(project, name, "network", "add_network"), {"network_type": "Network",
                                                         "network_name": "user-net"})
    finally:
        sdn_module(sim, True)
    assert response.status_code == 422
    assert "Additional networks need the SDN module" in response.content.decode()
    assert "networks" not in get_dvp(sim, "virtualmachines", project, name)["spec"]


def test_it_adds_the_project_network_last_and_waits_for_a_restart(project, owner, sim, unique):
    name = unique("net")
    make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "network", "add_network"), {"network_type": "Network",
                                                     "network_name": "user-net"})
    assert response.status_code == 302
    networks = get_dvp(sim, "virtualmachines", project, name)["spec"]["networks"]
    assert [(n["type"], n.get("name")) for n in networks] == [("Main", None), ("Network", "user-net")]
    wait_for(lambda: any(c["path"] == "networks" for c in get_dvp(sim, "virtualmachines", project, name)
                         ["status"].get("restartAwaitingChanges") or []))


def test_it_offers_the_project_networks_to_a_viewer_too(project, cast, login, sim, unique, db):
    name = unique("net")
    make_vm(sim, project, name, f"{name}-root")
    client = login(cast.viewer)  # a viewer of the project may list its Networks (DVP role chain)
    page = client.get(tab_url(project, name, "network")).content.decode()
    assert '<option value="user-net">Network</option>' in page
