"""The VM's Placement tab: the guide's blocks, saved as the user, and a node preview made as the user."""
import pytest
from tests.kube import action_url, get_dvp, make_vm
from tests.kube import tab_url, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")

EMPTY_ROWS = {"node_strength": "required", "node_weight": "", "node_key": "", "node_operator": "In",
              "node_values": "", "near_strength": "required", "near_weight": "", "near_key": "", "near_value": "",
              "near_topology": "kubernetes.io/hostname", "apart_strength": "required", "apart_weight": "",
              "apart_key": "", "apart_value": "", "apart_topology": "kubernetes.io/hostname", "apart_use": "0",
              "selector_key": "", "selector_value": ""}


def rules(vm, **fields):
    return {"resource_version": vm["metadata"]["resourceVersion"], **EMPTY_ROWS, **fields}


def test_it_saves_the_guide_blocks_as_placement_rules(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "placement", "save"), rules(
        vm, selector_key="node.deckhouse.io/group", selector_value="worker",
        node_strength=["required", "preferred"], node_weight=["", "20"], node_key=["kubernetes.io/os", "disktype"],
        node_operator=["In", "Exists"], node_values=["linux", ""],
        near_strength="preferred", near_weight="5", near_key="server", near_value="database",
        near_topology="topology.kubernetes.io/zone",
        apart_key="app", apart_value="web"))
    assert response.status_code == 302
    spec = get_dvp(sim, "virtualmachines", project, name)["spec"]
    assert spec["nodeSelector"] == {"node.deckhouse.io/group": "worker"}
    affinity = spec["affinity"]
    assert affinity["nodeAffinity"] == {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 20, "preference": {"matchExpressions": [{"key": "disktype", "operator": "Exists"}]}}]}
    assert affinity["virtualMachineAndPodAffinity"] == {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "virtualMachineAndPodAffinityTerm": {"labelSelector": {"matchLabels": {"server": "database"}},
                                          "topologyKey": "topology.kubernetes.io/zone"}}]}
    assert affinity["virtualMachineAndPodAntiAffinity"] == {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}
    # The saved rules come back into the same blocks.
    page = owner.get(tab_url(project, name, "placement")).content.decode()
    assert 'name="selector_key" value="node.deckhouse.io/group"' in page
    assert 'name="near_key" value="server"' in page and 'value="topology.kubernetes.io/zone" selected' in page
    # Clearing every row removes the rules.
    vm = get_dvp(sim, "virtualmachines", project, name)
    page_base = page.split('name="base" value="')[1].split('"')[0].replace("&quot;", '"')
    assert owner.post(action_url(project, name, "placement", "save"), {**rules(vm), "base": page_base}).status_code == 302
    spec = get_dvp(sim, "virtualmachines", project, name)["spec"]
    assert "nodeSelector" not in spec and not spec.get("affinity")


def test_it_puts_bad_rules_on_their_fields_and_saves_nothing(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "placement", "save"), rules(
        vm, node_key=["disktype", "cores", "gpu"], node_operator=["In", "Gt", "Exists"], node_values=["", "many", "x"],
        node_strength=["required", "preferred", "required"], node_weight=["", "500", ""]))
    assert response.status_code == 422
    page = response.content.decode()
    assert "In needs at least one value" in page
    assert "Gt needs exactly one whole number." in page
    assert "Exists takes no values; clear this field." in page
    assert "The weight is a whole number from 1 to 100." in page
    assert 'name="node_values" value="many"' in page
    assert "affinity" not in get_dvp(sim, "virtualmachines", project, name)["spec"]


def test_it_says_which_permission_the_preview_needs(project, owner, sim, unique):
    name = unique("plc")
    make_vm(sim, project, name, f"{name}-root")
    page = owner.get(tab_url(project, name, "placement")).content.decode()
    assert "You may not list Nodes (it needs the list permission on nodes, cluster-wide)" in page
    preview = page[page.index('id="placement-preview"'):]
    assert "nodes fit." not in preview and "<td>virtlab-pt-" not in preview


