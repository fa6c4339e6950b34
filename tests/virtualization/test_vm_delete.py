"""Deleting a VM: the confirmation lists the disks it leaves behind (boot and hot-plugged) and offers to delete
them too, unchecked by default; each checked disk is deleted as the user and its outcome reported."""
import pytest
from django.urls import reverse

from tests.kube import create_dvp, get_dvp, make_vm, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")


def delete_url(project, name):
    return reverse("virtualization:delete", args=[project, "vms", name])


def test_it_lists_the_disks_a_vm_leaves_behind_unchecked(project, owner, sim, unique):
    name = unique("del")
    make_vm(sim, project, name, f"{name}-root")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": f"{name}-data"},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    create_dvp(sim, "virtualmachineblockdeviceattachments", project, {"metadata": {"name": f"{name}-data"}, "spec": {
        "virtualMachineName": name, "blockDeviceRef": {"kind": "VirtualDisk", "name": f"{name}-data"}}})
    page = owner.get(delete_url(project, name)).content.decode()
    assert "Disks it leaves behind" in page
    for disk in (f"{name}-root", f"{name}-data"):
        assert f'<input type="checkbox" name="delete_disk" value="{disk}"\n' in page
        assert f"Delete the disk {disk}</label>" in page
    assert "checked" not in page.split("Disks it leaves behind")[1].split("</fieldset>")[0]
    assert "hot-plugged" in page


def test_it_keeps_the_disks_unless_checked(project, owner, sim, unique):
    name = unique("del")
    make_vm(sim, project, name, f"{name}-root")
    assert owner.post(delete_url(project, name)).status_code == 302
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, name) is None, timeout=30)
    assert get_dvp(sim, "virtualdisks", project, f"{name}-root") is not None


def test_it_deletes_the_checked_disks_as_the_user_and_reports_each(project, owner, sim, unique):
    name, stranger = unique("del"), unique("other")
    make_vm(sim, project, name, f"{name}-root")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": stranger},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    # A disk name the VM does not use is ignored, whatever the POST says.
    response = owner.post(delete_url(project, name), {"delete_disk": [f"{name}-root", stranger]}, follow=True)
    page = response.content.decode()
    assert f"The virtual machine {name} is being deleted." in page
    assert f"The disk {name}-root is being deleted." in page and stranger not in page
    wait_for(lambda: get_dvp(sim, "virtualdisks", project, f"{name}-root") is None, timeout=30)
    assert get_dvp(sim, "virtualdisks", project, stranger) is not None

