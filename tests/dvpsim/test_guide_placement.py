"""The user guide's "Placement of VMs by nodes", "Attaching block devices", "Organizing interaction with
virtual machines" and "Live virtual machine migration", driven as the guide drives them (kubectl for its
`d8 k` commands) against a private dvpsim whose nodes carry the guide's labels: two `disktype=ssd`, one
`disktype=hdd`.

A private simulator, because these tests label and taint nodes and fill whole nodes to show what a soft rule
does when the preferred nodes are full; the shared one must keep its three plain nodes for the other tests.
"""

import json
import re
import subprocess
import time

import pytest
from kubernetes import client, watch

from tests.conftest import start_sim, stop_sim
from tests.kube import GROUP, VERSION, Dvp, blank_disk, condition, fresh_namespace, sample_url, vm_body
from tests.guest import ssh
from tests.kubectl import KUBECTL, kubectl as run_kubectl

NODES = ("virtlab-pt-1", "virtlab-pt-2", "virtlab-pt-3")
SSD, HDD = {"virtlab-pt-1", "virtlab-pt-2"}, {"virtlab-pt-3"}
SMALL_CPU = {"cores": 1, "coreFraction": "10%"}


@pytest.fixture(scope="module")
def psim():
    sim = start_sim()
    try:
        for node in NODES:
            kubectl(sim, "label", "node", node, f"disktype={'hdd' if node in HDD else 'ssd'}", check=True)
        kubectl(sim, "-n", "project-a", "delete", "vm", "demo-vm", check=True)  # the nodes start empty
        yield sim
    finally:
        stop_sim(sim)


@pytest.fixture(scope="module")
def dvp(psim):
    return Dvp(psim, fresh_namespace(psim, "placement"))


def kubectl(sim, *args, stdin=None, check=False):
    return run_kubectl(sim, *args, stdin=stdin, check=check)


def k(dvp, *args, stdin=None, check=True):
    """The guide's `d8 k …` in the test's namespace."""
    return kubectl(dvp.sim, "-n", dvp.namespace, *args, stdin=stdin, check=check)


def vm_with_disk(dvp, name, wait="Running", labels=None, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    body = vm_body(name, **{"cpu": SMALL_CPU, **spec})
    if labels:
        body["metadata"]["labels"] = labels
    dvp.create("virtualmachines", body)
    return dvp.wait_phase("virtualmachines", name, wait, timeout=30) if wait else None


def remove_vms(dvp, *names):
    for name in names:
        dvp.delete("virtualmachines", name)
    for name in names:
        dvp.wait_gone("virtualmachines", name, timeout=30)


# lifecycle.go: the Running condition quotes the PodScheduled condition KubeVirt copies from the virt-launcher Pod.
NOT_SCHEDULED = "Could not schedule the virtual machine: Unschedulable: "


def unplaced(dvp, name, timeout=30):
    """The VM once the scheduler has said why it cannot place it."""
    return dvp.wait("virtualmachines", name, lambda o: "nodes are available" in (
        (condition(o, "Running") or {}).get("message") or ""), timeout=timeout)


def list_rv(dvp, plural):
    return dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, plural)["metadata"][
        "resourceVersion"]


def phases_since(dvp, plural, name, rv, until, timeout=30):
    """The distinct phases `name` went through after resourceVersion `rv`, up to `until` (a watch replays them)."""
    seen = []
    stream = watch.Watch()
    for event in stream.stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace, plural,
                               resource_version=rv, field_selector=f"metadata.name={name}", timeout_seconds=timeout):
        phase = (event["object"].get("status") or {}).get("phase")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        if phase in until:
            stream.stop()
    return seen


# ---- Placement of VMs by nodes ----------------------------------------------------------------------------------

def test_it_places_a_vm_only_on_the_ssd_nodes_of_its_node_selector(dvp):
    names = ("sel-1", "sel-2", "sel-3")
    # Spread by load alone, three VMs would use all three nodes; the selector keeps them on the two ssd ones.
    nodes = {vm_with_disk(dvp, name, nodeSelector={"disktype": "ssd"})["status"]["nodeName"] for name in names}
    assert nodes <= SSD
    remove_vms(dvp, *names)


