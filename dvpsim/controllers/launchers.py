"""virt-launcher Pods, and their eviction: how `kubectl drain` moves VMs off a node.

Each running VM has one active virt-launcher Pod on its node (`status.virtualMachinePods`); it carries the VM's
labels (which is why Services select VMs). The Pod of a VM that no node can take waits Pending, with kube-scheduler's
PodScheduled=False condition and its FailedScheduling Events. Evicting such a Pod (`pods/eviction`, what `kubectl drain` does) is
refused by KubeVirt's eviction webhook with 429 "Eviction triggered evacuation of VMI", and DVP answers the
evacuation with an Evict VirtualMachineOperation named `evacuation-*` (the guide's "Migration types" table). When
the migration ends the source Pod is gone, so drain's retry finds nothing left to evict and the node is drained.
"""

import copy

from dvpsim import kinds
from dvpsim.admission import VMOP_FINISHED
from dvpsim.controllers import vm_failures
from dvpsim.controllers.base import Controller, condition
from dvpsim.errors import AlreadyExists, ApiError, NotFound

# DVP runs KubeVirt under its own API group: the instance kind and labels carry "internal.virtualization".
LAUNCHER_LABEL = "kubevirt.internal.virtualization.deckhouse.io"
VM_NAME_LABEL = "vm.kubevirt.internal.virtualization.deckhouse.io/name"
INSTANCE_API = "internal.virtualization.deckhouse.io/v1"
INSTANCE_KIND = "InternalVirtualizationVirtualMachineInstance"
EVICTION_WEBHOOK = "virt-launcher-eviction-interceptor.kubevirt.io"
POD_PHASES = {"Starting": "Pending", "Running": "Running", "Migrating": "Running", "Pause": "Running",
              "Degraded": "Running", "Stopping": "Running"}


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"


class LauncherPodController(Controller):
    primary = "VirtualMachine"
    related = ("Pod",)

    def on_primary(self, event_type, obj):
        self.kick(obj["metadata"]["namespace"], obj["metadata"]["name"])  # a deleted VM's Pod goes too

    def on_related(self, event_type, kind, obj):
        vm_name = (obj["metadata"].get("labels") or {}).get(VM_NAME_LABEL)
        if vm_name:
            self.kick(obj["metadata"]["namespace"], vm_name)

    def _pods_of(self, namespace, name) -> set:
        """Names of the VM's Pods (an index built from the store once, so a reconcile does not scan all Pods)."""
        if not hasattr(self, "_index"):
            self._index = {}
            for pod in self.cluster.store.iter(kinds.get("Pod")):
                vm_name = (pod["metadata"].get("labels") or {}).get(VM_NAME_LABEL)
                if vm_name:
                    self._index.setdefault((pod["metadata"]["namespace"], vm_name), set()).add(pod["metadata"]["name"])
        return self._index.setdefault((namespace, name), set())

    async def reconcile(self, namespace, name):
        vm = self.get(namespace, name)
        status = (vm or {}).get("status") or {}
        wanted = {}
        if vm is not None and (status.get("nodeName") and status.get("phase") in POD_PHASES or _unscheduled(status)):
            for pod in status.get("virtualMachinePods") or []:
                if pod.get("active"):
                    wanted[pod["name"]] = _pod(vm, pod["name"])
        pod_kind = kinds.get("Pod")
        known = self._pods_of(namespace, name)
        for pod_name in sorted(known | set(wanted)):
            pod = self.get(namespace, pod_name, pod_kind)
            if pod is None or (pod["metadata"].get("labels") or {}).get(VM_NAME_LABEL) != name:
                known.discard(pod_name)
                continue
            want = wanted.pop(pod["metadata"]["name"], None)
            if want is None:
                known.discard(pod_name)
                try:
                    self.cluster.delete(pod_kind, namespace, pod["metadata"]["name"])
                except NotFound:
                    pass
            elif (pod["metadata"].get("labels"), pod["spec"].get("nodeName"), pod.get("status")) != \
                    (want["metadata"]["labels"], want["spec"].get("nodeName"), want["status"]):
                before = pod
                pod = copy.deepcopy(pod)
                pod["metadata"]["labels"] = want["metadata"]["labels"]
                pod["spec"]["nodeName"] = want["spec"].get("nodeName")
                pod["metadata"].pop("resourceVersion", None)
                pod = self.cluster.update(pod_kind, pod)
                pod["status"] = want["status"]
                pod["metadata"].pop("resourceVersion", None)
                self._scheduler_events(before, self.cluster.update_status(pod_kind, pod))
        for want in wanted.values():
            known.add(want["metadata"]["name"])
            try:
                # status kept: the kubelet (or the scheduler) reports it at once
                self._scheduler_events(None, self.cluster.create(pod_kind, copy.deepcopy(want)))
            except AlreadyExists:
                self.kick(namespace, name)
        if not known:
            self._index.pop((namespace, name), None)


    def _scheduler_events(self, before, pod):
        """kube-scheduler's Events about the Pod: Scheduled once it has a node, FailedScheduling for each new reason."""
        if pod is None:
            return
        node = pod["spec"].get("nodeName")
        if node and not (before or {}).get("spec", {}).get("nodeName"):
            self.cluster.record_event(pod, "Normal", "Scheduled", f'Successfully assigned {pod["metadata"]["namespace"]}/'
                                      f'{pod["metadata"]["name"]} to {node}', component="default-scheduler")
        message = _unschedulable_message(pod)
        if message and message != _unschedulable_message(before or {}):
            self.cluster.record_event(pod, "Warning", "FailedScheduling", message, component="default-scheduler")


