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


def test_it_allocates_the_first_free_address_after_the_gateway():
    cidrs = ["10.66.10.0/30", "10.66.20.0/24"]
    assert ipam.allocate(cidrs, set()) == "10.66.10.2"
    assert ipam.allocate(cidrs, {"10.66.10.2"}) == "10.66.20.2"
    assert ipam.lease_name("10.66.10.2") == "ip-10-66-10-2"
    assert ipam.address_of_lease("ip-10-66-10-2") == "10.66.10.2"


def test_it_returns_none_when_the_subnets_are_full():
    assert ipam.allocate(["10.0.0.0/30"], {"10.0.0.2"}) is None


def test_it_places_a_vm_on_the_least_loaded_node_that_fits():
    nodes = [node("a"), node("b")]
    assert scheduling.pick_node(vm("x"), nodes, [vm("y", node_name="a")]) == "b"
    assert scheduling.pick_node(vm("big", cores=17), nodes, []) is None


def test_it_honours_the_node_selector():
    nodes = [node("a", zone="z1"), node("b", zone="z2")]
    assert scheduling.pick_node(vm("x", nodeSelector={"zone": "z2"}), nodes, []) == "b"
    assert scheduling.pick_node(vm("x", nodeSelector={"zone": "z3"}), nodes, []) is None
