"""Restore and Clone operations, and CreateVirtualMachine from a VM snapshot (dvp-api-notes §8)."""

import pytest
from kubernetes import watch

from tests.kube import GROUP, VERSION, Dvp, blank_disk, condition, fresh_namespace, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "restore"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def stopped_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root", size="2Gi"))
    dvp.create("virtualmachines", vm_body(name, runPolicy="Manual", **spec))  # Manual: created Stopped
    dvp.wait_phase("virtualdisks", f"{name}-root", "Ready")
    return dvp.wait_phase("virtualmachines", name, "Stopped", timeout=30)


def operation(dvp, name, type_, vm, **spec):
    return dvp.create("virtualmachineoperations", {"metadata": {"name": name},
                                                   "spec": {"type": type_, "virtualMachineName": vm, **spec}})


def snapshot_of(dvp, name, vm):
    dvp.create("virtualmachinesnapshots", {"metadata": {"name": name}, "spec": {"virtualMachineName": vm}})
    return dvp.wait_phase("virtualmachinesnapshots", name, "Ready")


def finished(dvp, name):
    return dvp.wait("virtualmachineoperations", name,
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=30)


def vm_versions_since(dvp, name, resource_version, condition_type):
    """The first version of the VM since resource_version that carries the condition (a watch replays them)."""
    stream = watch.Watch().stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace,
                                  "virtualmachines", field_selector=f"metadata.name={name}",
                                  resource_version=resource_version, timeout_seconds=5)
    for event in stream:
        if condition(event["object"], condition_type) is not None:
            return event["object"]
    raise AssertionError(f"no version of {name} had the condition {condition_type}")


def test_it_restores_a_vm_from_its_snapshot_in_maintenance_mode(dvp):
    stopped_vm(dvp, "alpha")
    snapshot_of(dvp, "alpha-snap", "alpha")
    dvp.patch("virtualmachines", "alpha", {"spec": {"cpu": {"cores": 2}, "memory": {"size": "2Gi"}}, "metadata": {"labels": {"tier": "new"}}})
    disk_uid = dvp.get("virtualdisks", "alpha-root")["metadata"]["uid"]

    dry = finished(dvp, operation(dvp, "alpha-dry", "Restore", "alpha",
                                  restore={"mode": "DryRun", "virtualMachineSnapshotName": "alpha-snap"})
                   ["metadata"]["name"])
    assert dry["status"]["phase"] == "Completed"
    assert {(r["kind"], r["name"], r["status"]) for r in dry["status"]["resources"]} == {
        ("VirtualMachine", "alpha", "Completed"), ("VirtualMachineIPAddress", "alpha", "Completed"),
        ("VirtualDisk", "alpha-root", "Completed")}
    assert dvp.get("virtualmachines", "alpha")["spec"]["cpu"]["cores"] == 2

    before = dvp.get("virtualmachines", "alpha")["metadata"]["resourceVersion"]
    operation(dvp, "alpha-restore", "Restore", "alpha",
              restore={"mode": "Strict", "virtualMachineSnapshotName": "alpha-snap"})
    done = finished(dvp, "alpha-restore")
    assert condition(vm_versions_since(dvp, "alpha", before, "Maintenance"), "Maintenance")["reason"] == \
        "RestoreInProgress"
    assert done["status"]["phase"] == "Completed", done["status"]
    assert all(r["status"] == "Completed" for r in done["status"]["resources"])
    vm = dvp.get("virtualmachines", "alpha")
    assert vm["spec"]["cpu"]["cores"] == 1
    assert "tier" not in (vm["metadata"].get("labels") or {})
    assert condition(vm, "Maintenance") is None
    disk = dvp.wait_phase("virtualdisks", "alpha-root", "Ready")
    assert disk["metadata"]["uid"] != disk_uid
    assert disk["spec"]["dataSource"]["objectRef"]["kind"] == "VirtualDiskSnapshot"
    assert disk["status"]["capacity"] == "2Gi"
    assert "Maintenance" in [e.reason for e in dvp.events_about("alpha")]
    assert dvp.get("virtualmachines", "alpha")["status"]["phase"] == "Stopped"


def test_it_reports_restore_conflicts_in_status_resources(dvp):
    stopped_vm(dvp, "beta")
    snapshot_of(dvp, "beta-snap", "beta")
    dvp.create("virtualmachines", vm_body("thief", disk="beta-root", runPolicy="AlwaysOff", user_data=None))
    failed = finished(dvp, operation(dvp, "beta-restore", "Restore", "beta",
                                     restore={"mode": "BestEffort", "virtualMachineSnapshotName": "beta-snap"})
                      ["metadata"]["name"])
    assert failed["status"]["phase"] == "Failed"
    disk = next(r for r in failed["status"]["resources"] if r["kind"] == "VirtualDisk")
    assert disk["status"] == "Failed"
    assert disk["message"] == 'The virtual disk "beta-root" is in use by the virtual machine "thief".'
    assert condition(failed, "Completed")["reason"] == "OperationFailed"

    dvp.delete("virtualmachines", "beta")
    dvp.wait_gone("virtualmachines", "beta")
    dvp.create("virtualmachines", vm_body("beta", disk="beta-root", runPolicy="AlwaysOff", user_data=None))
    dvp.wait_phase("virtualmachines", "beta", "Stopped", timeout=30)
    other = finished(dvp, operation(dvp, "beta-again", "Restore", "beta",
                                    restore={"mode": "DryRun", "virtualMachineSnapshotName": "beta-snap"})
                     ["metadata"]["name"])
    vm_entry = next(r for r in other["status"]["resources"] if r["kind"] == "VirtualMachine")
    assert vm_entry["status"] == "Failed" and "is not the one the snapshot was taken of" in vm_entry["message"]


