"""IP allocation and node selection, without a server."""

from dvpsim import ipam, scheduling


def node(name, cpu="16", memory="64Gi", **labels):
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
            "status": {"allocatable": {"cpu": cpu, "memory": memory},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def vm(name, cores=1, memory="1Gi", node_name=None, **spec):
    obj = {"metadata": {"name": name}, "spec": {"cpu": {"cores": cores, "coreFraction": "100%"},
                                                  "memory": {"size": memory}, **spec}}
    if node_name:
        obj["status"] = {"nodeName": node_name}
    return obj


def test_it_allocates_a_random_free_address_but_never_the_network_or_broadcast_one():
    cidrs = ["10.66.10.0/30", "10.66.20.0/24"]  # the guide: every address but the first and the last of a subnet
    assert {ipam.allocate(cidrs, set()) for _ in range(200)} == {"10.66.10.1", "10.66.10.2"}  # the first subnet first
    full = {"10.66.10.1", "10.66.10.2"}
    assert len({ipam.allocate(cidrs, full) for _ in range(200)}) > 100  # random among 10.66.20.1-254
    assert ipam.allocate(cidrs, full | {f"10.66.20.{i}" for i in range(2, 255)}) == "10.66.20.1"
    assert ipam.lease_name("10.66.10.2") == "ip-10-66-10-2"
    assert ipam.address_of_lease("ip-10-66-10-2") == "10.66.10.2"


def test_it_returns_none_when_the_subnets_are_full():
    assert ipam.allocate(["10.0.0.0/30"], {"10.0.0.1", "10.0.0.2"}) is None


def test_it_places_a_vm_on_the_least_loaded_node_that_fits():
    nodes = [node("a"), node("b")]
    assert scheduling.pick_node(vm("x"), nodes, [vm("y", node_name="a")]) == "b"
    assert scheduling.pick_node(vm("big", cores=17), nodes, []) is None


def test_it_honours_the_node_selector():
    nodes = [node("a", zone="z1"), node("b", zone="z2")]
    assert scheduling.pick_node(vm("x", nodeSelector={"zone": "z2"}), nodes, []) == "b"
    assert scheduling.pick_node(vm("x", nodeSelector={"zone": "z3"}), nodes, []) is None


def test_it_supports_every_node_affinity_operator():
    nodes = [node("a", disktype="ssd", cores="8"), node("b", disktype="hdd", cores="32"), node("c")]

    def where(*expressions):
        spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]}}}}
        return set(scheduling.feasible_nodes(vm("x", **spec), nodes, []))

    assert where({"key": "disktype", "operator": "In", "values": ["ssd"]}) == {"a"}
    assert where({"key": "disktype", "operator": "NotIn", "values": ["ssd"]}) == {"b", "c"}
    assert where({"key": "disktype", "operator": "Exists"}) == {"a", "b"}
    assert where({"key": "disktype", "operator": "DoesNotExist"}) == {"c"}
    assert where({"key": "cores", "operator": "Gt", "values": ["16"]}) == {"b"}
    assert where({"key": "cores", "operator": "Lt", "values": ["16"]}) == {"a"}


def test_it_prefers_nodes_by_the_weights_of_soft_rules():
    nodes = [node("a", disktype="hdd"), node("b", disktype="ssd"), node("c", disktype="nvme")]
    preferred = [{"weight": 10, "preference": {"matchExpressions": [
                     {"key": "disktype", "operator": "In", "values": ["ssd"]}]}},
                 {"weight": 50, "preference": {"matchExpressions": [
                     {"key": "disktype", "operator": "In", "values": ["nvme"]}]}}]
    spec = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}}
    assert scheduling.place(vm("x", **spec), nodes, []) == ("c", "")
    # A soft rule never prevents placement.
    assert scheduling.place(vm("x", **spec), nodes[:1], []) == ("a", "")


def _labelled(name, node_name, **labels):
    obj = vm(name, node_name=node_name)
    obj["metadata"].update(namespace="p", labels=labels)
    return obj


def test_it_places_a_vm_near_other_vms_by_topology_key():
    nodes = [node("a", **{"topology.kubernetes.io/zone": "z1"}), node("b", **{"topology.kubernetes.io/zone": "z1"}),
             node("c", **{"topology.kubernetes.io/zone": "z2"})]
    database = _labelled("db", "b", server="database")

    def near(topology_key, strength="requiredDuringSchedulingIgnoredDuringExecution"):
        term = {"labelSelector": {"matchLabels": {"server": "database"}}, "topologyKey": topology_key}
        if strength.startswith("preferred"):
            term = {"weight": 100, "virtualMachineAndPodAffinityTerm": term}
        app = vm("app", affinity={"virtualMachineAndPodAffinity": {strength: [term]}})
        app["metadata"]["namespace"] = "p"
        return set(scheduling.feasible_nodes(app, nodes, [database])), \
            scheduling.place(app, nodes, [database])

    allowed, _ = near("kubernetes.io/hostname")
    assert allowed == {"b"}
    allowed, _ = near("topology.kubernetes.io/zone")
    assert allowed == {"a", "b"}
    # Preferred: every node is allowed, the database's node wins despite its load.
    allowed, (best, _) = near("kubernetes.io/hostname", "preferredDuringSchedulingIgnoredDuringExecution")
    assert allowed == {"a", "b", "c"} and best == "b"


def test_it_keeps_apart_vms_with_anti_affinity_in_one_zone():
    nodes = [node("a", **{"topology.kubernetes.io/zone": "z1"}), node("b", **{"topology.kubernetes.io/zone": "z1"}),
             node("c", **{"topology.kubernetes.io/zone": "z2"})]
    term = {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
            "topologyKey": "topology.kubernetes.io/zone"}
    web = vm("web-2", affinity={"virtualMachineAndPodAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    web["metadata"]["namespace"] = "p"
    assert scheduling.place(web, nodes, [_labelled("web-1", "a", app="web")]) == ("c", "")
    assert scheduling.place(web, nodes, [_labelled("web-1", "a", app="web"), _labelled("web-3", "c", app="web")]) == (
        None, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
              "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")
    # VMs of another project do not count.
    other = _labelled("web-1", "a", app="web")
    other["metadata"]["namespace"] = "elsewhere"
    assert scheduling.feasible_nodes(web, nodes, [other]) == ["a", "b", "c"]
