"""What DVP's VM controller shows when the KubeVirt instance of a VM cannot run.

From deckhouse/virtualization at cf3a9e6c4cfb, images/virtualization-artifact/pkg/controller/vm/internal/:
util.go (getPhase, mapPhases, isPodStartedError, isInternalVirtualMachineError, vmPrintableStatusMessages,
vmStartupDetail) and lifecycle.go (syncRunning). Every failure below is phase Pending: the controller never sets
Degraded.
"""

# mapPhases: the KubeVirt printable statuses that DVP shows as phase Pending.
PENDING_STATUSES = ("CrashLoopBackOff", "Unschedulable", "ErrImagePull", "ImagePullBackOff", "PvcNotFound",
                    "DataVolumeError", "WaitingForVolumeBinding", "Unknown")
# vmPrintableStatusMessages: the Running condition's message for each.
MESSAGES = {
    "ErrImagePull": "Cannot pull the image for one of the virtual machine's disks.",
    "ImagePullBackOff": "Cannot pull the image for one of the virtual machine's disks.",
    "CrashLoopBackOff": "The virtual machine repeatedly fails to start.",
    "Unschedulable": "The virtual machine cannot be scheduled onto any node.",
    "DataVolumeError": "Provisioning a disk for the virtual machine failed.",
    "PvcNotFound": "Storage for one of the virtual machine's disks was not found.",
    "Unknown": "The virtual machine state is temporarily unknown.",
}
# isPodStartedError: syncRunning checks these first (reason PodNotStarted, no Event), so of the internal errors of
# isInternalVirtualMachineError only Unknown reaches reason InternalVirtualMachineError and its Warning Event.
POD_NOT_STARTED = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "Unschedulable", "DataVolumeError",
                   "PvcNotFound")
# What the fail control can make a running VM's instance report (Unschedulable comes from the scheduler instead).
FAILURES = ("CrashLoopBackOff", "Unknown", "ErrImagePull", "ImagePullBackOff", "PvcNotFound", "DataVolumeError")


def running_condition(printable_status: str) -> tuple[str, str, str]:
    """(reason, message, detail of the Warning Event or "") of the Running condition for a failed instance."""
    message = MESSAGES.get(printable_status, "The virtual machine failed to start.")
    if printable_status in POD_NOT_STARTED:
        return "PodNotStarted", message, ""
    # vmStartupDetail; it names vmiPhase only while an instance exists, and dvpsim's failed instance is gone.
    return "InternalVirtualMachineError", message, f'printableStatus="{printable_status}"'


def unschedulable_message(reason: str, message: str) -> str:
    """lifecycle.go: the Running condition of a VM whose Pod's PodScheduled condition is False (KubeVirt copies the
    Pod's condition, reason and kube-scheduler's message, onto its instance)."""
    return f"Could not schedule the virtual machine: {reason}: {message}"


def scheduler_message(running_message: str) -> str:
    """kube-scheduler's message back out of a Running condition written by unschedulable_message, or ""."""
    prefix = unschedulable_message("Unschedulable", "")
    return running_message[len(prefix):] if running_message.startswith(prefix) else ""