def test_it_previews_the_nodes_that_fit_and_warns_when_none_do(project, cast, login, sim, unique, db):
    operator = login(cast.operator)
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = operator.post(action_url(project, name, "placement", "review"), rules(
        vm, node_key="topology.kubernetes.io/zone", node_operator="NotIn", node_values="zone-a"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 of 3 nodes fit." in page
    assert '<tr class="no-fit"><td>virtlab-pt-1</td><td>zone-a</td><td>no</td><td>0</td><td>strict node rules not met' \
        in page
    assert "<code>affinity</code>" in page  # the change list, nothing saved yet
    assert "affinity" not in get_dvp(sim, "virtualmachines", project, name)["spec"]

    page = operator.post(action_url(project, name, "placement", "review"), rules(vm, selector_key="disktype", selector_value="ssd")).content.decode()
    assert "0 of 3 nodes fit." in page
    assert "No node satisfies the strict rules: the virtual machine will not start." in page


def test_it_adds_a_row_without_saving(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "placement", "review"), rules(vm, selector_key="a", selector_value="b", add="selector"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="selector_key"') == 2 and 'name="selector_key" value="a"' in page
    assert "nodeSelector" not in get_dvp(sim, "virtualmachines", project, name)["spec"]


def test_it_moves_a_vm_that_breaks_new_rules_nowhere_and_says_why(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    assert owner.post(action_url(project, name, "placement", "save"), rules(vm, selector_key="disktype", selector_value="ssd")) \
        .status_code == 302
    owner.post(f"/projects/{project}/vms/{name}/operations/", {"type": "Restart"})
    stuck = wait_for(lambda: (lambda v: v if "nodes are available" in "".join(
        c.get("message", "") for c in v["status"].get("conditions") or []) else None)(
        get_dvp(sim, "virtualmachines", project, name)), timeout=30)
    running = next(c for c in stuck["status"]["conditions"] if c["type"] == "Running")
    assert running["message"] == (  # dvpsim follows DVP's lifecycle.go and kube-scheduler's wording (issue 15)
        "Could not schedule the virtual machine: Unschedulable: 0/3 nodes are available: 3 node(s) didn't match "
        "Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")


def test_it_warns_when_strict_anti_affinity_needs_more_servers_than_the_rules_leave(project, cast, login, sim, unique, db):
    from tests.kube import create_dvp
    operator = login(cast.operator)
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    tier = unique("tier")
    for index in range(2):
        create_dvp(sim, "virtualmachines", project, {"metadata": {"name": f"{tier}-{index}", "labels": {"tier": tier}},
                                                       "spec": {"runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                                                                "memory": {"size": "1Gi"}, "blockDeviceRefs": [
                                                                    {"kind": "VirtualDisk", "name": f"{tier}-{index}"}]}})
    apart = {"apart_key": "tier", "apart_value": tier}
    page = operator.post(action_url(project, name, "placement", "review"), rules(vm, **apart)).content.decode()
    assert "Strict anti-affinity" not in page
    page = operator.post(action_url(project, name, "placement", "review"), rules(
        vm, selector_key="topology.kubernetes.io/zone", selector_value="zone-a", **apart)).content.decode()
    assert "Strict anti-affinity keeps one such VM per server: 2 VMs carry these labels but only 1 server is " \
           "available, so some of them will not start." in page


def test_it_shows_a_concurrent_placement_change_and_keeps_the_rules(project, owner, sim, unique):
    from tests.kube import custom
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    mine = rules(vm, selector_key="disktype", selector_value="ssd", base="{}")
    custom(sim).patch_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", project,
                                               "virtualmachines", name, {"spec": {"nodeSelector": {"rack": "r1"}}})
    response = owner.post(action_url(project, name, "placement", "save"), mine)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Someone else changed the placement of this virtual machine while you were editing." in page
    assert "<code>nodeSelector</code>: — → <strong>{&quot;rack&quot;: &quot;r1&quot;}</strong>" in page
    assert 'name="selector_key" value="disktype"' in page and 'name="selector_value" value="ssd"' in page
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["nodeSelector"] == {"rack": "r1"}


def test_it_adds_the_label_entered_in_a_blocks_pop_up_as_a_row(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "placement", "review"), rules(
        vm, add="selector", selector_new_key="disktype", selector_new_value="ssd"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="selector_key" value="disktype"' in page and 'name="selector_value" value="ssd"' in page
    assert "<code>nodeSelector</code>" in page  # the change is listed before Save
    assert "nodeSelector" not in get_dvp(sim, "virtualmachines", project, name)["spec"]


def test_it_saves_only_the_checked_labels_of_identify_similar_vms(project, owner, sim, unique):
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "placement", "save"), rules(
        vm, apart_key=["server", "tier"], apart_value=["database", "web"], apart_strength=["required", "required"],
        apart_weight=["", ""], apart_topology=["kubernetes.io/hostname"] * 2, apart_use=["1"]))
    assert response.status_code == 302
    anti = get_dvp(sim, "virtualmachines", project, name)["spec"]["affinity"]["virtualMachineAndPodAntiAffinity"]
    assert anti == {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"tier": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}


def test_it_says_how_placement_reaches_the_running_vm_in_this_clusters_edition(project, owner, sim, unique):
    # dvpsim is the Community Edition: new rules the VM's node breaks wait for a restart (the guide's note).
    name = unique("plc")
    vm = make_vm(sim, project, name, f"{name}-root")
    page = owner.post(action_url(project, name, "placement", "review"),
                      rules(vm, selector_key="disktype", selector_value="ssd")).content.decode()
    assert "at once if the VM&#x27;s node still fits; else after a restart (this cluster runs DVP CE)" in page
    assert "EE, SE+" not in page
    assert not [op for op in custom_list(sim, project) if op["metadata"]["name"].startswith("edition-probe")]


def custom_list(sim, project):
    from tests.kube import custom
    return custom(sim).list_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", project,
                                                     "virtualmachineoperations")["items"]
