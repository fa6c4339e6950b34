"""Conditions of images, disks and snapshots said in words (what a reason means for the user)."""
from django import template

register = template.Library()

WORDS = {
    "WaitForUserUpload": "Waiting for the file: upload it within 10 minutes, from this page or with the curl command.",
    "WaitForUserUploadTimeout": "No upload started within 10 minutes. Delete it and create it again to upload.",
    "Provisioning": "The data is being imported.",
    "ProvisioningNotStarted": "The import waits for its data source.",
    "ProvisioningFailed": "The import failed; the message says why. Fix the source, then delete and recreate it.",
    "DatasourceIsNotReady": "The source (image or snapshot) is not Ready yet.",
    "DatasourceIsNotFound": "The source does not exist.",
    "ImageNotReady": "The source image is not Ready yet.",
    "ClusterImageNotReady": "The source cluster image is not Ready yet.",
    "VirtualDiskNotReady": "The source disk is not Ready yet.",
    "VirtualDiskSnapshotNotReady": "The source disk snapshot is not Ready yet.",
    "StorageClassNotFound": "The storage class does not exist: choose another one.",
    "StorageClassIsNotReady": "No usable storage class: choose one explicitly.",
    "WaitingForFirstConsumer": "The volume is made when a VM using the disk is scheduled onto a node.",
    "AttachedToVirtualMachine": "Virtual machines use it; it cannot go away until they release it.",
    "CleanupPending": "Deletion waits until nothing uses it any more.",
    "InProgress": "An operation (resize or migration) is running.",
    "WaitForTargetReady": "The storage class change waits for a running VM that mounts the disk.",
    "PotentiallyInconsistent": "A running VM without guest agent uses the disk: start the agent, stop the VM, "
                               "or take the snapshot without the consistency guarantee.",
    "VirtualDiskNotReadyForSnapshotting": "The disk must be Ready to be snapshotted.",
    "WaitingForTheVirtualDisk": "Waiting for the disk to be ready for snapshotting.",
}


@register.filter
def condition_words(condition):
    """A sentence for a condition that is not simply fine (status True of Ready-like types needs none)."""
    if not isinstance(condition, dict):
        return ""
    return WORDS.get(condition.get("reason") or "", "")


@register.filter
def conditions_to_read(conditions):
    """How many conditions carry a message or a sentence of ours: the ones a user should read."""
    return sum(1 for c in conditions or () if isinstance(c, dict) and (c.get("message") or condition_words(c)))
