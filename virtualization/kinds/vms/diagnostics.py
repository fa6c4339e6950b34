"""What the VM page says about a VM's phase: why it is held there and what the user can do.

A Pending VM is explained from its Running condition, as DVP's VM controller writes it
(images/virtualization-artifact/pkg/controller/vm/internal/lifecycle.go at cf3a9e6c4cfb): reason PodNotStarted with
the scheduler's words or one of vmPrintableStatusMessages, or InternalVirtualMachineError. DVP never sets Degraded;
its explanation stays for clusters that do.
"""

# (what holds the VM, what the user can do), by the start of the Running condition's message.
PENDING_CAUSES = (
    ("Could not schedule the virtual machine:",
     "No node can take the VM now: {message}",
     "Relax its placement (Configuration → Placement: nodes, VMs near or apart), lower its cores, memory or CPU "
     "share, or ask an operator to free or add nodes."),
    ("The virtual machine cannot be scheduled onto any node.",
     "No node can take the VM now.",
     "Relax its placement rules or lower its resources (Configuration), or ask an operator for room on the nodes."),
    ("The virtual machine repeatedly fails to start.",
     "The VM keeps crashing while it starts; DVP starts it again after a back-off.",
     "Look at its TTY and its boot disk; Stop it to end the retries, fix the disk or image, then Start it."),
    ("Cannot pull the image",
     "An image of one of its disks cannot be pulled.",
     "Check the image's source and its pull secret on the image's page (Disk Images), then start the VM again."),
    ("Storage for one of the virtual machine's disks was not found.",
     "The storage of one of its disks is missing.",
     "Look at its disks (Disks and Images): a disk's volume was deleted or never made; replace or recreate it."),
    ("Provisioning a disk for the virtual machine failed.",
     "A disk of the VM could not be provisioned.",
     "Look at the disk's page and events (VM Disks), fix its storage class or source, or replace it."),
)
WAITING = ("Resources the VM depends on are not ready: its disks and images, its VM class or its IP address.",
           "Look at the conditions ending in Ready below (BlockDevicesReady, VirtualMachineClassReady, "
           "VirtualMachineIPAddressReady).")
UNKNOWN = ("The VM's state is temporarily unknown to the platform.",
           "Wait a little; if it stays so, look at the Events tab and ask an operator.")

# What the guide's "Virtual Machine Life Cycle" says can hold a VM in the other phases, and where to look.
PHASES = {
    "Starting": ("The VM is being started on a node.", "Look at the Running condition below."),
    "Migrating": ("The VM moves to another node (live migration). It can fail on incompatible processor "
                  "instructions, different hypervisor kernels, too little CPU or memory on eligible nodes, or "
                  "exceeded quotas.", "Look at the Migrating condition and the migration state below."),
    "Degraded": ("An internal failure of the VM or its hypervisor. With the run policy AlwaysOn or "
                 "AlwaysOnUnlessStoppedManually the VM is started again; otherwise restart or stop it.",
                 "Look at the Running condition below and at the Events tab."),
    "Pause": ("The hypervisor paused the VM, usually after an I/O error on one of its disks (for example a full "
              "or failing volume). Its console does not answer until it resumes.",
              "Look at the Running condition below and at the disks' status; Restart or Stop the VM to recover."),
}


def explain(status):
    """(what holds the VM, what to do), or None when its phase needs no explanation."""
    phase = status.get("phase") or "Pending"
    if phase != "Pending":
        return PHASES.get(phase)
    running = next((c for c in status.get("conditions") or [] if c.get("type") == "Running"), {})
    if running.get("reason") == "InternalVirtualMachineError":
        return UNKNOWN
    message = running.get("message") or ""
    if running.get("reason") == "PodNotStarted":
        for start, what, do in PENDING_CAUSES:
            if message.startswith(start):
                detail = message[len(start):].strip()
                return what.format(message=detail), do
        return f"The VM could not be started: {message or 'its instance did not start'}.", \
            "Look at the Running condition below and at the Events tab."
    return WAITING
