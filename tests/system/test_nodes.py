"""System → Nodes → Nodes of all groups: nodes with their VMs and reservations; Cordon + Drain moves the VMs
away through evacuations, shown on the node's page; a drain that cannot finish says why; Uncordon."""
from django.urls import reverse
from kubernetes import client

from tests.kube import GROUP, VERSION, create_dvp, custom, get_dvp, wait_for, wait_for_phase

LIST = reverse("system:list", args=["nodes/nodes"])


def node(sim, name):
    return client.CoreV1Api(sim.api("admin")).read_node(name)


def test_it_lists_every_node_with_its_vms_and_reservations(operator, vm):
    page = operator.get(LIST).content.decode()
    row = page[page.index(f'id="row-{vm["status"]["nodeName"]}"'):]
    row = row[:row.index("</tr>")]
    assert int(row.split('<td data-column="VMs">')[1].split("<")[0]) >= 1
    assert '<td data-column="Schedulable">yes</td>' in row
    detail = operator.get(reverse("system:detail", args=["nodes/nodes", vm["status"]["nodeName"]])).content.decode()
    assert vm["metadata"]["name"] in detail and "kubernetes.io/hostname=" in detail
    assert "Cordon + Drain" in detail


def test_it_drains_a_node_by_evacuating_its_vms_and_uncordons_it(operator, sim, project, vm, uncordon_all):
    source = vm["status"]["nodeName"]
    detail = reverse("system:detail", args=["nodes/nodes", source])
    response = operator.post(reverse("system:nodes-vms-cordon-drain", args=[source]))
    assert response["Location"] == detail
    assert node(sim, source).spec.unschedulable is True
    page = operator.get(detail).content.decode()
    assert "is being moved away" in page or "are being moved away" in page
    assert 'id="cordoned"' in page
    evacuations = [op for op in custom(sim).list_namespaced_custom_object(
        GROUP, VERSION, project, "virtualmachineoperations")["items"]
        if op["metadata"]["name"].startswith("evacuation-") and op["spec"]["virtualMachineName"] == vm["metadata"]["name"]]
    assert evacuations
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, vm["metadata"]["name"])["status"].get("nodeName")
             not in (None, source), timeout=60)
    wait_for(lambda: vm["metadata"]["name"] not in operator.get(reverse("system:status", args=["nodes/nodes", source]))
             .content.decode(), timeout=30)
    assert operator.post(reverse("system:nodes-vms-uncordon", args=[source]))["Location"] == detail
    assert not node(sim, source).spec.unschedulable


def test_it_explains_a_drain_that_cannot_finish(operator, sim, project, unique, uncordon_all):
    storage = client.StorageV1Api(sim.api("admin"))
    local = unique("local")
    storage.create_storage_class({"metadata": {"name": local}, "provisioner": "local.csi.storage.deckhouse.io",
                                  "volumeBindingMode": "Immediate", "reclaimPolicy": "Delete"})
    vm, disk = unique("vm"), unique("disk")
    try:
        create_dvp(sim, "virtualdisks", project, {"metadata": {"name": disk}, "spec": {"persistentVolumeClaim": {
            "size": "1Gi", "storageClassName": local}}})
        create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
            "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
            "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": disk}]}})
        source = wait_for_phase(sim, "virtualmachines", project, vm, "Running", timeout=60)["status"]["nodeName"]
        operator.post(reverse("system:nodes-vms-cordon-drain", args=[source]))
        status = reverse("system:status", args=["nodes/nodes", source])
        wait_for(lambda: "The drain cannot finish" in operator.get(status).content.decode(), timeout=30)
        page = operator.get(status).content.decode()
        assert f"{project}/{vm}: it cannot be live-migrated: Live migration requires all disks to use ReadWriteMany" \
            in page
        assert get_dvp(sim, "virtualmachines", project, vm)["status"]["nodeName"] == source
    finally:
        custom(sim).delete_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", vm)
        wait_for(lambda: get_dvp(sim, "virtualmachines", project, vm) is None, timeout=30)
        custom(sim).delete_namespaced_custom_object(GROUP, VERSION, project, "virtualdisks", disk)
        storage.delete_storage_class(local)