def _unscheduled(status) -> bool:
    return status.get("phase") == "Pending" and bool(status.get("virtualMachinePods")) and not status.get("nodeName")


def _unschedulable_message(pod) -> str:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("message") or ""
    return ""


def _pod(vm, pod_name):
    meta, status = vm["metadata"], vm["status"]
    ready = "True" if status.get("phase") in ("Running", "Migrating") else "False"
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 60,
            "containers": [{"name": "compute", "image": "virt-launcher"}]}
    if status.get("nodeName"):
        spec["nodeName"] = status["nodeName"]
        pod_status = {"phase": POD_PHASES[status["phase"]], "podIP": status.get("ipAddress", ""),
                      "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready}],
                      "containerStatuses": [{"name": "compute", "ready": ready == "True", "restartCount": 0,
                                             "image": "virt-launcher", "imageID": "", "started": True}]}
    else:  # kube-scheduler found no node: the condition KubeVirt copies onto the instance, and DVP onto the VM
        message = vm_failures.scheduler_message((condition(status, "Running") or {}).get("message") or "")
        pod_status = {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": pod_name, "namespace": meta["namespace"],
            "labels": {**(meta.get("labels") or {}), LAUNCHER_LABEL: "virt-launcher", VM_NAME_LABEL: meta["name"]},
            "ownerReferences": [{"apiVersion": INSTANCE_API, "kind": INSTANCE_KIND, "name": meta["name"],
                                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": spec,
        "status": pod_status,
    }


def evict(cluster, namespace, name):
    """POST pods/<name>/eviction. A virt-launcher Pod is never evicted: its VM is evacuated by an Evict operation."""
    pod_kind = kinds.get("Pod")
    pod = cluster.store.get(pod_kind, namespace, name)
    if pod is None:
        raise NotFound.of(pod_kind, name)
    vm_name = (pod["metadata"].get("labels") or {}).get(VM_NAME_LABEL)
    if not vm_name:
        cluster.delete(pod_kind, namespace, name)
        return
    vmop_kind = kinds.get("VirtualMachineOperation")
    in_flight = [op for op in cluster.store.list(vmop_kind, namespace)
                 if op["spec"].get("virtualMachineName") == vm_name and op["spec"].get("type") in ("Evict", "Migrate")
                 and (op.get("status") or {}).get("phase") not in VMOP_FINISHED]
    message = f'Eviction triggered evacuation of VMI "{namespace}/{vm_name}"'
    if in_flight:
        message = f"Evacuation in progress: {message}"
    else:
        cluster.create(vmop_kind, {
            "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineOperation",
            "metadata": {"generateName": "evacuation-", "namespace": namespace},
            "spec": {"type": "Evict", "virtualMachineName": vm_name}})
    raise TooManyRequests(f'admission webhook "{EVICTION_WEBHOOK}" denied the request: {message}')
