"""Services selecting VMs by label: defaults and allocations, and the Endpoints kubectl shows."""

import json
import time

import pytest
from kubernetes import client

from tests.kube import Dvp, blank_disk, fresh_namespace, vm_body
from tests.kubectl import kubectl


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "svc"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def service(name, selector, **spec):
    return {"metadata": {"name": name}, "spec": {"selector": selector, **spec}}


def eventually(check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def endpoints(dvp, name, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        try:
            found = dvp.core.read_namespaced_endpoints(name, dvp.namespace)
            if predicate(found):
                return found
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        time.sleep(0.05)
    raise AssertionError(f"endpoints {name}: {found}")


def ready_ips(ep):
    return sorted(a.ip for s in ep.subsets or [] for a in s.addresses or [])


def test_it_lists_the_running_vms_a_service_selects(dvp, sim):
    for name in ("web-1", "web-2", "db"):
        dvp.create("virtualdisks", blank_disk(f"{name}-root"))
        body = vm_body(name, user_data=None)
        body["metadata"]["labels"] = {"app": "db" if name == "db" else "nginx"}
        dvp.create("virtualmachines", body)
    vms = [dvp.wait_phase("virtualmachines", n, "Running", timeout=30) for n in ("web-1", "web-2", "db")]
    web_ips = sorted(vm["status"]["ipAddress"] for vm in vms[:2])

    created = dvp.core.create_namespaced_service(dvp.namespace, service("http", {"app": "nginx"},
                                                                        ports=[{"port": 80}]))
    assert created.spec.cluster_ip.startswith("10.222.") and created.spec.type == "ClusterIP"
    assert created.spec.ports[0].target_port == 80 and created.spec.ports[0].protocol == "TCP"
    ep = endpoints(dvp, "http", lambda e: ready_ips(e) == web_ips)
    address = ep.subsets[0].addresses[0]
    assert address.target_ref.kind == "Pod" and address.target_ref.name.startswith("virt-launcher-web-")
    assert address.node_name
    assert ep.subsets[0].ports[0].port == 80

    out = kubectl(sim, "-n", dvp.namespace, "get", "endpoints", "http").stdout
    assert f"{web_ips[0]}:80,{web_ips[1]}:80" in out
    described = kubectl(sim, "-n", dvp.namespace, "describe", "service", "http").stdout
    assert f"{web_ips[0]}:80,{web_ips[1]}:80" in described and "app=nginx" in described

    kubectl(sim, "-n", dvp.namespace, "label", "vm", "web-2", "app-")
    endpoints(dvp, "http", lambda e: ready_ips(e) == [vms[0]["status"]["ipAddress"]])
    kubectl(sim, "-n", dvp.namespace, "label", "vm", "db", "app=nginx", "--overwrite")
    endpoints(dvp, "http", lambda e: len(ready_ips(e)) == 2)

    slices = client.DiscoveryV1Api(dvp.api_client)
    [endpoint_slice] = slices.list_namespaced_endpoint_slice(
        dvp.namespace, label_selector="kubernetes.io/service-name=http").items
    assert sorted(e.addresses[0] for e in endpoint_slice.endpoints if e.conditions.ready) == sorted(
        ready_ips(dvp.core.read_namespaced_endpoints("http", dvp.namespace)))

    dvp.core.delete_namespaced_service("http", dvp.namespace)
    eventually(lambda: not dvp.core.list_namespaced_endpoints(dvp.namespace, field_selector="metadata.name=http").items)
    eventually(lambda: not slices.list_namespaced_endpoint_slice(
        dvp.namespace, label_selector="kubernetes.io/service-name=http").items)


def test_it_allocates_node_ports_and_keeps_headless_services_without_an_ip(dvp, sim):
    headless = dvp.core.create_namespaced_service(dvp.namespace, service("direct", {"app": "db"}, clusterIP="None"))
    assert headless.spec.cluster_ip == "None"
    node_port = dvp.core.create_namespaced_service(dvp.namespace, service(
        "linux-vm-nginx-nodeport", {"app": "nginx"}, type="NodePort",
        ports=[{"protocol": "TCP", "port": 80, "targetPort": 80, "nodePort": 31987}]))
    assert node_port.spec.ports[0].node_port == 31987
    with pytest.raises(client.ApiException) as taken:
        dvp.core.create_namespaced_service(dvp.namespace, service("clash", {"app": "nginx"}, type="NodePort",
                                                                  ports=[{"port": 80, "nodePort": 31987}]))
    assert taken.value.status == 422 and "provided port is already allocated" in taken.value.body
    balancer = dvp.core.create_namespaced_service(dvp.namespace, service(
        "linux-vm-nginx-lb", {"app": "nginx"}, type="LoadBalancer", ports=[{"port": 80}]))
    assert 30000 <= balancer.spec.ports[0].node_port <= 32767
    out = kubectl(sim, "-n", dvp.namespace, "get", "svc", "linux-vm-nginx-nodeport", "linux-vm-nginx-lb").stdout
    assert "80:31987/TCP" in out
    dvp.core.patch_namespaced_service("linux-vm-nginx-nodeport", dvp.namespace, {"metadata": {"labels": {"x": "y"}}})
    assert dvp.core.read_namespaced_service("linux-vm-nginx-nodeport", dvp.namespace).spec.cluster_ip == \
        node_port.spec.cluster_ip
    for name in ("linux-vm-nginx-nodeport", "linux-vm-nginx-lb"):  # node ports are cluster-wide: free them
        dvp.core.delete_namespaced_service(name, dvp.namespace)


def external_ip(dvp, name):
    ingress = (dvp.core.read_namespaced_service(name, dvp.namespace).status.load_balancer or client.V1LoadBalancerStatus()
               ).ingress or []
    return ingress[0].ip if ingress else None


def test_it_gives_a_load_balancer_an_address_of_the_metallb_pool_and_takes_it_back(dvp, sim):
    dvp.core.create_namespaced_service(dvp.namespace, service("lb-web", {"app": "nginx"}, type="LoadBalancer",
                                                              ports=[{"port": 80}]))
    eventually(lambda: external_ip(dvp, "lb-web") is not None)
    address = external_ip(dvp, "lb-web")
    assert address.startswith("192.168.10.2")  # the demo's pool: 192.168.10.200-239
    out = kubectl(sim, "-n", dvp.namespace, "get", "svc", "lb-web").stdout
    assert address in out and "<pending>" not in out
    assert any(e.reason == "IPAllocated" and address in e.message for e in dvp.events_about("lb-web"))
    dvp.core.create_namespaced_service(dvp.namespace, service("lb-other", {"app": "nginx"}, type="LoadBalancer",
                                                              ports=[{"port": 80}]))
    eventually(lambda: external_ip(dvp, "lb-other") not in (None, address))
    dvp.core.patch_namespaced_service("lb-web", dvp.namespace, {"spec": {"type": "ClusterIP", "ports": [
        {"port": 80, "nodePort": None}]}})
    eventually(lambda: external_ip(dvp, "lb-web") is None)
    for name in ("lb-web", "lb-other"):
        dvp.core.delete_namespaced_service(name, dvp.namespace)


def test_it_leaves_a_load_balancer_of_another_class_pending(dvp, sim):
    dvp.core.create_namespaced_service(dvp.namespace, service(
        "lb-elsewhere", {"app": "nginx"}, type="LoadBalancer", loadBalancerClass="example.com/cloud",
        ports=[{"port": 80}]))
    time.sleep(0.5)
    assert external_ip(dvp, "lb-elsewhere") is None
    assert "<pending>" in kubectl(sim, "-n", dvp.namespace, "get", "svc", "lb-elsewhere").stdout
    dvp.core.delete_namespaced_service("lb-elsewhere", dvp.namespace)


@pytest.mark.parametrize("spec, field, words", [
    ({"type": "Balanced", "ports": [{"port": 80}]}, "spec.type", 'Unsupported value: "Balanced"'),
    ({"ports": [{"port": 0}]}, "spec.ports[0].port", "must be between 1 and 65535, inclusive"),
    ({"ports": [{"port": 80, "nodePort": 31001}]}, "spec.ports[0].nodePort",
     "may not be used when `type` is 'ClusterIP'"),
    ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}, "spec.ports[0].nodePort",
     "The range of valid ports is 30000-32767"),
    ({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]}, "spec.clusterIPs[0]",
     "may not be set to 'None' for NodePort services"),
])
def test_it_refuses_what_kube_apiserver_refuses_with_its_words(dvp, spec, field, words):
    with pytest.raises(client.ApiException) as refused:
        dvp.core.create_namespaced_service(dvp.namespace, service("refused", {"app": "nginx"}, **spec))
    assert refused.value.status == 422
    causes = json.loads(refused.value.body)["details"]["causes"]
    assert any(c["field"] == field and words in c["message"] for c in causes), causes


def test_it_refuses_a_service_name_that_is_no_dns_1035_label(dvp):
    with pytest.raises(client.ApiException) as refused:
        dvp.core.create_namespaced_service(dvp.namespace, service("1-web", {"app": "nginx"}, ports=[{"port": 80}]))
    assert refused.value.status == 422 and "a DNS-1035 label must consist of" in refused.value.body
