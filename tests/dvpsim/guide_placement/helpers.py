"""Steps shared by the tests of the user guide's placement sections (this package): kubectl as the guide's
`d8 k`, VMs with a disk, and what the scheduler said; on a private simulator whose nodes carry the guide's labels:
two `disktype=ssd`, one `disktype=hdd`."""


from kubernetes import watch

from tests.kube import GROUP, VERSION, blank_disk, condition, vm_body
from tests.kubectl import kubectl as run_kubectl


NODES = ("virtlab-pt-1", "virtlab-pt-2", "virtlab-pt-3")
SSD, HDD = {"virtlab-pt-1", "virtlab-pt-2"}, {"virtlab-pt-3"}
SMALL_CPU = {"cores": 1, "coreFraction": "10%"}


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


def guide_vm(dvp, name="linux-vm"):
    """The guide's linux-vm (a 10Gi blank disk, a 10% core), Running."""
    dvp.create("virtualdisks", blank_disk(f"{name}-root", "10Gi"))
    dvp.create("virtualmachines", vm_body(name, cpu=SMALL_CPU))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)