def test_it_clones_a_vm_with_renamed_disks_and_a_new_ip(dvp):
    stopped_vm(dvp, "gamma")
    source_ip = dvp.get("virtualmachineipaddresses", "gamma")["status"]["address"]
    clone = {"mode": "Strict", "nameReplacement": [{"from": {"kind": "VirtualDisk", "name": "gamma-root"},
                                                    "to": "copy-disk"}],
             "customization": {"nameSuffix": "-2"}}
    dry = finished(dvp, operation(dvp, "gamma-dry", "Clone", "gamma", clone={**clone, "mode": "DryRun"})
                   ["metadata"]["name"])
    assert dry["status"]["phase"] == "Completed"
    assert [(r["kind"], r["name"]) for r in dry["status"]["resources"]] == [
        ("VirtualMachine", "gamma-2"), ("VirtualDisk", "copy-disk-2")]
    assert dvp.find("virtualmachines", "gamma-2") is None

    operation(dvp, "gamma-clone", "Clone", "gamma", clone=clone)
    snapshot_ready = dvp.wait("virtualmachineoperations", "gamma-clone",
                              lambda o: (condition(o, "SnapshotReady") or {}).get("status") == "True", timeout=30)
    assert snapshot_ready["status"]["phase"] in ("InProgress", "Completed")
    done = finished(dvp, "gamma-clone")
    assert done["status"]["phase"] == "Completed", done["status"]
    vm = dvp.get("virtualmachines", "gamma-2")
    assert vm["spec"]["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": "copy-disk-2"}]
    disk = dvp.wait_phase("virtualdisks", "copy-disk-2", "Ready")
    assert disk["spec"]["dataSource"]["objectRef"]["kind"] == "VirtualDiskSnapshot"
    assert disk["status"]["capacity"] == "2Gi"
    clone_ip = dvp.wait("virtualmachineipaddresses", "gamma-2", lambda o: (o.get("status") or {}).get("address"))
    assert clone_ip["status"]["address"] != source_ip
    assert dvp.find("virtualmachinesnapshots", f"gamma-clone-{done['metadata']['uid'][:8]}") is None

    conflict = finished(dvp, operation(dvp, "gamma-again", "Clone", "gamma", clone=clone)["metadata"]["name"])
    assert conflict["status"]["phase"] == "Failed"
    assert {r["status"] for r in conflict["status"]["resources"]} == {"Failed"}


def test_it_creates_a_vm_from_a_snapshot_with_a_snapshot_operation(dvp):
    stopped_vm(dvp, "delta")
    snapshot_of(dvp, "delta-snap", "delta")
    dvp.create("virtualmachinesnapshotoperations", {"metadata": {"name": "delta-new"}, "spec": {
        "type": "CreateVirtualMachine", "virtualMachineSnapshotName": "delta-snap",
        "createVirtualMachine": {"mode": "BestEffort", "customization": {"namePrefix": "new-"}}}})
    done = dvp.wait("virtualmachinesnapshotoperations", "delta-new",
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=30)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert dvp.get("virtualmachines", "new-delta")["spec"]["blockDeviceRefs"][0]["name"] == "new-delta-root"
    assert dvp.wait_phase("virtualdisks", "new-delta-root", "Ready")
    assert "CreateVirtualMachineInProgress" in [e.reason for e in dvp.events_about("delta-new")]


def test_it_stores_snapshots_and_operations_that_fit_the_upstream_crds(dvp):
    from tests.contract.openapi import validate
    from tests.contract.conftest import CRDS, crds

    if not CRDS.is_dir():
        pytest.skip(f"the upstream CRDs are not at {CRDS}")
    schemas = crds()
    problems, checked = [], set()
    for plural in ("virtualmachinesnapshots", "virtualmachineoperations", "virtualmachinesnapshotoperations",
                   "virtualdisksnapshots", "virtualdisks", "virtualmachines", "virtualmachineipaddresses"):
        _scope, schema = schemas[(GROUP, VERSION, plural)]
        for obj in dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, plural)["items"]:
            checked.add(plural)
            body = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
            problems += [f"{plural}/{obj['metadata']['name']}: {p}" for p in validate(
                {**schema, "properties": {k: v for k, v in schema["properties"].items() if k != "metadata"}}, body)]
    assert problems == []
    assert {"virtualmachinesnapshots", "virtualmachineoperations", "virtualmachinesnapshotoperations"} <= checked


