"""VirtualDisk provisioning: blank, from images, WaitForFirstConsumer, resize, attachments."""

import pytest
from kubernetes import client

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, http_image, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "disks"))


def test_it_provisions_a_blank_disk_on_the_default_storage_class(dvp):
    created = dvp.create("virtualdisks", blank_disk("blank", "100Mi"))
    disk = dvp.wait_phase("virtualdisks", "blank", "Ready")
    status = disk["status"]
    assert status["capacity"] == "100Mi"
    assert status["storageClassName"] == "i-sds-replicated-thin-r1"
    pvc_name = f"vd-blank-{created['metadata']['uid']}"
    assert status["target"]["persistentVolumeClaimName"] == pvc_name
    pvc = dvp.core.read_namespaced_persistent_volume_claim(pvc_name, dvp.namespace)
    assert pvc.spec.resources.requests["storage"] == "100Mi"
    assert pvc.spec.storage_class_name == "i-sds-replicated-thin-r1"


def test_it_waits_for_a_missing_image_then_provisions_from_it(dvp, sim):
    dvp.create("virtualdisks", {"metadata": {"name": "from-image"}, "spec": {
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "later"}}}})
    disk = dvp.wait("virtualdisks", "from-image",
                    lambda o: condition(o, "DatasourceReady") and condition(o, "DatasourceReady")["status"] == "False")
    assert disk["status"]["phase"] == "Pending"
    waiting = condition(disk, "DatasourceReady")
    assert waiting["reason"] == "DatasourceIsNotFound"
    assert 'VirtualImage "later"' in waiting["message"]

    dvp.create("virtualimages", http_image(sim, "later", "noble-server-cloudimg-amd64.img"))
    disk = dvp.wait_phase("virtualdisks", "from-image", "Ready")
    # Without a size the disk takes the unpacked size of the image (3.5Gi).
    assert disk["status"]["capacity"] == "3584Mi"
    assert condition(disk, "DatasourceReady")["status"] == "True"


def test_it_takes_the_larger_of_the_requested_and_the_image_size(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "alpine", "alpine-virt.qcow2"))
    dvp.create("virtualdisks", {"metadata": {"name": "roomy"}, "spec": {
        "persistentVolumeClaim": {"size": "10Gi", "storageClassName": "i-sds-replicated-thin-r2"},
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "alpine"}}}})
    dvp.create("virtualdisks", {"metadata": {"name": "tight"}, "spec": {
        "persistentVolumeClaim": {"size": "100Mi"},
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": "alpine"}}}})
    roomy = dvp.wait_phase("virtualdisks", "roomy", "Ready")["status"]
    assert (roomy["capacity"], roomy["storageClassName"]) == ("10Gi", "i-sds-replicated-thin-r2")
    assert dvp.wait_phase("virtualdisks", "tight", "Ready")["status"]["capacity"] == "200Mi"


def test_it_provisions_from_a_cluster_image(dvp):
    dvp.create("virtualdisks", {"metadata": {"name": "from-cvi"}, "spec": {
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "ClusterVirtualImage", "name": "alpine-virt"}}}})
    assert dvp.wait_phase("virtualdisks", "from-cvi", "Ready")["status"]["capacity"] == "200Mi"


def test_it_waits_for_the_first_consumer(dvp):
    dvp.create("virtualdisks", blank_disk("wffc", "1Gi", "sds-replicated-thin-r1"))
    disk = dvp.wait_phase("virtualdisks", "wffc", "WaitForFirstConsumer")
    assert condition(disk, "Ready")["reason"] == "WaitingForFirstConsumer"
    dvp.create("virtualmachines", vm_body("wffc-vm", disk="wffc"))
    vm = dvp.wait_phase("virtualmachines", "wffc-vm", "Running")
    disk = dvp.wait_phase("virtualdisks", "wffc", "Ready")
    pvc = dvp.core.read_namespaced_persistent_volume_claim(disk["status"]["target"]["persistentVolumeClaimName"],
                                                           dvp.namespace)
    assert pvc.metadata.annotations["volume.kubernetes.io/selected-node"] == vm["status"]["nodeName"]
    disk = dvp.wait("virtualdisks", "wffc", lambda o: o["status"].get("attachedToVirtualMachines"))
    assert disk["status"]["attachedToVirtualMachines"] == [{"name": "wffc-vm", "mounted": True}]
    assert condition(disk, "InUse")["status"] == "True"
    dvp.delete("virtualmachines", "wffc-vm")  # the shared nodes are not endless


def test_it_grows_a_disk(dvp):
    dvp.create("virtualdisks", blank_disk("growing", "1Gi"))
    dvp.wait_phase("virtualdisks", "growing", "Ready")
    dvp.patch("virtualdisks", "growing", {"spec": {"persistentVolumeClaim": {"size": "2Gi"}}})
    dvp.wait("virtualdisks", "growing", lambda o: o["status"].get("capacity") == "2Gi"
             and o["status"]["phase"] == "Ready")


def test_it_keeps_a_disk_in_use_until_its_vm_is_gone(dvp):
    dvp.create("virtualdisks", blank_disk("held", "1Gi"))
    dvp.create("virtualmachines", vm_body("holder", disk="held"))
    dvp.wait_phase("virtualmachines", "holder", "Running")
    dvp.delete("virtualdisks", "held")
    dvp.wait_phase("virtualdisks", "held", "Terminating")
    dvp.delete("virtualmachines", "holder")
    dvp.wait_gone("virtualmachines", "holder")
    dvp.wait_gone("virtualdisks", "held")


def test_it_releases_a_disk_removed_from_the_boot_disks(dvp):
    dvp.create("virtualdisks", blank_disk("first", "1Gi"))
    dvp.create("virtualdisks", blank_disk("extra", "1Gi"))
    dvp.create("virtualmachines", vm_body("two-disks", disk="first", runPolicy="AlwaysOff"))
    dvp.wait_phase("virtualdisks", "extra", "Ready")
    refs = [{"kind": "VirtualDisk", "name": "first"}, {"kind": "VirtualDisk", "name": "extra"}]
    dvp.patch("virtualmachines", "two-disks", {"spec": {"blockDeviceRefs": refs}})
    dvp.wait("virtualdisks", "extra", lambda d: condition(d, "InUse").get("status") == "True")
    dvp.patch("virtualmachines", "two-disks", {"spec": {"blockDeviceRefs": refs[:1]}})
    extra = dvp.wait("virtualdisks", "extra", lambda d: condition(d, "InUse").get("status") == "False")
    assert "attachedToVirtualMachines" not in extra["status"]


def test_it_stays_pending_without_a_storage_class(dvp):
    dvp.create("virtualdisks", blank_disk("nowhere", "1Gi", "no-such-class"))
    disk = dvp.wait("virtualdisks", "nowhere", lambda o: condition(o, "StorageClassReady"))
    assert disk["status"]["phase"] == "Pending"
    assert condition(disk, "StorageClassReady")["reason"] == "StorageClassNotFound"
    with pytest.raises(client.ApiException):
        dvp.core.read_namespaced_persistent_volume_claim("vd-nowhere", dvp.namespace)
