"""The user guide's "Attaching block devices", driven as the guide drives it (kubectl for its `d8 k`
commands) against a private dvpsim."""

import json
import re

from tests.kube import blank_disk, condition, sample_url, vm_body
from tests.guest import ssh
from tests.dvpsim.guide_placement.helpers import guide_vm, k, list_rv, phases_since, remove_vms, SMALL_CPU


# ---- Attaching block devices ------------------------------------------------------------------------------------

async def lsblk(sim, dvp, name):
    """The guide's `d8 v ssh cloud@<vm> --local-ssh --command "lsblk"` (SSH through the portforward subresource)."""
    return await ssh(sim, dvp, name, "lsblk")


def lsblk_rows(listing):
    return {line.split()[0]: line.split() for line in listing.splitlines() if re.match(r"^[a-z├└]", line)}


async def test_it_lists_static_devices_in_boot_order_and_waits_for_a_restart_to_reorder_them(dvp, psim):
    for disk in ("boot-a", "boot-b"):
        dvp.create("virtualdisks", blank_disk(disk, "2Gi"))
    # A project image after the disks: connected read-only (the guide's table).
    dvp.create("virtualimages", {"metadata": {"name": "static-image"}, "spec": {
        "storage": "ContainerRegistry",
        "dataSource": {"type": "HTTP", "http": {"url": sample_url(psim, "alpine-virt.qcow2")}}}})
    refs = [{"kind": "VirtualDisk", "name": "boot-a"}, {"kind": "VirtualDisk", "name": "boot-b"},
            {"kind": "VirtualImage", "name": "static-image"}]
    dvp.create("virtualmachines", vm_body("booter", cpu=SMALL_CPU, blockDeviceRefs=refs))
    vm = dvp.wait_phase("virtualmachines", "booter", "Running", timeout=30)
    assert [d["name"] for d in vm["status"]["blockDeviceRefs"]] == ["boot-a", "boot-b", "static-image"]
    rows = lsblk_rows(await lsblk(psim, dvp, "booter"))
    assert (rows["sda"][3], rows["sda"][4]) == ("2G", "0") and (rows["sdb"][3], rows["sdb"][4]) == ("2G", "0")
    assert (rows["sdc"][3], rows["sdc"][4], rows["sdc"][5]) == ("200M", "1", "disk")  # the image, read-only
    assert rows["sdd"][3] == "1M"  # then cloud-init
    k(dvp, "patch", "vm", "booter", "--type", "merge",
      "-p", json.dumps({"spec": {"blockDeviceRefs": [refs[1], refs[0], refs[2]]}}))
    vm = dvp.wait("virtualmachines", "booter", lambda o: o["status"].get("restartAwaitingChanges"))
    assert [c["path"] for c in vm["status"]["restartAwaitingChanges"]] == ["blockDeviceRefs"]
    assert condition(vm, "AwaitingRestartToApplyConfiguration")["status"] == "True"
    remove_vms(dvp, "booter")


