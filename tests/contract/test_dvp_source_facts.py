"""Facts read in DVP's own source, checked against dvpsim over HTTP.

Source: github.com/deckhouse/virtualization at commit cf3a9e6c4cfb (the snapshot ../shared/dvp-crds comes from);
each test names the file it follows. Paths under VM_INTERNAL are in
images/virtualization-artifact/pkg/controller/vm/internal/.
"""
import time
import uuid

import pytest
from kubernetes import client

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"
VM_INTERNAL = "images/virtualization-artifact/pkg/controller/vm/internal"
LAUNCHER_LABEL = "kubevirt.internal.virtualization.deckhouse.io"
VM_NAME_LABEL = "vm.kubevirt.internal.virtualization.deckhouse.io/name"


class Project:
    """A fresh namespace and the cluster admin's clients."""

    def __init__(self, sim):
        self.sim = sim
        self.api = sim.api("admin")
        self.custom, self.core = client.CustomObjectsApi(self.api), client.CoreV1Api(self.api)
        self.namespace = f"facts-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace({"metadata": {"name": self.namespace}})

    def create(self, plural, body):
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, body)

    def get(self, plural, name):
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def wait(self, plural, name, until, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(plural, name)
            if until(obj):
                return obj
            if time.monotonic() > deadline:
                raise AssertionError(f"{plural}/{name} never got there: {obj.get('status')}")
            time.sleep(0.1)

    def phase(self, plural, name, phase):
        return self.wait(plural, name, lambda o: (o.get("status") or {}).get("phase") == phase)

    def vm(self, name, **spec):
        self.create("virtualdisks", {"metadata": {"name": f"{name}-root"},
                                     "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
        return self.create("virtualmachines", {"metadata": {"name": name, "labels": {"app": name}}, "spec": {
            "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
            "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-root"}], **spec}})

    def operation(self, vm, type_):
        return self.create("virtualmachineoperations", {"metadata": {"generateName": f"{vm}-{type_.lower()}-"},
                                                        "spec": {"type": type_, "virtualMachineName": vm}})

    def running_manual_vm(self, name):
        self.vm(name, runPolicy="Manual")
        self.phase("virtualmachines", name, "Stopped")
        self.operation(name, "Start")
        return self.phase("virtualmachines", name, "Running")

    def events(self, name):
        return [e for e in self.core.list_namespaced_event(self.namespace).items if e.involved_object.name == name]


@pytest.fixture
def project(sim):
    project = Project(sim)
    yield project
    project.core.delete_namespace(project.namespace)


def running(vm):
    return next(c for c in vm["status"]["conditions"] if c["type"] == "Running")


@pytest.mark.parametrize("status, message", [
    ("CrashLoopBackOff", "The virtual machine repeatedly fails to start."),
    ("ErrImagePull", "Cannot pull the image for one of the virtual machine's disks."),
    ("ImagePullBackOff", "Cannot pull the image for one of the virtual machine's disks."),
    ("PvcNotFound", "Storage for one of the virtual machine's disks was not found."),
    ("DataVolumeError", "Provisioning a disk for the virtual machine failed."),
])
def test_it_holds_a_failed_vm_pending_with_reason_pod_not_started_and_no_event(sim, project, status, message):
    """VM_INTERNAL/util.go: mapPhases makes each of these statuses Pending (nothing sets Degraded), and
    vmPrintableStatusMessages words them; VM_INTERNAL/lifecycle.go: syncRunning checks isPodStartedError (which
    lists them all) before isInternalVirtualMachineError, so the reason is PodNotStarted and no Event is recorded."""
    project.running_manual_vm("failing")
    sim.control(f"vms/{project.namespace}/failing/fail", {"status": status})
    vm = project.phase("virtualmachines", "failing", "Pending")
    assert (running(vm)["status"], running(vm)["reason"], running(vm)["message"]) == ("False", "PodNotStarted", message)
    assert "Degraded" not in [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]
    assert [e.reason for e in project.events("failing") if e.type == "Warning"] == []


def test_it_reports_an_unknown_instance_as_an_internal_error_with_a_warning_event(sim, project):
    """VM_INTERNAL/util.go: Unknown is Pending, and of isInternalVirtualMachineError's statuses the only one
    isPodStartedError leaves; VM_INTERNAL/lifecycle.go: reason InternalVirtualMachineError, the message of
    vmPrintableStatusMessages, and a Warning Event of that reason whose message is vmStartupDetail."""
    project.running_manual_vm("unknown")
    sim.control(f"vms/{project.namespace}/unknown/fail", {"status": "Unknown"})
    vm = project.phase("virtualmachines", "unknown", "Pending")
    assert (running(vm)["reason"], running(vm)["message"]) == \
        ("InternalVirtualMachineError", "The virtual machine state is temporarily unknown.")
    warnings = [(e.reason, e.message) for e in project.events("unknown") if e.type == "Warning"]
    assert warnings == [("InternalVirtualMachineError", 'printableStatus="Unknown"')]


def test_it_stops_a_pending_vm_but_does_not_restart_it(sim, project):
    """images/virtualization-artifact/pkg/controller/vmop/powerstate/internal/service/: stop.go's
    IsApplicableForVMPhase includes Pending, restart.go's does not."""
    project.running_manual_vm("looping")
    sim.control(f"vms/{project.namespace}/looping/fail", {})
    project.phase("virtualmachines", "looping", "Pending")
    restart = project.operation("looping", "Restart")["metadata"]["name"]
    failed = project.phase("virtualmachineoperations", restart, "Failed")
    assert "not applicable for VirtualMachine in phase Pending" in \
        next(c for c in failed["status"]["conditions"] if c["type"] == "Completed")["message"]
    stop = project.operation("looping", "Stop")["metadata"]["name"]
    project.phase("virtualmachineoperations", stop, "Completed")
    project.phase("virtualmachines", "looping", "Stopped")


def test_it_restarts_a_crash_looping_always_on_vm_with_dvps_event(sim, project):
    """VM_INTERNAL/sync_power_state.go: under AlwaysOnUnlessStoppedManually DVP restarts a failed instance and says
    so in a VMRestarted Event."""
    project.vm("restarted")
    before = project.phase("virtualmachines", "restarted", "Running")
    sim.control(f"vms/{project.namespace}/restarted/fail", {})
    after = project.wait("virtualmachines", "restarted", lambda o: o["status"]["phase"] == "Running" and
                         o["status"]["virtualMachinePods"] != before["status"]["virtualMachinePods"])
    assert [t["phase"] for t in after["status"]["stats"]["phasesTransitions"]][-3:] == ["Pending", "Starting",
                                                                                        "Running"]
    assert ("VMRestarted", "Restart initiated by controller after observing failed guest VirtualMachine for "
                           "AlwaysOnUnlessStoppedManually runPolicy") in \
        [(e.reason, e.message) for e in project.events("restarted")]


def test_it_holds_an_unschedulable_vm_pending_and_quotes_the_scheduler(project):
    """VM_INTERNAL/lifecycle.go: a False PodScheduled condition (KubeVirt copies the virt-launcher Pod's) makes the VM
    Pending, with Running False, reason PodNotStarted, "Could not schedule the virtual machine: <reason>: <message>".
    kube-scheduler (pkg/scheduler/framework/types.go FitError.Error, plugins/defaultpreemption/default_preemption.go
    PostFilter, framework/preemption/preemption.go) writes the reasons per node count, then "preemption: " and what
    preemption found; it records FailedScheduling on the Pod, not on the VM."""
    project.vm("nowhere", nodeSelector={"no-such-label": "x"})
    vm = project.wait("virtualmachines", "nowhere", lambda o: "Could not schedule" in running(o).get("message", ""))
    scheduler = ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
                 "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    assert vm["status"]["phase"] == "Pending" and not vm["status"].get("nodeName")
    assert (running(vm)["status"], running(vm)["reason"], running(vm)["message"]) == \
        ("False", "PodNotStarted", f"Could not schedule the virtual machine: Unschedulable: {scheduler}")
    [pod_name] = [p["name"] for p in vm["status"]["virtualMachinePods"]]  # statistic.go lists every Pod of the VM
    pod = project.core.read_namespaced_pod(pod_name, project.namespace)
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    [scheduled] = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert (scheduled.status, scheduled.reason, scheduled.message) == ("False", "Unschedulable", scheduler)
    failed = [e for e in project.events(pod_name) if e.reason == "FailedScheduling"]
    assert [(e.type, e.message, e.source.component) for e in failed] == [("Warning", scheduler, "default-scheduler")]
    assert "FailedScheduling" not in [e.reason for e in project.events("nowhere")]


def test_it_labels_the_virt_launcher_pod_as_dvp_selects_it(project):
    """images/virtualization-artifact/pkg/apiserver/registry/vm/rest/scale.go: the launcher Pod carries
    kubevirt.internal.virtualization.deckhouse.io=virt-launcher and vm.kubevirt.internal.virtualization.deckhouse.io/
    name=<vm>; VM_INTERNAL/sync_metadata.go propagates the VM's own labels to its running Pods."""
    project.vm("labelled")
    vm = project.phase("virtualmachines", "labelled", "Running")
    [pod_name] = [p["name"] for p in vm["status"]["virtualMachinePods"] if p["active"]]
    pods = project.core.list_namespaced_pod(project.namespace, label_selector=f"{LAUNCHER_LABEL}=virt-launcher,"
                                            f"{VM_NAME_LABEL}=labelled,app=labelled").items
    assert [p.metadata.name for p in pods] == [pod_name]


@pytest.mark.parametrize("networks, message", [
    ([{"type": "ClusterNetwork", "name": "corp-net"}, {"type": "Main"}],
     "network type 'Main' occurs at unexpected position 1, it should be first"),
    ([{"type": "Main", "name": "main"}], "network with type 'Main' should not have a name"),
    ([{"type": "Main"}, {"type": "ClusterNetwork"}], "network with type 'ClusterNetwork' must have a non-empty name"),
    ([{"type": "Main"}, {"type": "ClusterNetwork", "name": "corp-net"}, {"type": "ClusterNetwork", "name": "corp-net"}],
     "network ClusterNetwork:corp-net is duplicated"),
    ([{"type": "Main", "id": 2}], "network id for network Main must be 1, got 2"),
])
def test_it_refuses_networks_as_dvps_networks_validator(project, networks, message):
    """VM_INTERNAL/validators/networks_validator.go (validateNetworksSpec): Main first and nameless, the others
    named, no duplicates, Main's id 1; the denial comes from the vm validating webhook."""
    with pytest.raises(client.ApiException) as refused:
        project.vm("netted", runPolicy="AlwaysOff", networks=networks)
    assert refused.value.status == 403
    assert f'admission webhook \\"vm.virtualization-controller.validate.d8-virtualization\\" denied the request: ' \
           f'{message}' in refused.value.body, refused.value.body
