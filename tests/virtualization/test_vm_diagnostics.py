"""The VM page explains a Pending VM from its Running condition, as DVP's controller writes it (lifecycle.go):
a VM no node can take, and a VM that keeps crashing, each with what the user can do."""
from django.urls import reverse

from tests.kube import GROUP, VERSION, custom, make_vm, wait_for


def running_condition(sim, project, name):
    vm = custom(sim).get_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", name)
    return next((c for c in (vm.get("status") or {}).get("conditions") or [] if c["type"] == "Running"), {})


def page_of(owner, project, name):
    return owner.get(reverse("virtualization:detail", args=[project, "vms", name])).content.decode()


def test_it_explains_a_vm_no_node_can_take(project, owner, sim, unique):
    name = unique("diag")
    make_vm(sim, project, name, f"{name}-root")
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", name, {
        "spec": {"runPolicy": "AlwaysOn", "nodeSelector": {"no-such-label": "anywhere"}}})
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, project, "virtualmachineoperations", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation",
        "metadata": {"generateName": f"{name}-restart-"}, "spec": {"type": "Restart", "virtualMachineName": name}})
    wait_for(lambda: running_condition(sim, project, name).get("reason") == "PodNotStarted", timeout=60)
    assert running_condition(sim, project, name)["message"].startswith("Could not schedule the virtual machine:")
    page = page_of(owner, project, name)
    assert "<strong>Pending:</strong> No node can take the VM now: Unschedulable: 0/" in page
    assert "Relax its placement (Configuration → Placement" in page


def test_it_explains_a_vm_that_keeps_crashing(project, owner, sim, unique):
    name = unique("diag")
    make_vm(sim, project, name, f"{name}-root")
    # Manual: DVP starts a failed VM again only under the AlwaysOn policies, so this one stays Pending.
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", name,
                                               {"spec": {"runPolicy": "Manual"}})
    sim.control(f"vms/{project}/{name}/fail", {})
    wait_for(lambda: running_condition(sim, project, name).get("message") ==
             "The virtual machine repeatedly fails to start.", timeout=30)
    page = page_of(owner, project, name)
    assert "<strong>Pending:</strong> The VM keeps crashing while it starts" in page
    assert "Stop it to end the retries" in page
