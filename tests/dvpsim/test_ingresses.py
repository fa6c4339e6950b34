"""Ingresses (networking.k8s.io/v1): kube-apiserver's validation with its words, and the status ingress-nginx
writes (the addresses the Ingress is served on), as the guide's "Publish virtual machine services using Ingress"."""
import json
import time

import pytest
from kubernetes import client

from tests.kube import fresh_namespace
from tests.kubectl import kubectl

NODE_ADDRESSES = ["192.168.10.11", "192.168.10.12", "192.168.10.13"]  # the demo's nodes


@pytest.fixture(scope="module")
def namespace(sim):
    name = fresh_namespace(sim, "ing")
    yield name
    client.CoreV1Api(sim.api("admin")).delete_namespace(name)


@pytest.fixture(scope="module")
def net(sim):
    return client.NetworkingV1Api(sim.api("admin"))


def guide_ingress(name="linux-vm", host="linux-vm.example.com", path="/", path_type="Prefix", port=80, **spec):
    rule_path = {"path": path, "backend": {"service": {"name": "linux-vm-nginx",
                                                       "port": {"number": port} if port else {}}}}
    if path_type:
        rule_path["pathType"] = path_type
    return {"metadata": {"name": name}, "spec": {"rules": [{"host": host, "http": {"paths": [rule_path]}}], **spec}}


def addresses(net, namespace, name, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        found = net.read_namespaced_ingress(name, namespace).status.load_balancer.ingress or []
        if found or time.monotonic() > deadline:
            return [a.ip for a in found]
        time.sleep(0.05)


def test_it_serves_the_guides_ingress_on_the_nodes_addresses(sim, namespace, net):
    created = net.create_namespaced_ingress(namespace, guide_ingress(
        tls=[{"hosts": ["linux-vm.example.com"], "secretName": "linux-vm-tls"}]))
    assert created.metadata.generation == 1
    assert addresses(net, namespace, "linux-vm") == NODE_ADDRESSES
    out = kubectl(sim, "-n", namespace, "get", "ingress", "linux-vm").stdout
    assert "linux-vm.example.com" in out and ",".join(NODE_ADDRESSES) in out and "80, 443" in out
    described = kubectl(sim, "-n", namespace, "describe", "ingress", "linux-vm").stdout
    assert "linux-vm-nginx:80" in described


def test_it_leaves_an_ingress_of_another_class_without_an_address(sim, namespace, net):
    net.create_namespaced_ingress(namespace, guide_ingress("elsewhere", ingressClassName="traefik"))
    time.sleep(0.5)
    assert addresses(net, namespace, "elsewhere", timeout=0) == []


@pytest.mark.parametrize("body, field, words", [
    (guide_ingress(path_type=None), "spec.rules[0].http.paths[0].pathType", "pathType must be specified"),
    (guide_ingress(path="web"), "spec.rules[0].http.paths[0].path", "must be an absolute path"),
    (guide_ingress(host="10.0.0.1"), "spec.rules[0].host", "must be a DNS name, not an IP address"),
    (guide_ingress(host="Linux_VM.example.com"), "spec.rules[0].host", "a lowercase RFC 1123 subdomain"),
    (guide_ingress(port=70000), "spec.rules[0].http.paths[0].backend.service.port.number",
     "must be between 1 and 65535, inclusive"),
    (guide_ingress(port=None), "spec.rules[0].http.paths[0].backend.service.port", "port name or number is required"),
    (guide_ingress(tls=[{"secretName": "Bad_Secret"}]), "spec.tls[0].secretName", "a lowercase RFC 1123 subdomain"),
    ({"metadata": {"name": "empty"}, "spec": {}}, "spec", "either `defaultBackend` or `rules` must be specified"),
])
def test_it_refuses_what_kube_apiserver_refuses_with_its_words(sim, namespace, body, field, words):
    # Sent as it is (--validate=false): the Python client would refuse a missing pathType itself.
    document = json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", **body})
    refused = kubectl(sim, "-n", namespace, "create", "--validate=false", "-f", "-", stdin=document, check=False)
    assert refused.returncode == 1 and "is invalid" in refused.stderr
    assert f"{field}: " in refused.stderr and words in refused.stderr, refused.stderr
