"""Disk Snapshots: "Create Disk Snapshot" with the Consistency Guarantee switch, list and detail."""
import time


from django.urls import reverse

from tests.kube import create_dvp, custom, wait_for_phase, GROUP, VERSION


def get_snapshot(project, sim, name):
    return custom(sim).get_namespaced_custom_object(GROUP, VERSION, project, "virtualdisksnapshots", name)


def test_it_snapshots_a_disk_and_lists_it_with_kubectl_columns(project, owner, sim, unique):
    disk, name = unique("vd"), unique("snap")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": disk},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    wait_for_phase(sim, "virtualdisks", project, disk, "Ready")
    response = owner.post(reverse("virtualization:disk-snapshot-create", args=[project]),
                          {"name": name, "disk": disk, "consistent": "on"})
    assert response.status_code == 302
    assert get_snapshot(project, sim, name)["spec"] == {"virtualDiskName": disk, "requiredConsistency": True}
    wait_for_phase(sim, "virtualdisksnapshots", project, name, "Ready")
    listing = owner.get(reverse("virtualization:list", args=[project, "disk-snapshots"])).content.decode()
    assert ">Consistent</a>" in listing and name in listing
    detail = owner.get(response["Location"]).content.decode()
    assert "Create a disk from this snapshot" in detail


def test_a_running_vm_without_agent_keeps_the_snapshot_pending_with_the_reason(project, running_vm, owner, sim, unique):
    vm, disk, name = unique("vm"), unique("root"), unique("snap")
    running_vm(vm, disk)
    owner.post(reverse("virtualization:disk-snapshot-create", args=[project]),
               {"name": name, "disk": disk, "consistent": "on"})
    page = ""
    for _ in range(100):
        page = owner.get(reverse("virtualization:detail", args=[project, "disk-snapshots", name])).content.decode()
        if "PotentiallyInconsistent" in page:
            break
        time.sleep(0.1)
    assert "virtual machine agent is not ready and virtual machine cannot be frozen" in page


def test_it_offers_create_disk_snapshot_on_disk_images_where_the_guide_starts(project, owner, viewer):
    create_url = reverse("virtualization:disk-snapshot-create", args=[project])
    page = owner.get(reverse("virtualization:list", args=[project, "images"])).content.decode()
    assert f'<a role="button" class="secondary" href="{create_url}">Create Disk Snapshot</a>' in page
    page = viewer.get(reverse("virtualization:list", args=[project, "images"])).content.decode()
    assert create_url not in page
    assert "You may not create disk snapshots in this project (needs create on virtualdisksnapshots)." in page


def test_it_shows_the_status_under_the_snapshots_name(project, owner, sim, unique):
    import re
    disk, name = unique("vd"), unique("snap")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": disk},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    create_dvp(sim, "virtualdisksnapshots", project, {"metadata": {"name": name},
                                                        "spec": {"virtualDiskName": disk, "requiredConsistency": True}})
    wait_for_phase(sim, "virtualdisksnapshots", project, name, "Ready")
    page = owner.get(reverse("virtualization:detail", args=[project, "disk-snapshots", name])).content.decode()
    assert re.search(rf'<div class="detail-title">\s*<h1>{name}</h1>\s*<div id="status"[^>]*>\s*'
                     r'<p class="status-line">.*?Ready', page, re.S)