def test_it_places_a_vm_by_a_strict_node_affinity_and_excludes_nodes_with_not_in(dvp):
    def affinity(operator):
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "disktype", "operator": operator, "values": ["ssd"]}]}]}}}

    assert vm_with_disk(dvp, "aff-in", affinity=affinity("In"))["status"]["nodeName"] in SSD
    assert vm_with_disk(dvp, "aff-notin", affinity=affinity("NotIn"))["status"]["nodeName"] in HDD
    remove_vms(dvp, "aff-in", "aff-notin")


def test_it_falls_back_to_the_hdd_node_under_a_soft_rule_when_the_ssd_nodes_are_full(dvp):
    # Two VMs that take all 16 CPUs of each ssd node.
    for node in sorted(SSD):
        vm_with_disk(dvp, f"fill-{node[-1]}", cpu={"cores": 16, "coreFraction": "100%"}, memory="16Gi",
                     nodeSelector={"kubernetes.io/hostname": node})
    soft = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
        "matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]}}
    strict = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}]}}}
    soft_vm = vm_with_disk(dvp, "soft", cpu={"cores": 1, "coreFraction": "100%"}, affinity=soft)
    assert soft_vm["status"]["nodeName"] in HDD
    # A strict rule waits instead, and says why in its Running condition (as kube-scheduler words it).
    vm_with_disk(dvp, "strict", wait=None, cpu={"cores": 1, "coreFraction": "100%"}, affinity=strict)
    stuck = unplaced(dvp, "strict")
    assert stuck["status"]["phase"] == "Pending" and not stuck["status"].get("nodeName")
    assert condition(stuck, "Running")["reason"] == "PodNotStarted"
    assert condition(stuck, "Running")["message"] == NOT_SCHEDULED + (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")
    [pod] = [p["name"] for p in stuck["status"]["virtualMachinePods"]]  # it waits, unscheduled
    assert "FailedScheduling" in {e.reason for e in dvp.events_about(pod)}
    # Freed capacity is used at once.
    remove_vms(dvp, "fill-1")
    assert dvp.wait_phase("virtualmachines", "strict", "Running", timeout=30)["status"]["nodeName"] == "virtlab-pt-1"
    remove_vms(dvp, "fill-2", "soft", "strict")


def test_it_places_a_vm_next_to_the_database_vm(dvp):
    database = vm_with_disk(dvp, "database", labels={"server": "database"})["status"]["nodeName"]
    term = {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": "kubernetes.io/hostname"}
    strict = vm_with_disk(dvp, "near-strict", affinity={"virtualMachineAndPodAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    # The soft form: DVP's weighted term is `virtualMachineAndPodAffinityTerm`.
    soft = vm_with_disk(dvp, "near-soft", affinity={"virtualMachineAndPodAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "virtualMachineAndPodAffinityTerm": term}]}})
    assert strict["status"]["nodeName"] == soft["status"]["nodeName"] == database
    remove_vms(dvp, "near-strict", "near-soft")


def test_it_places_vms_in_the_zone_of_the_database_vm(dvp, psim):
    """The web interface's "In one zone" = topologyKey topology.kubernetes.io/zone."""
    zones = {"virtlab-pt-1": "zone-a", "virtlab-pt-2": "zone-a", "virtlab-pt-3": "zone-b"}
    for node, zone in zones.items():
        kubectl(psim, "label", "node", node, f"topology.kubernetes.io/zone={zone}", "--overwrite", check=True)
    try:
        term = {"labelSelector": {"matchLabels": {"server": "zonal-db"}}, "topologyKey": "topology.kubernetes.io/zone"}
        vm_with_disk(dvp, "zonal-db", labels={"server": "zonal-db"}, nodeSelector={"kubernetes.io/hostname": "virtlab-pt-3"})
        names = ("zonal-1", "zonal-2")
        placed = [vm_with_disk(dvp, name, affinity={"virtualMachineAndPodAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term]}})["status"]["nodeName"] for name in names]
        assert placed == ["virtlab-pt-3", "virtlab-pt-3"]  # zone-b has one node
        dvp.patch("virtualmachines", "zonal-db", {"spec": {"nodeSelector": {"kubernetes.io/hostname": "virtlab-pt-1"}}})
        remove_vms(dvp, *names)
        k(dvp, "create", "-f", "-", stdin=json.dumps({
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
            "metadata": {"generateName": "restart-zonal-db-"}, "spec": {"type": "Restart", "virtualMachineName": "zonal-db"}}))
        dvp.wait("virtualmachines", "zonal-db", lambda o: o["status"].get("nodeName") == "virtlab-pt-1"
                 and o["status"].get("phase") == "Running", timeout=30)
        names = ("zonal-3", "zonal-4")
        placed = {vm_with_disk(dvp, name, affinity={"virtualMachineAndPodAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term]}})["status"]["nodeName"] for name in names}
        assert placed <= {"virtlab-pt-1", "virtlab-pt-2"}  # zone-a, whichever node is emptier
        remove_vms(dvp, "zonal-db", *names)
    finally:
        for node, zone in zip(NODES, ("zone-a", "zone-b", "zone-c")):  # the demo's zones
            kubectl(psim, "label", "node", node, f"topology.kubernetes.io/zone={zone}", "--overwrite", check=True)


def test_it_waits_for_the_vm_its_strict_affinity_refers_to_and_starts_next_to_it(dvp):
    """"Consider the order in which interdependent VMs are launched": a backend that must run next to its
    database waits until the database runs, then lands on its node."""
    term = {"labelSelector": {"matchLabels": {"server": "database-2"}}, "topologyKey": "kubernetes.io/hostname"}
    vm_with_disk(dvp, "backend", wait=None, affinity={"virtualMachineAndPodAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    assert condition(unplaced(dvp, "backend"), "Running")["message"] == NOT_SCHEDULED + (
        "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    database = vm_with_disk(dvp, "database-2", labels={"server": "database-2"})["status"]["nodeName"]
    assert dvp.wait_phase("virtualmachines", "backend", "Running", timeout=30)["status"]["nodeName"] == database
    remove_vms(dvp, "backend", "database-2")


def test_it_refuses_the_guides_vm_affinity_example_that_puts_a_weighted_term_under_required(dvp):
    """The guide's "soft rule" example lists `weight` + `podAffinityTerm` under `requiredDuring…`; the CRD's
    required items are plain terms with a required `topologyKey`, so the API server refuses it: by the unknown
    fields under kubectl's strict validation, by the missing topologyKey once they are dropped."""
    fragment = {"affinity": {"virtualMachineAndPodAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": {"server": "database"}},
                                          "topologyKey": "kubernetes.io/hostname"}}]}}}
    dvp.create("virtualdisks", blank_disk("guide-aff-root"))
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachine", **vm_body("guide-aff", cpu=SMALL_CPU)}
    body["spec"].update(fragment)
    term = "spec.affinity.virtualMachineAndPodAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
    refused = k(dvp, "apply", "-f", "-", stdin=json.dumps(body), check=False)  # kubectl's default: Strict
    assert refused.returncode != 0
    assert f'strict decoding error: unknown field "{term}.podAffinityTerm", unknown field "{term}.weight"' \
        in refused.stderr, refused.stderr
    pruned = k(dvp, "apply", "--validate=false", "-f", "-", stdin=json.dumps(body), check=False)
    assert pruned.returncode != 0  # the unknown fields dropped, the term lacks its topologyKey
    assert f"{term}.topologyKey: Required value" in pruned.stderr, pruned.stderr


def test_it_keeps_a_vm_off_the_node_of_the_database_vm_with_anti_affinity(dvp):
    database = dvp.get("virtualmachines", "database")["status"]["nodeName"]
    anti = {"virtualMachineAndPodAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    names = ("apart-1", "apart-2", "apart-3")
    nodes = [vm_with_disk(dvp, name, affinity=anti)["status"]["nodeName"] for name in names]
    assert database not in nodes
    remove_vms(dvp, *names)


def test_it_words_the_reasons_as_kube_scheduler_orders_its_filters():
    """TaintToleration, NodeAffinity and NodeResourcesFit run before InterPodAffinity; FitError sorts its counts."""
    from dvpsim import scheduling

    def node(name, **extra):
        return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}, **extra,
                "status": {"allocatable": {"cpu": "2", "memory": "8Gi"}}}

    def vm(name, cores, node_name=None, labels=None, **spec):
        return {"metadata": {"name": name, "namespace": "p", "labels": labels or {}},
                "spec": {"cpu": {"cores": cores, "coreFraction": "100%"}, "memory": {"size": "1Gi"}, **spec},
                "status": {"nodeName": node_name} if node_name else {}}

    nodes = [node("a"), node("b"), node("c", spec={"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]})]
    placed = [vm("db-a", 2, "a", {"server": "db"}), vm("db-b", 1, "b", {"server": "db"})]
    anti = {"virtualMachineAndPodAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"server": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    assert scheduling.place(vm("x", 1, affinity=anti), nodes, placed) == (None, (
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match pod anti-affinity rules, "
        "1 node(s) had untolerated taint {k: v}. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."))


def test_it_applies_the_class_node_selector_together_with_the_vms_rules(dvp, psim):
    generic = dvp.get("virtualmachineclasses", "generic")
    name = f"ssd-only-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {
        "cpu": {"type": "Discovery", "discovery": {}}, "sizingPolicies": generic["spec"]["sizingPolicies"],
        "nodeSelector": {"matchLabels": {"disktype": "ssd"}}}})
    try:
        nodes = {vm_with_disk(dvp, f"cls-{i}", virtualMachineClassName=name)["status"]["nodeName"] for i in (1, 2, 3)}
        assert nodes <= SSD
        # The class wants ssd, the VM wants the hdd node: no node satisfies both, the VM does not start.
        vm_with_disk(dvp, "cls-clash", wait=None, virtualMachineClassName=name,
                     nodeSelector={"kubernetes.io/hostname": "virtlab-pt-3"})
        assert condition(unplaced(dvp, "cls-clash"), "Running")["message"] == NOT_SCHEDULED + (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        remove_vms(dvp, "cls-1", "cls-2", "cls-3", "cls-clash")
    finally:
        dvp.delete("virtualmachineclasses", name)


def test_it_keeps_vms_off_a_tainted_node_unless_they_or_their_class_tolerate_it(dvp, psim):
    kubectl(psim, "taint", "node", "virtlab-pt-3", "dedicated=database:NoSchedule", check=True)
    try:
        pinned = {"kubernetes.io/hostname": "virtlab-pt-3"}
        vm_with_disk(dvp, "tainted", wait=None, nodeSelector=pinned)
        assert condition(unplaced(dvp, "tainted"), "Running")["message"] == NOT_SCHEDULED + (
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: database}, "
            "2 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        toleration = {"key": "dedicated", "operator": "Equal", "value": "database", "effect": "NoSchedule"}
        dvp.patch("virtualmachines", "tainted", {"spec": {"tolerations": [toleration]}})
        assert dvp.wait_phase("virtualmachines", "tainted", "Running", timeout=30)["status"]["nodeName"] == \
            "virtlab-pt-3"

        generic = dvp.get("virtualmachineclasses", "generic")
        name = f"tolerant-{dvp.namespace}"
        dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {
            "cpu": {"type": "Discovery", "discovery": {}}, "sizingPolicies": generic["spec"]["sizingPolicies"],
            "tolerations": [{"key": "dedicated", "operator": "Exists"}]}})
        try:
            placed = vm_with_disk(dvp, "tolerant", virtualMachineClassName=name, nodeSelector=pinned)
            assert placed["status"]["nodeName"] == "virtlab-pt-3"
            remove_vms(dvp, "tainted", "tolerant")
        finally:
            dvp.delete("virtualmachineclasses", name)
    finally:
        kubectl(psim, "taint", "node", "virtlab-pt-3", "dedicated-", check=True)


def test_it_waits_for_a_restart_when_new_placement_rules_exclude_the_node_in_the_community_edition(dvp, psim):
    """"Live migration … when changing placement parameters (not available in CE)": green and blue node groups.
    dvpsim is the Community Edition (the AutoMigrationIfNodePlacementChanged gate is edition-locked, dvp-api-notes
    §7.1): the VM stays where it is and awaits a restart, no `nodeplacement-update-*` operation appears."""
    # A VM without placement rules runs on a node of the green group; the other nodes are blue.
    green = vm_with_disk(dvp, "grouped")["status"]["nodeName"]
    for node in NODES:
        kubectl(psim, "label", "node", node, f"node.deckhouse.io/group={'green' if node == green else 'blue'}",
                "--overwrite", check=True)
    try:
        # Step 1: green, which the VM's node already is: the VM stays and needs nothing.
        k(dvp, "patch", "vm", "grouped", "--type", "merge",
          "-p", '{"spec":{"nodeSelector":{"node.deckhouse.io/group":"green"}}}')
        time.sleep(0.5)  # ten simulated seconds
        vm = dvp.get("virtualmachines", "grouped")
        assert vm["status"]["phase"] == "Running" and vm["status"]["nodeName"] == green
        assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "False"
        assert not vm["status"].get("restartAwaitingChanges")
        # Step 2: blue. The node no longer matches; in CE the change waits for a restart.
        k(dvp, "patch", "vm", "grouped", "--type", "merge",
          "-p", '{"spec":{"nodeSelector":{"node.deckhouse.io/group":"blue"}}}')
        vm = dvp.wait("virtualmachines", "grouped", lambda o: (condition(
            o, "AwaitingRestartToApplyConfiguration") or {}).get("status") == "True")
        assert vm["status"]["nodeName"] == green and vm["status"]["phase"] == "Running"
        # Step 1 was applied to the running VM; vmchange reports the field whole.
        assert vm["status"]["restartAwaitingChanges"] == [{
            "operation": "replace", "path": "nodeSelector", "currentValue": {"node.deckhouse.io/group": "green"},
            "desiredValue": {"node.deckhouse.io/group": "blue"}}]
        ops = dvp.custom.list_namespaced_custom_object(GROUP, VERSION, dvp.namespace, "virtualmachineoperations")
        assert not [o for o in ops["items"] if o["metadata"]["name"].startswith("nodeplacement-update-")]
        k(dvp, "create", "-f", "-", stdin=json.dumps({
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
            "metadata": {"generateName": "restart-grouped-"},
            "spec": {"type": "Restart", "virtualMachineName": "grouped"}}))
        vm = dvp.wait("virtualmachines", "grouped", lambda o: o["status"].get("phase") == "Running"
                      and o["status"].get("nodeName") not in (None, green), timeout=30)
        assert not vm["status"].get("restartAwaitingChanges")
        remove_vms(dvp, "grouped")
    finally:
        for node in NODES:
            kubectl(psim, "label", "node", node, "node.deckhouse.io/group=worker", "--overwrite", check=True)


# ---- Attaching block devices ------------------------------------------------------------------------------------

async def lsblk(sim, dvp, name):
    """The guide's `d8 v ssh cloud@<vm> --local-ssh --command "lsblk"` (SSH through the portforward subresource)."""
    return await ssh(sim, dvp, name, "lsblk")


def lsblk_rows(listing):
    return {line.split()[0]: line.split() for line in listing.splitlines() if re.match(r"^[a-z├└]", line)}


def guide_vm(dvp, name="linux-vm"):
    dvp.create("virtualdisks", blank_disk(f"{name}-root", "10Gi"))
    dvp.create("virtualmachines", vm_body(name, cpu=SMALL_CPU))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


async def test_it_lists_static_devices_in_boot_order_and_waits_for_a_restart_to_reorder_them(dvp, psim):
    for disk in ("boot-a", "boot-b"):
        dvp.create("virtualdisks", blank_disk(disk, "2Gi"))
    # A project image after the disks: connected read-only (the guide's table).
    dvp.create("virtualimages", {"metadata": {"name": "static-image"}, "spec": {
        "storage": "ContainerRegistry",
        "dataSource": {"type": "HTTP", "http": {"url": sample_url(psim, "alpine-virt.qcow2")}}}})
    refs = [{"kind": "VirtualDisk", "name": "boot-a"}, {"kind": "VirtualDisk", "name": "boot-b"},
            {"kind": "VirtualImage", "name": "static-image"}]
    dvp.create("virtualmachines", vm_body("booter", cpu=SMALL_CPU, blockDeviceRefs=refs))
    vm = dvp.wait_phase("virtualmachines", "booter", "Running", timeout=30)
    assert [d["name"] for d in vm["status"]["blockDeviceRefs"]] == ["boot-a", "boot-b", "static-image"]
    rows = lsblk_rows(await lsblk(psim, dvp, "booter"))
    assert (rows["sda"][3], rows["sda"][4]) == ("2G", "0") and (rows["sdb"][3], rows["sdb"][4]) == ("2G", "0")
    assert (rows["sdc"][3], rows["sdc"][4], rows["sdc"][5]) == ("200M", "1", "disk")  # the image, read-only
    assert rows["sdd"][3] == "1M"  # then cloud-init
    k(dvp, "patch", "vm", "booter", "--type", "merge",
      "-p", json.dumps({"spec": {"blockDeviceRefs": [refs[1], refs[0], refs[2]]}}))
    vm = dvp.wait("virtualmachines", "booter", lambda o: o["status"].get("restartAwaitingChanges"))
    assert [c["path"] for c in vm["status"]["restartAwaitingChanges"]] == ["blockDeviceRefs"]
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "True"
    remove_vms(dvp, "booter")


async def test_it_hot_plugs_the_blank_disk_as_the_guide_shows_and_detaches_it(dvp, psim):
    guide_vm(dvp)
    rv = list_rv(dvp, "virtualmachineblockdeviceattachments")
    out = k(dvp, "apply", "-f", "-", stdin="""apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineBlockDeviceAttachment
metadata:
  name: attach-blank-disk
spec:
  blockDeviceRef:
    kind: VirtualDisk
    name: blank-disk
  virtualMachineName: linux-vm
""").stdout
    assert "virtualmachineblockdeviceattachment.virtualization.deckhouse.io/attach-blank-disk created" in out
    # Pending while a dependent resource is missing: the disk is made only now.
    pending = dvp.wait("virtualmachineblockdeviceattachments", "attach-blank-disk",
                       lambda o: condition(o, "BlockDeviceReady") is not None)
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "BlockDeviceReady")["status"] == "False"
    # The guide's blank-disk, as its "Disks" section makes it (100Mi; its lsblk example shows an older 95.9M disk).
    dvp.create("virtualdisks", blank_disk("blank-disk", "100Mi"))
    phases = phases_since(dvp, "virtualmachineblockdeviceattachments", "attach-blank-disk", rv, ("Attached", "Failed"))
    assert phases == ["Pending", "InProgress", "Attached"], phases
    attached = dvp.get("virtualmachineblockdeviceattachments", "attach-blank-disk")
    assert {c["type"]: c["status"] for c in attached["status"]["conditions"]} == {
        "BlockDeviceReady": "True", "VirtualMachineReady": "True", "Attached": "True"}

    table = k(dvp, "get", "vmbda", "attach-blank-disk").stdout.splitlines()
    # dvp-api-notes §2: the columns are PHASE and VIRTUALMACHINE (the guide shows an older "VIRTUAL MACHINE NAME").
    assert table[0].split() == ["NAME", "PHASE", "VIRTUALMACHINE", "AGE"]
    assert table[1].split()[:3] == ["attach-blank-disk", "Attached", "linux-vm"]

    vm = dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    assert (condition(vm, "AwaitingRestartToApplyConfiguration") or {}).get("status") != "True"
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert rows["sda"][3] == "10G" and rows["sda"][5] == "disk"          # the static linux-vm-root
    assert rows["├─sda1"][-1] == "/" and rows["└─sda15"][-1] == "/boot/efi"
    assert rows["sdb"][3] == "1M"                                        # cloud-init
    assert rows["sdc"][3] == "100M" and rows["sdc"][4] == "0"            # the hot-plugged blank-disk, read-write

    k(dvp, "delete", "vmbda", "attach-blank-disk")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)
    assert "sdc" not in lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert dvp.get("virtualmachines", "linux-vm")["status"]["phase"] == "Running"  # no reboot


async def test_it_attaches_an_iso_image_as_a_cdrom(dvp, psim):
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    dvp.create("virtualimages", {"metadata": {"name": "ubuntu-iso"}, "spec": {
        "storage": "ContainerRegistry",
        "dataSource": {"type": "HTTP", "http": {"url": sample_url(psim, "install.iso")}}}})
    assert dvp.wait_phase("virtualimages", "ubuntu-iso", "Ready", timeout=30)["status"]["cdrom"] is True
    k(dvp, "apply", "-f", "-", stdin="""apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineBlockDeviceAttachment
metadata:
  name: attach-ubuntu-iso
spec:
  blockDeviceRef:
    kind: VirtualImage # or ClusterVirtualImage
    name: ubuntu-iso
  virtualMachineName: linux-vm
""")
    dvp.wait_phase("virtualmachineblockdeviceattachments", "attach-ubuntu-iso", "Attached")
    wide = k(dvp, "get", "vmbda", "attach-ubuntu-iso", "-o", "wide").stdout.splitlines()
    # The CRD's order: PHASE, BLOCKDEVICE KIND, BLOCKDEVICE NAME (wide), VIRTUALMACHINE, AGE.
    assert re.split(r"\s{2,}", wide[0].strip()) == ["NAME", "PHASE", "BLOCKDEVICE KIND", "BLOCKDEVICE NAME",
                                                    "VIRTUALMACHINE", "AGE"]
    assert wide[1].split()[:5] == ["attach-ubuntu-iso", "Attached", "VirtualImage", "ubuntu-iso", "linux-vm"]
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert rows["sr0"][2] == "1" and rows["sr0"][-1] == "rom"            # removable, read-only medium
    k(dvp, "delete", "vmbda", "attach-ubuntu-iso")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)

    # "or ClusterVirtualImage": the demo's Alpine cluster image, a disk image, is attached read-only.
    dvp.create("virtualmachineblockdeviceattachments", {"metadata": {"name": "attach-alpine"}, "spec": {
        "blockDeviceRef": {"kind": "ClusterVirtualImage", "name": "alpine-virt"}, "virtualMachineName": "linux-vm"}})
    dvp.wait_phase("virtualmachineblockdeviceattachments", "attach-alpine", "Attached")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert (rows["sdc"][3], rows["sdc"][4], rows["sdc"][5]) == ("200M", "1", "disk")
    k(dvp, "delete", "vmbda", "attach-alpine")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)


# ---- Organizing interaction with virtual machines ---------------------------------------------------------------

async def test_it_routes_the_guides_services_to_the_vm_labelled_app_nginx(dvp, psim):
    ip = dvp.get("virtualmachines", "linux-vm")["status"]["ipAddress"]
    assert k(dvp, "label", "vm", "linux-vm", "app=nginx").stdout.strip() == \
        "virtualmachine.virtualization.deckhouse.io/linux-vm labeled"

    def endpoints(name):
        deadline = time.monotonic() + 20
        out = ""
        while time.monotonic() < deadline:
            out = k(dvp, "get", "endpoints", name, "-o", "jsonpath={.subsets[*].addresses[*].ip}", check=False).stdout
            if out:
                return out.split()
            time.sleep(0.1)
        raise AssertionError(f"endpoints {name}: {out!r}")

    # Headless: no cluster IP, the name resolves to the VMs' own addresses.
    k(dvp, "apply", "-f", "-", stdin=f"""apiVersion: v1
kind: Service
metadata:
  name: http
  namespace: {dvp.namespace}
spec:
  clusterIP: None
  selector:
    # Label by which the service determines which virtual machine to direct traffic to.
    app: nginx
""")
    assert k(dvp, "get", "svc", "http", "-o", "jsonpath={.spec.clusterIP}").stdout == "None"
    assert endpoints("http") == [ip]
    # "After creation, the VM or VM group can be accessed by name: http.<namespace>.svc" (from inside a VM).
    resolved = await ssh(psim, dvp, "linux-vm", f"getent hosts http.{dvp.namespace}.svc")
    assert resolved.split() == [ip, f"http.{dvp.namespace}.svc.cluster.local"]

    # The guide's ClusterIP example has no ports, which Kubernetes refuses for a non-headless Service.
    refused = k(dvp, "apply", "-f", "-", check=False, stdin="""apiVersion: v1
kind: Service
metadata:
  name: http-clusterip
spec:
  selector:
    app: nginx
""")
    assert refused.returncode != 0 and 'The Service "http-clusterip" is invalid: spec.ports: Required value' in \
        refused.stderr, refused.stderr

    k(dvp, "apply", "-f", "-", stdin="""apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx-nodeport
spec:
  type: NodePort
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
      nodePort: 31880
---
apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx-lb
spec:
  type: LoadBalancer
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx
spec:
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
""")
    services = {line.split()[0]: line.split() for line in k(dvp, "get", "svc").stdout.splitlines()[1:]}
    assert services["linux-vm-nginx-nodeport"][1] == "NodePort" and services["linux-vm-nginx-nodeport"][4] == \
        "80:31880/TCP"
    # Without an explicit nodePort one is assigned, visible right after creation.
    assert services["linux-vm-nginx-lb"][1] == "LoadBalancer" and \
        re.fullmatch(r"80:3\d{4}/TCP", services["linux-vm-nginx-lb"][4])
    assert services["linux-vm-nginx"][1] == "ClusterIP" and services["linux-vm-nginx"][2].startswith("10.222.")
    for name in ("linux-vm-nginx-nodeport", "linux-vm-nginx-lb", "linux-vm-nginx"):
        assert endpoints(name) == [ip], name
    assert f"{ip}:80" in k(dvp, "describe", "svc", "linux-vm-nginx").stdout
    cluster_ip = services["linux-vm-nginx"][2]
    looked_up = await ssh(psim, dvp, "linux-vm", "nslookup linux-vm-nginx")
    assert f"Name:\tlinux-vm-nginx.{dvp.namespace}.svc.cluster.local\nAddress: {cluster_ip}" in looked_up
    assert "NXDOMAIN" in await ssh(psim, dvp, "linux-vm", "nslookup no-such-service")

    out = k(dvp, "apply", "-f", "-", stdin="""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: linux-vm
spec:
  rules:
    - host: linux-vm.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: linux-vm-nginx
                port:
                  number: 80
""").stdout
    assert "ingress.networking.k8s.io/linux-vm created" in out
    ingress = k(dvp, "get", "ingress", "linux-vm").stdout.splitlines()
    assert ingress[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert ingress[1].split()[:3] == ["linux-vm", "<none>", "linux-vm.example.com"] and "80" in ingress[1].split()

    # Membership follows the label.
    k(dvp, "label", "vm", "linux-vm", "app-")
    deadline = time.monotonic() + 20
    while k(dvp, "get", "endpoints", "linux-vm-nginx", "-o", "jsonpath={.subsets[*].addresses[*].ip}").stdout:
        assert time.monotonic() < deadline, "the unlabelled VM stayed an endpoint"
        time.sleep(0.1)
    k(dvp, "delete", "ingress", "linux-vm")
    k(dvp, "delete", "svc", "http", "linux-vm-nginx-nodeport", "linux-vm-nginx-lb", "linux-vm-nginx")


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
