"""Bulk Delete from the VM list (issue 11): the confirmation lists the disks the two VMs leave behind; the checked
ones go with the VMs, the unchecked one stays (asserted with kubectl)."""
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.kube import blank_disk, create_dvp
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]

PROJECT = "project-a"


def make_vm(sim, name, disk):
    create_dvp(sim, "virtualdisks", PROJECT, blank_disk(disk, size="64Mi"))
    create_dvp(sim, "virtualmachines", PROJECT, {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
        "blockDeviceRefs": [{"kind": "VirtualDisk", "name": disk}]}})


def present(sim, plural, names, timeout=30):
    """The names of `names` kubectl still finds, once those going are gone (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        found = kubectl(sim, "get", plural, "-n", PROJECT, "--ignore-not-found", "-o", "name", *names).stdout.split()
        found = [line.rsplit("/", 1)[-1] for line in found]
        if time.monotonic() > deadline:
            return found
        time.sleep(0.5)
        if all(kubectl(sim, "get", plural, "-n", PROJECT, name, "--ignore-not-found", "-o",
                       "jsonpath={.metadata.deletionTimestamp}").stdout == "" for name in found):
            return found


def test_it_deletes_two_vms_and_the_disks_checked_on_the_confirmation(log_in, sim):
    tag = uuid.uuid4().hex[:5]
    vms = [f"bdel-{tag}-{i}" for i in range(2)]
    roots = [f"{vm}-root" for vm in vms]
    data = f"bdel-{tag}-data"
    for vm, root in zip(vms, roots):
        make_vm(sim, vm, root)
    create_dvp(sim, "virtualdisks", PROJECT, blank_disk(data, size="64Mi"))
    create_dvp(sim, "virtualmachineblockdeviceattachments", PROJECT, {"metadata": {"name": data}, "spec": {
        "virtualMachineName": vms[0], "blockDeviceRef": {"kind": "VirtualDisk", "name": data}}})

    page = log_in("alice")
    page.goto(f"/projects/{PROJECT}/vms/?q=bdel-{tag}")
    for vm in vms:
        page.get_by_label(f"Select {vm}").check()
    page.locator("#bulk-form").get_by_role("button", name="Delete", exact=True).click()

    expect(page.get_by_role("heading", name="Delete 2 virtual machines?")).to_be_visible()
    expect(page.get_by_text("Disks they leave behind")).to_be_visible()
    for disk in (*roots, data):
        expect(page.get_by_label(f"Delete the disk {disk}")).not_to_be_checked()
    page.get_by_label(f"Delete the disk {roots[0]}").check()
    page.get_by_label(f"Delete the disk {data}").check()
    page.get_by_role("button", name="Delete 2 virtual machines").click()

    expect(page.locator("#messages")).to_contain_text(f"The disk {data} is being deleted.")
    assert present(sim, "virtualmachines", vms) == []
    assert present(sim, "virtualdisks", [roots[0], data, roots[1]]) == [roots[1]]
    kubectl(sim, "delete", "virtualdisk", roots[1], "-n", PROJECT, "--wait=false")
