"""VirtualMachineClass as DVP's class webhook and controller treat it: crossing core ranges refused in
SizingPoliciesValidator's words (a range inside another let through, as there); the nodes a class can use and
the instruction sets a Discovery class fixes worked out from the node labeller's labels."""
import json
import uuid

import pytest
from kubernetes import client

from tests.kube import GROUP, VERSION, custom, wait_for


def policy(low, high):
    return {"cores": {"min": low, "max": high}, "coreFractions": [100]}


@pytest.fixture
def make(sim):
    made = []

    def create(spec):
        name = f"class-{uuid.uuid4().hex[:6]}"
        made.append(name)
        return custom(sim).create_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineClass", "metadata": {"name": name},
            "spec": spec})
    yield create
    for name in made:
        try:
            custom(sim).delete_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", name)
        except client.ApiException:
            pass


def test_it_refuses_crossing_core_ranges_as_the_webhook_does(make):
    with pytest.raises(client.ApiException) as info:
        make({"cpu": {"type": "Host"}, "sizingPolicies": [policy(1, 4), policy(4, 8)]})
    body = json.loads(info.value.body)
    assert info.value.status == 403
    assert body["message"].startswith('admission webhook "vmclass.virtualization-controller.validate.d8-virtualization"'
                                      ' denied the request: vmclass class-')
    assert body["message"].endswith(" has size policy cpu crosses")


def test_it_lets_through_what_the_webhook_lets_through(make):
    assert make({"cpu": {"type": "Host"}, "sizingPolicies": [policy(1, 4), policy(5, 8)]})
    assert make({"cpu": {"type": "Host"}, "sizingPolicies": [policy(1, 10), policy(3, 5)]})  # containment: not seen


def test_it_refuses_crossing_ranges_on_update_too(sim, make):
    name = make({"cpu": {"type": "Host"}, "sizingPolicies": [policy(1, 4)]})["metadata"]["name"]
    with pytest.raises(client.ApiException) as info:
        custom(sim).patch_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", name, {
            "spec": {"sizingPolicies": [policy(1, 4), policy(3, 6)]}})
    assert info.value.status == 403 and "has size policy cpu crosses" in info.value.body


def status(sim, name):
    return custom(sim).get_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", name).get("status") or {}


def test_it_places_a_class_on_the_nodes_whose_cpu_has_what_it_asks(sim, make):
    features = make({"cpu": {"type": "Features", "features": ["avx512f"]}})["metadata"]["name"]
    model = make({"cpu": {"type": "Model", "model": "IvyBridge"}})["metadata"]["name"]
    nowhere = make({"cpu": {"type": "Model", "model": "EPYC-Genoa"}})["metadata"]["name"]
    wait_for(lambda: status(sim, features).get("phase") == "Ready" and status(sim, model).get("phase") == "Ready")
    assert status(sim, features)["availableNodes"] == ["virtlab-pt-1"]
    assert status(sim, model)["availableNodes"] == ["virtlab-pt-1", "virtlab-pt-2", "virtlab-pt-3"]
    wait_for(lambda: status(sim, nowhere).get("phase") == "Pending")
    assert status(sim, nowhere)["availableNodes"] == []


def test_it_fixes_what_a_discovery_class_finds_common_to_its_nodes(sim, make):
    every = make({"cpu": {"type": "Discovery", "discovery": {}}})["metadata"]["name"]
    first = make({"cpu": {"type": "Discovery", "discovery": {"nodeSelector": {"matchLabels": {
        "kubernetes.io/hostname": "virtlab-pt-1"}}}}})["metadata"]["name"]
    wait_for(lambda: status(sim, every).get("phase") == "Ready" and status(sim, first).get("phase") == "Ready")
    assert "avx512f" not in status(sim, every)["cpuFeatures"]["enabled"]
    assert "vmx" in status(sim, every)["cpuFeatures"]["enabled"]
    assert "avx512f" in status(sim, first)["cpuFeatures"]["enabled"]
    assert status(sim, first)["availableNodes"] == ["virtlab-pt-1"]
