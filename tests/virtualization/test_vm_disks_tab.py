"""The VM's "Disks and Images" tab: boot disks (add, remove, reorder, resize) and hot-plugged Additional Disks."""
import pytest
import json
import re

from tests.kube import action_url, create_dvp, get_dvp, list_dvp, make_vm, wait_for_phase
from tests.kube import tab_url, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")


def blank_disk(project, sim, name, size="1Gi"):
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": name},
                                                "spec": {"persistentVolumeClaim": {"size": size}}})
    return wait_for_phase(sim, "virtualdisks", project, name, "Ready")


def boot_form(vm, **fields):
    return {"resource_version": vm["metadata"]["resourceVersion"],
            "base": json.dumps({"blockDeviceRefs": vm["spec"]["blockDeviceRefs"]}), **fields}


def attachments_of(project, sim, vm_name):
    return [a for a in list_dvp(sim, "virtualmachineblockdeviceattachments", project)
            if a["spec"]["virtualMachineName"] == vm_name]


def test_it_hot_plugs_and_detaches_an_additional_disk(project, owner, sim, unique):
    name = unique("dsk")
    make_vm(sim, project, name, f"{name}-root")
    blank_disk(project, sim, f"{name}-data", "2Gi")
    page = owner.get(tab_url(project, name, "disks")).content.decode()
    assert f'<option value="VirtualDisk/{name}-data"' in page
    response = owner.post(action_url(project, name, "disks", "attach"), {"device": f"VirtualDisk/{name}-data"})
    assert response.status_code == 302
    [attachment] = attachments_of(project, sim, name)
    assert attachment["spec"]["blockDeviceRef"] == {"kind": "VirtualDisk", "name": f"{name}-data"}
    wait_for(lambda: (get_dvp(sim, "virtualmachineblockdeviceattachments", project, attachment["metadata"]["name"])
                      .get("status") or {}).get("phase") == "Attached")
    wait_for(lambda: len(get_dvp(sim, "virtualmachines", project, name)["status"]["blockDeviceRefs"]) == 2)
    page = owner.get(tab_url(project, name, "disks")).content.decode()
    additional = page[page.index("Additional Disks"):]
    assert f"<td>{name}-data</td>" in additional and 'data-phase="Attached"' in additional
    assert "<td>2Gi</td>" in additional
    assert owner.post(action_url(project, name, "disks", "resize"), {"disk": f"{name}-data", "size": "4Gi"}) \
        .status_code == 302
    assert get_dvp(sim, "virtualdisks", project, f"{name}-data")["spec"]["persistentVolumeClaim"]["size"] == "4Gi"

    response = owner.post(action_url(project, name, "disks", "detach"), {"attachment": attachment["metadata"]["name"]})
    assert response.status_code == 302
    wait_for(lambda: not attachments_of(project, sim, name))


def test_it_asks_for_a_device_to_attach(project, owner, sim, unique):
    name = unique("dsk")
    make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "disks", "attach"), {"device": ""})
    assert response.status_code == 422
    assert "Choose a disk or an image to attach." in response.content.decode()
    assert not attachments_of(project, sim, name)


def test_it_reorders_adds_and_removes_boot_disks(project, owner, sim, unique):
    name = unique("dsk")
    vm = make_vm(sim, project, name, f"{name}-root")
    blank_disk(project, sim, f"{name}-second")
    assert owner.post(action_url(project, name, "disks", "add"), boot_form(vm, device=f"VirtualDisk/{name}-second")) \
        .status_code == 302
    vm = get_dvp(sim, "virtualmachines", project, name)
    assert [r["name"] for r in vm["spec"]["blockDeviceRefs"]] == [f"{name}-root", f"{name}-second"]
    assert owner.post(action_url(project, name, "disks", "up"), boot_form(vm, index="1")).status_code == 302
    vm = get_dvp(sim, "virtualmachines", project, name)
    assert [r["name"] for r in vm["spec"]["blockDeviceRefs"]] == [f"{name}-second", f"{name}-root"]
    assert owner.post(action_url(project, name, "disks", "remove"), boot_form(vm, index="0")).status_code == 302
    vm = get_dvp(sim, "virtualmachines", project, name)
    assert [r["name"] for r in vm["spec"]["blockDeviceRefs"]] == [f"{name}-root"]
    response = owner.post(action_url(project, name, "disks", "remove"), boot_form(vm, index="0"))
    assert response.status_code == 422
    assert "A virtual machine needs at least one boot disk." in response.content.decode()


def test_it_does_not_reorder_over_someone_elses_change(project, owner, sim, unique):
    name = unique("dsk")
    vm = make_vm(sim, project, name, f"{name}-root")
    blank_disk(project, sim, f"{name}-b")
    stale = boot_form(vm, device=f"VirtualDisk/{name}-b")
    from tests.kube import custom
    custom(sim).patch_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", project,
                                               "virtualmachines", name, {"spec": {"blockDeviceRefs": [
                                                   {"kind": "VirtualDisk", "name": f"{name}-root"},
                                                   {"kind": "ClusterVirtualImage", "name": "alpine-virt"}]}})
    response = owner.post(action_url(project, name, "disks", "add"), stale)
    assert response.status_code == 422
    assert "Someone else changed the boot disks meanwhile" in response.content.decode()
    refs = get_dvp(sim, "virtualmachines", project, name)["spec"]["blockDeviceRefs"]
    assert [r["name"] for r in refs] == [f"{name}-root", "alpine-virt"]


def test_it_grows_a_disk_and_refuses_to_shrink_it(project, owner, sim, unique):
    name = unique("dsk")
    make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "disks", "resize"), {"disk": f"{name}-root", "size": "512Mi"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "A disk can only grow: it is 1Gi now" in page
    assert re.search(rf'id="size-{name}-root" name="size" placeholder="[^"]*" size="8" value="512Mi"', page)
    response = owner.post(action_url(project, name, "disks", "resize"), {"disk": f"{name}-root", "size": "lots"})
    assert "Give a size with its unit" in response.content.decode()
    assert owner.post(action_url(project, name, "disks", "resize"), {"disk": f"{name}-root", "size": "3Gi"}) \
        .status_code == 302
    disk = get_dvp(sim, "virtualdisks", project, f"{name}-root")
    assert disk["spec"]["persistentVolumeClaim"]["size"] == "3Gi"


def test_it_disables_attaching_for_a_viewer(project, cast, login, sim, unique, db):
    name = unique("dsk")
    make_vm(sim, project, name, f"{name}-root")
    page = login(cast.viewer).get(tab_url(project, name, "disks")).content.decode()
    assert "You may not attach disks here (needs create on virtualmachineblockdeviceattachments)." in page
    response = login(cast.viewer).post(action_url(project, name, "disks", "attach"), {"device": f"VirtualDisk/{name}-root"})
    assert response.status_code == 422 and "forbidden" in response.content.decode().lower()
