"""Disk Snapshots: "Create Disk Snapshot" with the Consistency Guarantee switch, list and detail."""
import time


from django.urls import reverse

from .conftest import PROJECT_A
from .helpers import create_dvp, custom, wait_for_phase, GROUP, VERSION


def get_snapshot(sim, name):
    return custom(sim).get_namespaced_custom_object(GROUP, VERSION, PROJECT_A, "virtualdisksnapshots", name)


def test_it_snapshots_a_disk_and_lists_it_with_kubectl_columns(owner, sim, unique):
    disk, name = unique("vd"), unique("snap")
    create_dvp(sim, "virtualdisks", PROJECT_A, {"metadata": {"name": disk},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    wait_for_phase(sim, "virtualdisks", PROJECT_A, disk, "Ready")
    response = owner.post(reverse("virtualization:disk-snapshot-create", args=[PROJECT_A]),
                          {"name": name, "disk": disk, "consistent": "on"})
    assert response.status_code == 302
    assert get_snapshot(sim, name)["spec"] == {"virtualDiskName": disk, "requiredConsistency": True}
    wait_for_phase(sim, "virtualdisksnapshots", PROJECT_A, name, "Ready")
    listing = owner.get(reverse("virtualization:list", args=[PROJECT_A, "disk-snapshots"])).content.decode()
    assert ">Consistent</a>" in listing and name in listing
    detail = owner.get(response["Location"]).content.decode()
    assert "Create a disk from this snapshot" in detail


def test_a_running_vm_without_agent_keeps_the_snapshot_pending_with_the_reason(running_vm, owner, sim, unique):
    vm, disk, name = unique("vm"), unique("root"), unique("snap")
    running_vm(vm, disk)
    owner.post(reverse("virtualization:disk-snapshot-create", args=[PROJECT_A]),
               {"name": name, "disk": disk, "consistent": "on"})
    page = ""
    for _ in range(100):
        page = owner.get(reverse("virtualization:detail", args=[PROJECT_A, "disk-snapshots", name])).content.decode()
        if "PotentiallyInconsistent" in page:
            break
        time.sleep(0.1)
    assert "virtual machine agent is not ready and virtual machine cannot be frozen" in page
