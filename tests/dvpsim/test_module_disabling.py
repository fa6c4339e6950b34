"""Disabling the `virtualization` module as Deckhouse does it: its Helm release goes (the controllers stop, the
subresources.virtualization.deckhouse.io APIService leaves discovery and answers 404) and its CRDs stay, with every
object intact; enabling it again brings the APIService back and reconciles what changed meanwhile. A cluster where
the module was never enabled has none of its kinds. Each test has a cluster of its own (the others' need the module)."""
import json
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client

from tests.conftest import start_sim, start_sim_never_enabled, stop_sim
from tests.kube import GROUP, VERSION, blank_disk, custom, fresh_namespace, wait_for

SUBRESOURCES = "subresources.virtualization.deckhouse.io"
ALLOW = {"modules.deckhouse.io/allow-disabling": "true"}


def get(sim, path):
    request = urllib.request.Request(sim.url + path, headers={"Authorization": f"Bearer {sim.token()}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def groups(sim):
    return {g["name"] for g in get(sim, "/apis")[1]["groups"]}


def switch(sim, enabled):
    custom(sim).patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "virtualization", {
        "metadata": {"annotations": ALLOW}, "spec": {"enabled": enabled}})


@pytest.fixture
def own_sim():
    sim = start_sim()
    yield sim
    stop_sim(sim)


def test_it_stops_the_module_but_keeps_its_crds_and_objects(own_sim):
    sim = own_sim
    namespace = fresh_namespace(sim, "off")
    vms_before = custom(sim).list_cluster_custom_object(GROUP, VERSION, "virtualmachines")["items"]
    assert vms_before and SUBRESOURCES in groups(sim)
    vm = vms_before[0]["metadata"]
    console = f"/apis/{SUBRESOURCES}/v1alpha2/namespaces/{vm['namespace']}/virtualmachines/{vm['name']}"
    assert get(sim, console)[0] == 200

    switch(sim, False)
    assert SUBRESOURCES not in groups(sim) and GROUP in groups(sim)
    assert get(sim, f"/apis/{SUBRESOURCES}")[0] == 404
    assert get(sim, console)[0] == 404
    kept = custom(sim).list_cluster_custom_object(GROUP, VERSION, "virtualmachines")["items"]
    assert [o["metadata"]["uid"] for o in kept] == [o["metadata"]["uid"] for o in vms_before]
    # No controller: a disk made while the module is off is stored as sent and gets no status.
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, namespace, "virtualdisks", blank_disk("while-off"))
    time.sleep(1.5)  # 30 s of the cluster's time at --speed 20: a running controller would have provisioned it
    disk = custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, "virtualdisks", "while-off")
    assert not disk.get("status")

    switch(sim, True)
    assert SUBRESOURCES in groups(sim) and get(sim, console)[0] == 200
    reconciled = wait_for(lambda: custom(sim).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "virtualdisks", "while-off").get("status"), 30)
    assert reconciled["phase"]
    again = custom(sim).list_cluster_custom_object(GROUP, VERSION, "virtualmachines")["items"]
    assert [o["metadata"]["uid"] for o in again] == [o["metadata"]["uid"] for o in vms_before]


def test_it_has_no_kinds_of_a_module_never_enabled(tmp_path):
    sim = start_sim_never_enabled(tmp_path)
    try:
        assert GROUP not in groups(sim) and SUBRESOURCES not in groups(sim)
        with pytest.raises(client.ApiException) as refused:
            custom(sim).list_cluster_custom_object(GROUP, VERSION, "virtualmachines")
        assert refused.value.status == 404
        switch(sim, True)  # Deckhouse installs the CRDs when it enables the module
        assert GROUP in groups(sim) and SUBRESOURCES in groups(sim)
        assert custom(sim).list_cluster_custom_object(GROUP, VERSION, "virtualmachines")["items"] == []
    finally:
        stop_sim(sim)
