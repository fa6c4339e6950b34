"""ModuleConfig `virtualization` as the cluster admits changes to it: a subnet still holding a leased address cannot
leave virtualMachineCIDRs (the virtualization webhook's words), disabling needs the allow-disabling annotation, and a
new subnet is what new VMs get addresses from."""
import json

import pytest
from kubernetes import client

from tests.kube import custom

GROUP, VERSION = "deckhouse.io", "v1alpha1"


def module_config(sim):
    return custom(sim).get_cluster_custom_object(GROUP, VERSION, "moduleconfigs", "virtualization")


def refusal(call):
    with pytest.raises(client.ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)["message"]


def test_it_keeps_a_subnet_that_holds_a_leased_address(sim):
    leases = custom(sim).list_cluster_custom_object("virtualization.deckhouse.io", "v1alpha2",
                                                    "virtualmachineipaddressleases")["items"]
    assert leases, "the demo's VMs hold leases"
    cidrs = module_config(sim)["spec"]["settings"]["virtualMachineCIDRs"]
    address = leases[0]["metadata"]["name"].removeprefix("ip-").replace("-", ".")
    import ipaddress
    holding = next(c for c in cidrs if ipaddress.ip_address(address) in ipaddress.ip_network(c))
    status, message = refusal(lambda: custom(sim).patch_cluster_custom_object(
        GROUP, VERSION, "moduleconfigs", "virtualization",
        {"spec": {"settings": {"virtualMachineCIDRs": [c for c in cidrs if c != holding]}}}))
    assert status == 403
    assert f'virtualMachineCIDRs item "{holding}" can\'t be removed: VirtualMachineIPAddressLease/' in message
    assert module_config(sim)["spec"]["settings"]["virtualMachineCIDRs"] == cidrs


def test_it_disables_the_module_only_with_the_annotation(sim):
    status, message = refusal(lambda: custom(sim).patch_cluster_custom_object(
        GROUP, VERSION, "moduleconfigs", "virtualization", {"spec": {"enabled": False}}))
    assert status == 403 and 'modules.deckhouse.io/allow-disabling: "true"' in message
    assert module_config(sim)["spec"]["enabled"] is True
