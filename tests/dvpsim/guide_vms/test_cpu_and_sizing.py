"""The user guide's "Configuring CPU and coreFraction", "Virtual machine resource configuration and sizing
policy", "Automatic CPU topology configuration" and "Guest OS agent"."""

import shutil

import pytest
import yaml

from tests.dvpsim.guide_examples import GUIDE
from tests.kube import blank_disk, condition, vm_body
from tests.kubectl import KUBECTL
from tests.dvpsim.guide_vms.helpers import Guest, reasons, rejected, running_vm, wide_columns


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]


# ---- Configuring CPU and coreFraction -----------------------------------------------------------

def test_it_guarantees_each_core_its_fraction(dvp):
    vm = running_vm(dvp, "shares", cpu={"cores": 2, "coreFraction": "10%"}, memory="2Gi")
    assert vm["status"]["resources"]["cpu"] == {"cores": 2, "coreFraction": "10%", "requestedCores": "200m",
                                                "runtimeOverhead": "0",
                                                "topology": {"sockets": 1, "coresPerSocket": 2}}
    # "If the coreFraction parameter is not defined, each VM virtual core is allocated 100%"
    whole = dvp.create("virtualmachines", vm_body("whole", disk="whole-none", runPolicy="AlwaysOff"))
    assert whole["spec"]["cpu"]["coreFraction"] == "100%"
    dvp.delete("virtualmachines", "shares")
    dvp.delete("virtualmachines", "whole")


def test_it_places_a_vm_only_where_its_guaranteed_share_fits(dvp, open_class):
    """18 whole cores fit on none of the 16-CPU nodes; the same 18 cores at 10% (1.8 CPU guaranteed) do."""
    dvp.create("virtualdisks", blank_disk("greedy-root"))
    greedy = vm_body("greedy", cores=18, virtualMachineClassName=open_class)
    greedy["spec"]["cpu"] = {"cores": 18, "coreFraction": "100%"}
    dvp.create("virtualmachines", greedy)
    vm = dvp.wait("virtualmachines", "greedy",
                  lambda o: "nodes are available" in ((condition(o, "Running") or {}).get("message") or ""))
    assert "Insufficient cpu" in condition(vm, "Running")["message"] and not vm["status"].get("nodeName")
    dvp.delete("virtualmachines", "greedy")
    dvp.wait_gone("virtualmachines", "greedy", timeout=30)
    greedy["spec"]["cpu"]["coreFraction"] = "10%"
    dvp.create("virtualmachines", greedy)
    vm = dvp.wait_phase("virtualmachines", "greedy", "Running", timeout=30)
    assert vm["status"]["resources"]["cpu"]["requestedCores"] == "1800m"
    assert vm["status"]["resources"]["cpu"]["topology"] == {"sockets": 2, "coresPerSocket": 9}
    dvp.delete("virtualmachines", "greedy")


# ---- Virtual machine resource configuration and sizing policy ------------------------------------

@pytest.fixture(scope="module")
def guide_class(dvp):
    """A class with the guide's sizing policy (its v1alpha2 integers for coreFractions)."""
    name = f"guide-sizing-{dvp.namespace}"
    policies = yaml.safe_load("""
    - cores: {min: 1, max: 4}
      memory: {min: 1Gi, max: 8Gi}
      coreFractions: [5, 10, 20, 50, 100]
    - cores: {min: 5, max: 8}
      memory: {min: 5Gi, max: 16Gi}
      coreFractions: [20, 50, 100]
    """)
    dvp.create("virtualmachineclasses", {"metadata": {"name": name},
                                         "spec": {"cpu": {"type": "Discovery"}, "sizingPolicies": policies}})
    dvp.classes.append(name)
    return name


@pytest.mark.parametrize("cores, memory, fraction, refusal", [
    (2, "4Gi", "10%", None),
    (6, "6Gi", "20%", None),
    (2, "9Gi", "10%", "it must be between 1Gi and 8Gi"),
    (2, "4Gi", "15%", "allowed values are 5%, 10%, 20%, 50%, 100%"),
    (6, "4Gi", "50%", "it must be between 5Gi and 16Gi"),
    (6, "6Gi", "10%", "allowed values are 20%, 50%, 100%"),
    (9, "9Gi", "100%", "does not match any sizing policy"),
])
def test_it_saves_only_a_configuration_inside_the_guides_sizing_policy(dvp, guide_class, cores, memory, fraction,
                                                                      refusal):
    name = f"sized-{cores}-{memory.lower()}-{fraction.rstrip('%')}"
    body = vm_body(name, disk="none", memory=memory, runPolicy="AlwaysOff", virtualMachineClassName=guide_class)
    body["spec"]["cpu"] = {"cores": cores, "coreFraction": fraction}
    if refusal is None:
        created = dvp.create("virtualmachines", body)
        vm = dvp.wait("virtualmachines", name, lambda o: condition(o, "SizingPolicyMatched"))
        assert condition(vm, "SizingPolicyMatched")["status"] == "True"
        dvp.delete("virtualmachines", created["metadata"]["name"])
        return
    status, message = rejected(dvp.create, "virtualmachines", body)
    assert status == 403 and refusal in message, message


