"""Deletion protection: a VirtualMachineClass, an image or a disk stays Terminating while a VM uses it."""

import pytest

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, http_image, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    dvp = Dvp(sim, fresh_namespace(sim, "protect"))
    yield dvp
    dvp.core.delete_namespace(dvp.namespace)  # its VMs stop: the shared cluster's nodes are not endless


def test_it_keeps_a_class_in_use_terminating_until_its_last_vm_goes(dvp):
    class_name = f"small-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": class_name},
                                         "spec": {"cpu": {"type": "Host"}}})
    dvp.wait("virtualmachineclasses", class_name, lambda o: o["metadata"].get("finalizers"))
    dvp.create("virtualdisks", blank_disk("held-root"))
    dvp.create("virtualmachines", vm_body("holder", disk="held-root", runPolicy="AlwaysOff",
                                          virtualMachineClassName=class_name))
    dvp.delete("virtualmachineclasses", class_name)
    held = dvp.wait_phase("virtualmachineclasses", class_name, "Terminating")
    assert held["metadata"]["deletionTimestamp"]
    in_use = condition(held, "InUse")
    assert (in_use["status"], in_use["reason"]) == ("True", "VirtualMachineClassInUse")
    assert in_use["message"] == \
        f"VirtualMachineClass cannot be deleted, there is VM that use it: {dvp.namespace}/holder."

    dvp.delete("virtualmachines", "holder")
    dvp.wait_gone("virtualmachineclasses", class_name)


def test_it_keeps_an_image_in_use_terminating_until_the_vm_lets_it_go(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "held-image", "alpine-virt.qcow2"))
    dvp.wait_phase("virtualimages", "held-image", "Ready", timeout=30)
    dvp.create("virtualdisks", blank_disk("image-user-root"))
    body = vm_body("image-user", runPolicy="AlwaysOff")
    body["spec"]["blockDeviceRefs"].append({"kind": "VirtualImage", "name": "held-image"})
    dvp.create("virtualmachines", body)
    dvp.delete("virtualimages", "held-image")
    held = dvp.wait_phase("virtualimages", "held-image", "Terminating")
    assert "image-user" in condition(held, "Terminating")["message"]
    dvp.patch("virtualmachines", "image-user", {"spec": {"blockDeviceRefs": [
        {"kind": "VirtualDisk", "name": "image-user-root"}]}})
    dvp.wait_gone("virtualimages", "held-image")


def test_it_keeps_a_disk_in_use_terminating_until_the_vm_lets_it_go(dvp):
    dvp.create("virtualdisks", blank_disk("spare"))
    dvp.create("virtualdisks", blank_disk("disk-user-root"))
    body = vm_body("disk-user", runPolicy="AlwaysOff")
    body["spec"]["blockDeviceRefs"].append({"kind": "VirtualDisk", "name": "spare"})
    dvp.create("virtualmachines", body)
    dvp.wait_phase("virtualdisks", "spare", "Ready")
    dvp.delete("virtualdisks", "spare")
    assert dvp.wait_phase("virtualdisks", "spare", "Terminating")["metadata"]["deletionTimestamp"]
    dvp.patch("virtualmachines", "disk-user", {"spec": {"blockDeviceRefs": [
        {"kind": "VirtualDisk", "name": "disk-user-root"}]}})
    dvp.wait_gone("virtualdisks", "spare")