def test_it_stops_a_running_vm_for_the_restore_and_starts_it_again(dvp):
    dvp.create("virtualdisks", blank_disk("live-root"))
    dvp.create("virtualmachines", vm_body("live", user_data=None))
    dvp.wait_phase("virtualmachines", "live", "Running", timeout=30)
    dvp.create("virtualmachinesnapshots", {"metadata": {"name": "live-snap"},
                                           "spec": {"virtualMachineName": "live", "requiredConsistency": False}})
    dvp.wait_phase("virtualmachinesnapshots", "live-snap", "Ready")
    disk_uid = dvp.get("virtualdisks", "live-root")["metadata"]["uid"]
    done = finished(dvp, operation(dvp, "live-restore", "Restore", "live", restore={
        "mode": "BestEffort", "virtualMachineSnapshotName": "live-snap"})["metadata"]["name"])
    assert done["status"]["phase"] == "Completed", done["status"]
    vm = dvp.wait_phase("virtualmachines", "live", "Running", timeout=30)
    transitions = [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]
    after_stop = transitions[transitions.index("Stopping"):]
    assert after_stop[1] == "Stopped" and after_stop[-2:] == ["Starting", "Running"], transitions
    assert dvp.get("virtualdisks", "live-root")["metadata"]["uid"] != disk_uid


def test_it_restores_the_mac_address_of_an_additional_network():
    from kubernetes import client

    from tests.conftest import start_sim, stop_sim

    sim = start_sim()  # its own cluster (the demo enables the sdn module)
    try:
        dvp = Dvp(sim, fresh_namespace(sim, "macrestore"))
        client.CustomObjectsApi(sim.api("admin")).create_namespaced_custom_object(
            "network.deckhouse.io", "v1alpha1", dvp.namespace, "networks", {
                "apiVersion": "network.deckhouse.io/v1alpha1", "kind": "Network", "metadata": {"name": "lan"},
                "spec": {}})
        stopped_vm(dvp, "netvm", networks=[{"type": "Main"}, {"type": "Network", "name": "lan"}])
        lan = dvp.wait("virtualmachines", "netvm", lambda o: (o["status"].get("networks") or [{}, {}])[1]
                       .get("macAddress"))["status"]["networks"][1]
        snapshot_of(dvp, "netvm-snap", "netvm")
        dvp.delete("virtualmachinemacaddresses", lan["virtualMachineMACAddressName"])
        dvp.wait_gone("virtualmachinemacaddresses", lan["virtualMachineMACAddressName"])

        done = finished(dvp, operation(dvp, "netvm-restore", "Restore", "netvm", restore={
            "mode": "Strict", "virtualMachineSnapshotName": "netvm-snap"})["metadata"]["name"])
        assert done["status"]["phase"] == "Completed", done["status"]
        assert ("VirtualMachineMACAddress", lan["virtualMachineMACAddressName"], "Completed") in [
            (r["kind"], r["name"], r["status"]) for r in done["status"]["resources"]]
        restored = dvp.wait_phase("virtualmachinemacaddresses", lan["virtualMachineMACAddressName"], "Bound")
        assert restored["status"]["address"] == lan["macAddress"]
        vm = dvp.wait("virtualmachines", "netvm", lambda o: o["status"]["networks"][1].get("macAddress"))
        assert vm["status"]["networks"][1]["macAddress"] == lan["macAddress"]
    finally:
        stop_sim(sim)


def test_it_says_why_a_clone_of_a_running_vm_without_agent_waits(dvp):
    dvp.create("virtualdisks", blank_disk("busy-root"))
    dvp.create("virtualmachines", vm_body("busy", user_data=None))
    dvp.wait_phase("virtualmachines", "busy", "Running", timeout=30)
    operation(dvp, "busy-clone", "Clone", "busy", clone={"mode": "Strict", "customization": {"namePrefix": "c-"}})
    waiting = dvp.wait("virtualmachineoperations", "busy-clone",
                       lambda o: "agent is not ready" in ((condition(o, "SnapshotReady") or {}).get("message") or ""))
    assert waiting["status"]["phase"] == "InProgress"
    assert condition(waiting, "SnapshotReady")["status"] == "False"
    assert dvp.find("virtualmachines", "c-busy") is None


def test_it_refuses_clones_without_new_names_with_the_crds_words(dvp):
    from kubernetes import client

    with pytest.raises(client.ApiException) as unnamed:
        operation(dvp, "nameless", "Clone", "whatever", clone={"mode": "Strict", "customization": {}})
    assert unnamed.value.status == 422
    assert 'spec.clone: Invalid value: \\"object\\": At least one of customization.namePrefix, ' \
        "customization.nameSuffix, or nameReplacement must be set" in unnamed.value.body
    with pytest.raises(client.ApiException) as long_suffix:
        dvp.create("virtualmachinesnapshotoperations", {"metadata": {"name": "too-long"}, "spec": {
            "type": "CreateVirtualMachine", "virtualMachineSnapshotName": "x",
            "createVirtualMachine": {"mode": "DryRun", "customization": {"nameSuffix": "s" * 60}}}})
    assert long_suffix.value.status == 422
    assert "nameSuffix length must be between 1 and 59 characters if set" in long_suffix.value.body