def test_it_keeps_a_vm_that_breaks_a_new_policy_running_but_refuses_its_changes(dvp, guide_class):
    body = vm_body("legacy", memory="2Gi", runPolicy="AlwaysOn", virtualMachineClassName=guide_class)
    body["spec"]["cpu"] = {"cores": 2, "coreFraction": "10%"}
    dvp.create("virtualdisks", blank_disk("legacy-root"))
    dvp.create("virtualmachines", body)
    dvp.wait_phase("virtualmachines", "legacy", "Running", timeout=30)
    dvp.patch("virtualmachineclasses", guide_class, {"spec": {"sizingPolicies": [
        {"cores": {"min": 1, "max": 4}, "memory": {"min": "4Gi", "max": "8Gi"}, "coreFractions": [5, 10, 20, 50, 100]},
        {"cores": {"min": 5, "max": 8}, "memory": {"min": "5Gi", "max": "16Gi"}, "coreFractions": [20, 50, 100]}]}})
    vm = dvp.wait("virtualmachines", "legacy", lambda o: condition(o, "SizingPolicyMatched")["status"] == "False")
    assert vm["status"]["phase"] == "Running"  # "will continue to run"
    assert "it must be between 4Gi and 8Gi" in condition(vm, "SizingPolicyMatched")["message"]
    # "any changes to their configuration cannot be saved until they comply with the new policy"
    status, message = rejected(dvp.patch, "virtualmachines", "legacy", {"spec": {"runPolicy": "Manual"}})
    assert status == 403 and "between 4Gi and 8Gi" in message
    dvp.patch("virtualmachines", "legacy", {"spec": {"memory": {"size": "4Gi"}}})  # brought into compliance
    vm = dvp.wait("virtualmachines", "legacy", lambda o: condition(o, "SizingPolicyMatched")["status"] == "True")
    assert {"operation": "replace", "path": "memory.size", "currentValue": "2Gi", "desiredValue": "4Gi"} in \
        dvp.wait("virtualmachines", "legacy", lambda o: o["status"].get("restartAwaitingChanges"))[
            "status"]["restartAwaitingChanges"]
    dvp.delete("virtualmachines", "legacy")


# ---- Automatic CPU topology configuration -------------------------------------------------------

@pytest.fixture(scope="module")
def open_class(dvp):
    """A class without a sizing policy: any number of cores the topology allows."""
    name = f"open-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {"cpu": {"type": "Discovery"}}})
    dvp.classes.append(name)
    return name


@pytest.mark.parametrize("cores, sockets, per_socket", [
    (1, 1, 1), (8, 1, 8), (16, 1, 16),                  # 1-16: one socket, step 1
    (18, 2, 9), (20, 2, 10), (32, 2, 16),               # 17-32: two sockets, step 2
    (36, 4, 9), (40, 4, 10), (64, 4, 16),               # 33-64: four sockets, step 4
    (72, 8, 9), (80, 8, 10), (248, 8, 31),              # 65-248: eight sockets, step 8
])
def test_it_spreads_the_cores_over_sockets(dvp, open_class, cores, sockets, per_socket):
    name = f"topology-{cores}"
    dvp.create("virtualmachines", vm_body(name, disk="none", cores=cores, memory="1Gi", runPolicy="AlwaysOff",
                                          virtualMachineClassName=open_class))
    vm = dvp.wait("virtualmachines", name, lambda o: (o.get("status") or {}).get("resources"))
    assert vm["status"]["resources"]["cpu"]["topology"] == {"sockets": sockets, "coresPerSocket": per_socket}
    assert vm["status"]["resources"]["cpu"]["cores"] == cores
    dvp.delete("virtualmachines", name)


@pytest.mark.parametrize("cores, words", [
    (17, "multiple of 2"), (31, "multiple of 2"),
    (34, "multiple of 4"), (62, "multiple of 4"),
    (66, "multiple of 8"), (244, "multiple of 8"),
    (256, "at most 248 cores"),
])
def test_it_refuses_cores_off_the_socket_step(dvp, open_class, cores, words):
    status, message = rejected(dvp.create, "virtualmachines",
                               vm_body(f"off-step-{cores}", disk="none", cores=cores, runPolicy="AlwaysOff",
                                       virtualMachineClassName=open_class))
    assert status == 403 and words in message and f"number of cores {cores} is not valid" in message, message


# ---- Guest OS agent ---------------------------------------------------------------------------

async def test_it_connects_an_agent_installed_in_the_guest_by_hand(sim, dvp):
    running_vm(dvp, "bare")
    vm = dvp.get("virtualmachines", "bare")
    agent = condition(vm, "AgentReady")
    assert (agent["status"], agent["reason"], agent["message"]) == \
        ("False", "AgentNotReady", "Failed to connect to VM Agent.")
    assert "guestOSInfo" not in vm["status"]
    assert wide_columns(sim, dvp, "bare")["AGENT"] == "False"
    async with Guest(sim, dvp, "bare") as guest:
        await guest.login()
        assert "not found" in await guest.run("sudo systemctl enable --now qemu-guest-agent")
        assert "Permission denied" in await guest.run("apt install qemu-guest-agent")
        assert "Setting up qemu-guest-agent" in await guest.run("sudo apt install qemu-guest-agent")
        await guest.run("sudo systemctl enable --now qemu-guest-agent")
    vm = dvp.wait("virtualmachines", "bare", lambda o: condition(o, "AgentReady")["status"] == "True")
    assert vm["status"]["guestOSInfo"]["id"] == "ubuntu"
    assert "AgentReady" in reasons(dvp, "bare")
    dvp.delete("virtualmachines", "bare")
