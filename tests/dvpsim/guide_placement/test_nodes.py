"""The user guide's "Placement of VMs by nodes", driven as the guide drives it (kubectl for its `d8 k`
commands) against a private dvpsim whose nodes carry the guide's labels."""

import json
import time

from tests.kube import GROUP, VERSION, blank_disk, condition, vm_body
from tests.dvpsim.guide_placement.helpers import (
    HDD,
    k,
    kubectl,
    NODES,
    NOT_SCHEDULED,
    remove_vms,
    SMALL_CPU,
    SSD,
    unplaced,
    vm_with_disk,
)


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