async def test_it_hot_plugs_the_blank_disk_as_the_guide_shows_and_detaches_it(dvp, psim):
    guide_vm(dvp)
    rv = list_rv(dvp, "virtualmachineblockdeviceattachments")
    out = k(dvp, "apply", "-f", "-", stdin="""apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineBlockDeviceAttachment
metadata:
  name: attach-blank-disk
spec:
  blockDeviceRef:
    kind: VirtualDisk
    name: blank-disk
  virtualMachineName: linux-vm
""").stdout
    assert "virtualmachineblockdeviceattachment.virtualization.deckhouse.io/attach-blank-disk created" in out
    # Pending while a dependent resource is missing: the disk is made only now.
    pending = dvp.wait("virtualmachineblockdeviceattachments", "attach-blank-disk",
                       lambda o: condition(o, "BlockDeviceReady") is not None)
    assert pending["status"]["phase"] == "Pending"
    assert condition(pending, "BlockDeviceReady")["status"] == "False"
    # The guide's blank-disk, as its "Disks" section makes it (100Mi; its lsblk example shows an older 95.9M disk).
    dvp.create("virtualdisks", blank_disk("blank-disk", "100Mi"))
    phases = phases_since(dvp, "virtualmachineblockdeviceattachments", "attach-blank-disk", rv, ("Attached", "Failed"))
    assert phases == ["Pending", "InProgress", "Attached"], phases
    attached = dvp.get("virtualmachineblockdeviceattachments", "attach-blank-disk")
    assert {c["type"]: c["status"] for c in attached["status"]["conditions"]} == {
        "BlockDeviceReady": "True", "VirtualMachineReady": "True", "Attached": "True"}

    table = k(dvp, "get", "vmbda", "attach-blank-disk").stdout.splitlines()
    # dvp-api-notes §2: the columns are PHASE and VIRTUALMACHINE (the guide shows an older "VIRTUAL MACHINE NAME").
    assert table[0].split() == ["NAME", "PHASE", "VIRTUALMACHINE", "AGE"]
    assert table[1].split()[:3] == ["attach-blank-disk", "Attached", "linux-vm"]

    vm = dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    assert (condition(vm, "AwaitingRestartToApplyConfiguration") or {}).get("status") != "True"
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert rows["sda"][3] == "10G" and rows["sda"][5] == "disk"          # the static linux-vm-root
    assert rows["├─sda1"][-1] == "/" and rows["└─sda15"][-1] == "/boot/efi"
    assert rows["sdb"][3] == "1M"                                        # cloud-init
    assert rows["sdc"][3] == "100M" and rows["sdc"][4] == "0"            # the hot-plugged blank-disk, read-write

    k(dvp, "delete", "vmbda", "attach-blank-disk")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)
    assert "sdc" not in lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert dvp.get("virtualmachines", "linux-vm")["status"]["phase"] == "Running"  # no reboot


async def test_it_attaches_an_iso_image_as_a_cdrom(dvp, psim):
    dvp.wait_phase("virtualmachines", "linux-vm", "Running")
    dvp.create("virtualimages", {"metadata": {"name": "ubuntu-iso"}, "spec": {
        "storage": "ContainerRegistry",
        "dataSource": {"type": "HTTP", "http": {"url": sample_url(psim, "install.iso")}}}})
    assert dvp.wait_phase("virtualimages", "ubuntu-iso", "Ready", timeout=30)["status"]["cdrom"] is True
    k(dvp, "apply", "-f", "-", stdin="""apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineBlockDeviceAttachment
metadata:
  name: attach-ubuntu-iso
spec:
  blockDeviceRef:
    kind: VirtualImage # or ClusterVirtualImage
    name: ubuntu-iso
  virtualMachineName: linux-vm
""")
    dvp.wait_phase("virtualmachineblockdeviceattachments", "attach-ubuntu-iso", "Attached")
    wide = k(dvp, "get", "vmbda", "attach-ubuntu-iso", "-o", "wide").stdout.splitlines()
    # The CRD's order: PHASE, BLOCKDEVICE KIND, BLOCKDEVICE NAME (wide), VIRTUALMACHINE, AGE.
    assert re.split(r"\s{2,}", wide[0].strip()) == ["NAME", "PHASE", "BLOCKDEVICE KIND", "BLOCKDEVICE NAME",
                                                    "VIRTUALMACHINE", "AGE"]
    assert wide[1].split()[:5] == ["attach-ubuntu-iso", "Attached", "VirtualImage", "ubuntu-iso", "linux-vm"]
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert rows["sr0"][2] == "1" and rows["sr0"][-1] == "rom"            # removable, read-only medium
    k(dvp, "delete", "vmbda", "attach-ubuntu-iso")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)

    # "or ClusterVirtualImage": the demo's Alpine cluster image, a disk image, is attached read-only.
    dvp.create("virtualmachineblockdeviceattachments", {"metadata": {"name": "attach-alpine"}, "spec": {
        "blockDeviceRef": {"kind": "ClusterVirtualImage", "name": "alpine-virt"}, "virtualMachineName": "linux-vm"}})
    dvp.wait_phase("virtualmachineblockdeviceattachments", "attach-alpine", "Attached")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 2)
    rows = lsblk_rows(await lsblk(psim, dvp, "linux-vm"))
    assert (rows["sdc"][3], rows["sdc"][4], rows["sdc"][5]) == ("200M", "1", "disk")
    k(dvp, "delete", "vmbda", "attach-alpine")
    dvp.wait("virtualmachines", "linux-vm", lambda o: len(o["status"].get("blockDeviceRefs") or []) == 1)
