"""The user guide's "Live virtual machine migration", driven as the guide drives it (kubectl for its `d8 k`
commands) against a private dvpsim whose nodes carry the guide's labels."""

import json
import re
import subprocess
import time

import pytest
from kubernetes import client, watch

from tests.kube import GROUP, VERSION, blank_disk, condition, vm_body
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_placement.helpers import (
    k,
    kubectl,
    list_rv,
    NODES,
    NOT_SCHEDULED,
    phases_since,
    remove_vms,
    SMALL_CPU,
    unplaced,
    vm_with_disk,
)

pytestmark = pytest.mark.usefixtures("linux_vm")


# ---- Live virtual machine migration -----------------------------------------------------------------------------

GUIDE_EVICT = """apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  generateName: evict-linux-vm-
spec:
  # virtual machine name
  virtualMachineName: linux-vm
  # operation to evict
  type: Evict
"""

def vmop_events(dvp, name):
    return [(e.reason, e.message) for e in dvp.events_about(name) if e.involved_object.kind == "VirtualMachineOperation"]


def test_it_live_migrates_the_vm_to_another_node_as_the_guide_narrates(dvp, psim):
    before = dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    source, ip = before["status"]["nodeName"], before["status"]["ipAddress"]
    table = k(dvp, "get", "vm").stdout.splitlines()
    # dvp-api-notes §2 / the CRD: an Uptime column the guide's older output does not show yet.
    assert table[0].split() == ["NAME", "PHASE", "UPTIME", "NODE", "IPADDRESS", "AGE"]
    row = next(line.split() for line in table[1:] if line.split()[0] == "linux-vm")
    assert row[1] == "Running" and row[3] == source and row[4] == ip

    watcher = subprocess.Popen([KUBECTL, "--kubeconfig", psim.kubeconfig, "-n", dvp.namespace, "get", "vm", "linux-vm",
                                "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # the watch prints the current row first
        rv = list_rv(dvp, "virtualmachineoperations")
        created = k(dvp, "create", "-f", "-", stdin=GUIDE_EVICT).stdout.strip()
        match = re.fullmatch(r"virtualmachineoperation\.virtualization\.deckhouse\.io/(evict-linux-vm-\w{5}) created",
                             created)
        assert match, created
        op = match.group(1)
        migrating = dvp.wait("virtualmachines", "linux-vm", lambda o: o["status"]["phase"] == "Migrating")
        assert condition(migrating, "Migrating")["status"] == "True"
        assert condition(migrating, "Migrating")["reason"] == "InProgress"
        assert migrating["status"]["migrationState"]["source"]["node"] == source
        progressing = dvp.wait("virtualmachineoperations", op, lambda o: condition(o, "Completed")["reason"] == "Syncing")
        assert progressing["status"]["phase"] == "InProgress"
        assert condition(progressing, "Completed")["message"] == "Syncing source and target"
        phases = phases_since(dvp, "virtualmachineoperations", op, rv, ("Completed", "Failed"))
        assert phases == ["Pending", "InProgress", "Completed"], phases
        after = dvp.wait("virtualmachines", "linux-vm", lambda o: o["status"]["phase"] == "Running")
        time.sleep(0.5)
    finally:
        watcher.terminate()
        watched, _ = watcher.communicate(timeout=10)
    target = after["status"]["nodeName"]
    assert target != source and after["status"]["ipAddress"] == ip  # same IP on the new node
    assert after["status"]["migrationState"]["result"] == "Succeeded"
    assert after["status"]["migrationState"]["target"]["node"] == target
    assert condition(after, "Migrating") is None

    # `d8 k get vm -w`: Running on the source, Migrating (still on the source), Running on the target, same IP.
    rows = [line.split() for line in watched.splitlines() if line.startswith("linux-vm ")]
    seen = [(r[1], r[3], r[4]) for r in rows]
    collapsed = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert collapsed == [("Running", source, ip), ("Migrating", source, ip), ("Running", target, ip)], watched

    vmop_table = k(dvp, "get", "vmop").stdout.splitlines()
    assert vmop_table[0].split() == ["NAME", "PHASE", "PROGRESS", "TYPE", "VIRTUALMACHINE", "AGE"]
    assert next(line.split() for line in vmop_table[1:] if line.startswith(op))[1:5] == \
        ["Completed", "100%", "Evict", "linux-vm"]
    done = dvp.get("virtualmachineoperations", op)
    assert condition(done, "Completed")["status"] == "True" and condition(done, "SignalSent")["status"] == "True"
    events = vmop_events(dvp, op)
    assert ("VirtualMachineOperationStarted",
            "Migration settings for operation type Evict: liveMigrationPolicy PreferSafe, autoConverge false") in events
    assert ("VirtualMachineOperationSucceeded", "VirtualMachineOperation succeeded") in events
    assert ("Evicted", "Evict initiated with VirtualMachineOperation") in \
        [(e.reason, e.message) for e in dvp.events_about("linux-vm")]


@pytest.mark.parametrize("policy, force, auto_converge", [
    ("AlwaysSafe", None, False), ("AlwaysSafe", True, None),
    ("PreferSafe", None, False), ("PreferSafe", True, True),
    ("AlwaysForced", None, True), ("AlwaysForced", False, None),
    ("PreferForced", None, True), ("PreferForced", False, False),
])
def test_it_uses_auto_converge_as_the_live_migration_policy_and_force_say(dvp, policy, force, auto_converge):
    """AlwaysSafe never slows the CPU, AlwaysForced always does; under the Prefer* policies an Evict's `force`
    switches AutoConverge on or off; against an Always* policy the contrary `force` fails the operation."""
    k(dvp, "patch", "vm", "linux-vm", "--type", "merge", "-p", json.dumps({"spec": {"liveMigrationPolicy": policy}}))
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    spec = {"type": "Evict", "virtualMachineName": "linux-vm", **({} if force is None else {"force": force})}
    op = dvp.create("virtualmachineoperations", {"metadata": {"generateName": "evict-linux-vm-"},
                                                 "spec": spec})["metadata"]["name"]
    done = dvp.wait("virtualmachineoperations", op, lambda o: (o.get("status") or {}).get("phase") in (
        "Completed", "Failed"), timeout=30)
    if auto_converge is None:
        assert done["status"]["phase"] == "Failed"
        assert condition(done, "Completed")["reason"] == "NotApplicableForLiveMigrationPolicy"
        assert condition(done, "Completed")["message"] == \
            f"Operation is invalid: force={str(force).lower()} is not applicable for VM liveMigrationPolicy {policy}"
        assert dvp.get("virtualmachines", "linux-vm")["status"]["phase"] == "Running"
    else:
        assert done["status"]["phase"] == "Completed"
        settings = (f"Migration settings for operation type Evict: liveMigrationPolicy {policy}, "
                    f"autoConverge {str(auto_converge).lower()}")
        assert ("VirtualMachineOperationStarted", settings) in vmop_events(dvp, op)
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")


def test_it_interrupts_a_migration_when_its_operation_is_deleted(dvp):
    source = dvp.wait_phase("virtualmachines", "linux-vm", "Running")["status"]["nodeName"]
    op = k(dvp, "create", "-f", "-", stdin=GUIDE_EVICT).stdout.split()[0].split("/")[1]
    dvp.wait("virtualmachines", "linux-vm", lambda o: o["status"]["phase"] == "Migrating")
    k(dvp, "delete", "vmop", op)
    vm = dvp.wait("virtualmachines", "linux-vm", lambda o: o["status"]["phase"] == "Running"
                  and o["status"]["migrationState"]["result"] == "Failed")
    assert vm["status"]["nodeName"] == source and condition(vm, "Migrating") is None


def test_it_does_not_migrate_a_vm_whose_disks_are_on_local_storage(dvp, psim):
    """Live migration needs ReadWriteMany disks; a disk on a node-local StorageClass (sds-local-volume) is
    ReadWriteOnce, so the VM is not Migratable and an Evict fails (the Community Edition has no volume migration)."""
    storage = client.StorageV1Api(psim.api("admin"))
    storage.create_storage_class({"metadata": {"name": "local-thin"}, "provisioner": "local.csi.storage.deckhouse.io",
                                  "volumeBindingMode": "Immediate", "reclaimPolicy": "Delete"})
    try:
        dvp.create("virtualdisks", blank_disk("local-root", storage_class="local-thin"))
        dvp.create("virtualmachines", vm_body("local-vm", disk="local-root", cpu=SMALL_CPU))
        vm = dvp.wait_phase("virtualmachines", "local-vm", "Running", timeout=30)
        assert condition(vm, "Migratable") == {**condition(vm, "Migratable"), "status": "False",
                                               "reason": "VirtualMachineDisksNotMigratable"}
        assert condition(vm, "Migratable")["message"] == (
            "Live migration requires all disks to use ReadWriteMany (shared) storage. "
            "Make sure the StorageClass supports the ReadWriteMany access mode.")
        wide = k(dvp, "get", "vm", "local-vm", "-o", "wide").stdout.splitlines()
        header = re.split(r"\s{2,}", wide[0].strip())
        assert re.split(r"\s{2,}", wide[1].strip())[header.index("MIGRATABLE")] == "False"
        assert condition(dvp.get("virtualmachines", "linux-vm"), "Migratable")["status"] == "True"  # replicated

        op = dvp.create("virtualmachineoperations", {"metadata": {"generateName": "evict-local-vm-"},
                                                     "spec": {"type": "Evict", "virtualMachineName": "local-vm"}})
        failed = dvp.wait_phase("virtualmachineoperations", op["metadata"]["name"], "Failed")
        assert condition(failed, "Completed")["reason"] == "OperationFailed"
        assert condition(failed, "Completed")["message"] == "VirtualMachine is not migratable, cannot be processed."
        assert dvp.get("virtualmachines", "local-vm")["status"]["nodeName"] == vm["status"]["nodeName"]
        remove_vms(dvp, "local-vm")

        # A local disk hot-plugged into a migratable VM makes it non-migratable until it is unplugged.
        dvp.create("virtualdisks", blank_disk("local-data", storage_class="local-thin"))
        dvp.create("virtualmachineblockdeviceattachments", {"metadata": {"name": "attach-local"}, "spec": {
            "blockDeviceRef": {"kind": "VirtualDisk", "name": "local-data"}, "virtualMachineName": "linux-vm"}})
        dvp.wait("virtualmachines", "linux-vm", lambda o: condition(o, "Migratable")["status"] == "False")
        k(dvp, "delete", "vmbda", "attach-local")
        dvp.wait("virtualmachines", "linux-vm", lambda o: condition(o, "Migratable")["status"] == "True")
    finally:
        for disk in ("local-root", "local-data"):
            if dvp.find("virtualdisks", disk):
                dvp.delete("virtualdisks", disk)
        storage.delete_storage_class("local-thin")


def test_it_migrates_with_a_migrate_operation_but_refuses_a_target_node_in_the_community_edition(dvp):
    source = dvp.wait_phase("virtualmachines", "linux-vm", "Running")["status"]["nodeName"]
    other = next(n for n in NODES if n != source)
    refused = k(dvp, "create", "-f", "-", check=False, stdin=json.dumps({
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
        "metadata": {"generateName": "migrate-linux-vm-"},
        "spec": {"type": "Migrate", "virtualMachineName": "linux-vm",
                 "migrate": {"nodeSelector": {"kubernetes.io/hostname": other}}}}))
    assert refused.returncode != 0
    assert 'admission webhook "vmop.virtualization-controller.validate.d8-virtualization" denied the request: ' \
           "the `nodeSelector` field is not available in the Community Edition version" in refused.stderr, \
        refused.stderr
    op = dvp.create("virtualmachineoperations", {"metadata": {"generateName": "migrate-linux-vm-"},
                                                 "spec": {"type": "Migrate", "virtualMachineName": "linux-vm"}})
    dvp.wait_phase("virtualmachineoperations", op["metadata"]["name"], "Completed", timeout=30)
    vm = dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    assert vm["status"]["nodeName"] != source
    assert ("Migrated", "Migrate initiated with VirtualMachineOperation") in \
        [(e.reason, e.message) for e in dvp.events_about("linux-vm")]


def test_it_moves_running_vms_onto_new_firmware_with_firmware_update_operations(dvp, psim):
    """"Migration types": a module update brings new VM firmware; the guide's `d8 k get vmop` shows the
    `firmware-update-*` Evict that moved the VM. (`POST /dvpsim/firmware` stands in for the module update.)"""
    vm = dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    old = psim.control("firmware")
    assert vm["status"]["versions"] == old
    new = {"libvirt": "10.10.0", "qemu": "9.2.4"}
    rv = vm["metadata"]["resourceVersion"]
    psim.control("firmware", new)
    seen = []
    stream = watch.Watch()
    for event in stream.stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace,
                               "virtualmachines", resource_version=rv, field_selector="metadata.name=linux-vm",
                               timeout_seconds=30):
        status = event["object"].get("status") or {}
        firmware = condition(event["object"], "FirmwareUpToDate") or {}
        seen.append((status.get("phase"), firmware.get("status"), firmware.get("reason")))
        if firmware.get("status") == "False":
            assert firmware["message"] == (
                "The VM firmware version is outdated and not recommended for use with the current version of the "
                "virtualization module, please migrate or reboot the VM to upgrade its firmware version.")
        if status.get("versions") == new and status.get("phase") == "Running" and firmware.get("status") == "True":
            stream.stop()
    assert ("Running", "False", "FirmwareOutOfDate") in seen and ("Migrating", "False", "FirmwareOutOfDate") in seen
    after = dvp.get("virtualmachines", "linux-vm")
    assert after["status"]["versions"] == new and after["status"]["nodeName"] != vm["status"]["nodeName"]
    rows = [line.split() for line in k(dvp, "get", "vmop").stdout.splitlines()[1:]]
    updates = [r for r in rows if r[0].startswith("firmware-update-") and r[4] == "linux-vm"]
    assert [r[1:5] for r in updates] == [["Completed", "100%", "Evict", "linux-vm"]]


def test_it_drains_a_node_by_evacuating_its_vms_with_evacuation_operations(dvp, psim):
    """"Migration types": draining a node (maintenance) live-migrates its VMs through Evict operations named
    `evacuation-*`. kubectl drain evicts the VM's virt-launcher Pod; KubeVirt refuses with 429 and evacuates."""
    vm = dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    node, ip = vm["status"]["nodeName"], vm["status"]["ipAddress"]
    [active] = [p["name"] for p in vm["status"]["virtualMachinePods"] if p["active"]]
    pods = k(dvp, "get", "pods", "-o", "wide").stdout.splitlines()
    row = next(line.split() for line in pods if line.startswith(active))
    assert row[1:3] == ["1/1", "Running"] and row[5:7] == [ip, node]

    drained = kubectl(psim, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s")
    try:
        assert drained.returncode == 0, drained.stderr
        assert f"node/{node} cordoned" in drained.stdout and f"node/{node} drained" in drained.stdout
        assert f'admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: ' \
               f'Eviction triggered evacuation of VMI "{dvp.namespace}/linux-vm"' in drained.stderr
        after = dvp.wait_phase("virtualmachines", "linux-vm", "Running")
        assert after["status"]["nodeName"] != node and after["status"]["ipAddress"] == ip
        ops = dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachineoperations")
        evacuations = [o for o in ops["items"] if o["metadata"]["name"].startswith("evacuation-")
                       and o["spec"]["virtualMachineName"] == "linux-vm"]
        assert [(o["spec"]["type"], o["status"]["phase"]) for o in evacuations] == [("Evict", "Completed")]
        assert active not in k(dvp, "get", "pods").stdout  # the source Pod is gone, the target's runs
        assert kubectl(psim, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == "true"
        # The cordoned node takes no new VM.
        vm_with_disk(dvp, "after-drain", wait=None, nodeSelector={"kubernetes.io/hostname": node})
        assert condition(unplaced(dvp, "after-drain"), "Running")["message"] == NOT_SCHEDULED + (
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node "
            "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        kubectl(psim, "uncordon", node, check=True)
        assert dvp.wait_phase("virtualmachines", "after-drain", "Running", timeout=30)["status"]["nodeName"] == node
        remove_vms(dvp, "after-drain")
    finally:
        kubectl(psim, "uncordon", node, check=True)
