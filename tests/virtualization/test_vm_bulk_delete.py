"""Bulk Delete of the VM list (vms/bulk.py, vms/bulk_delete.py): the confirmation lists the disks the selected VMs
leave behind (boot and hot-plugged), unchecked, never offering one another VM still uses; the checked ones are
deleted as the user after their VMs, each outcome reported in the API's words."""
import uuid

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.urls import reverse
from kubernetes import client

from projects.access import get_project

from tests.kube import blank_disk, create_dvp, get_dvp, list_dvp, wait_for
from virtualization.kinds.vms import bulk_delete

pytestmark = pytest.mark.usefixtures("remove_test_vms")


def bulk_url(project):
    return reverse("virtualization:vm-bulk", args=[project])


def make_vm(sim, project, name, *disks):
    """A Stopped VM (AlwaysOff) booting from `disks`, each made empty first."""
    for disk in disks:
        if get_dvp(sim, "virtualdisks", project, disk) is None:
            create_dvp(sim, "virtualdisks", project, blank_disk(disk, size="64Mi"))
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
        "blockDeviceRefs": [{"kind": "VirtualDisk", "name": d} for d in disks]}})
    return name


def hotplug(sim, project, vm, disk):
    create_dvp(sim, "virtualdisks", project, blank_disk(disk, size="64Mi"))
    create_dvp(sim, "virtualmachineblockdeviceattachments", project, {"metadata": {"name": disk}, "spec": {
        "virtualMachineName": vm, "blockDeviceRef": {"kind": "VirtualDisk", "name": disk}}})


@pytest.fixture
def pair(sim, project):
    """Two VMs to delete: a with its boot disk and a hot-plugged one, b with its boot disk and a disk it shares
    with c, which is not selected."""
    tag = uuid.uuid4().hex[:6]
    n = {"a": f"bd-{tag}-a", "b": f"bd-{tag}-b", "c": f"bd-{tag}-c"}
    n.update({"a_root": f"{n['a']}-root", "a_data": f"{n['a']}-data", "b_root": f"{n['b']}-root",
              "shared": f"bd-{tag}-shared"})
    make_vm(sim, project, n["a"], n["a_root"])
    hotplug(sim, project, n["a"], n["a_data"])
    make_vm(sim, project, n["b"], n["b_root"], n["shared"])
    make_vm(sim, project, n["c"], n["shared"])
    return n


def gone_or_going(sim, project, plural, name):
    obj = get_dvp(sim, plural, project, name)
    return obj is None or bool(obj["metadata"].get("deletionTimestamp"))


def disks_section(page):
    return page.split("Disks they leave behind")[1].split("</fieldset>")[0]


def test_it_lists_the_disks_the_vms_leave_behind_unchecked_and_keeps_a_shared_one_out(project, owner, pair):
    page = owner.post(bulk_url(project), {"action": "Delete", "names": [pair["a"], pair["b"]]}).content.decode()
    assert "Delete 2 virtual machines?" in page
    section = disks_section(page)
    for disk in ("a_root", "a_data", "b_root"):
        assert f'<input type="checkbox" name="delete_disk" value="{pair[disk]}"\n' in section
        assert f"Delete the disk {pair[disk]}</label>" in section
    assert " checked" not in section
    assert f"hot-plugged into {pair['a']}" in section and f"boot disk of {pair['b']}" in section
    # The disk c uses too is named, not offered.
    assert f'value="{pair["shared"]}"' not in section
    assert f'data-kept-disk="{pair["shared"]}"' in section
    assert f"also used by {pair['c']}, which is not being deleted" in section


def test_it_offers_a_disk_shared_only_by_selected_vms(project, owner, pair):
    page = owner.post(bulk_url(project), {"action": "Delete", "names": [pair["b"], pair["c"]]}).content.decode()
    section = disks_section(page)
    assert f'name="delete_disk" value="{pair["shared"]}"' in section
    assert f"boot disk of {pair['b']}, {pair['c']}" in section


def test_it_deletes_the_vms_and_only_the_checked_disks_it_offered(project, owner, sim, pair):
    # a_root is checked, a_data is not; the shared disk is posted anyway (c still uses it): ignored.
    response = owner.post(bulk_url(project), {
        "action": "Delete", "names": [pair["a"], pair["b"]], "confirmed": "1",
        "delete_disk": [pair["a_root"], pair["b_root"], pair["shared"]]}, follow=True)
    page = response.content.decode()
    for vm in ("a", "b"):
        assert f"The virtual machine {pair[vm]} is being deleted." in page
    for disk in ("a_root", "b_root"):
        assert f"The disk {pair[disk]} is being deleted." in page
    assert pair["shared"] not in page and pair["a_data"] not in page
    for vm in ("a", "b"):
        wait_for(lambda: gone_or_going(sim, project, "virtualmachines", pair[vm]), timeout=30)
    for disk in ("a_root", "b_root"):
        wait_for(lambda: gone_or_going(sim, project, "virtualdisks", pair[disk]), timeout=30)
    for disk in ("a_data", "shared"):
        assert not gone_or_going(sim, project, "virtualdisks", pair[disk])
    assert not gone_or_going(sim, project, "virtualmachines", pair["c"])


def test_it_keeps_every_disk_unless_checked(project, owner, sim, pair):
    owner.post(bulk_url(project), {"action": "Delete", "names": [pair["a"]], "confirmed": "1"})
    wait_for(lambda: gone_or_going(sim, project, "virtualmachines", pair["a"]), timeout=30)
    assert not gone_or_going(sim, project, "virtualdisks", pair["a_root"])
    assert not gone_or_going(sim, project, "virtualdisks", pair["a_data"])


@pytest.mark.parametrize("who", ["member", "viewer"])  # a member (d8 user role) may not delete VMs either
def test_it_gives_a_viewer_no_enabled_control_and_changes_nothing(who, project, cast, login, sim, pair):
    viewer = login(getattr(cast, who))
    before = {(o["metadata"]["name"], o["metadata"]["resourceVersion"])
              for plural in ("virtualmachines", "virtualdisks") for o in list_dvp(sim, plural, project)}
    page = viewer.post(bulk_url(project), {"action": "Delete", "names": [pair["a"], pair["b"]]}).content.decode()
    assert "Delete 0 virtual machines?" in page and 'name="delete_disk"' not in page
    assert '<button type="submit" class="danger" disabled' in page
    response = viewer.post(bulk_url(project), {"action": "Delete", "names": [pair["a"], pair["b"]], "confirmed": "1",
                                                "delete_disk": [pair["a_root"], pair["b_root"]]})
    assert response.status_code == 302
    after = {(o["metadata"]["name"], o["metadata"]["resourceVersion"])
             for plural in ("virtualmachines", "virtualdisks") for o in list_dvp(sim, plural, project)}
    assert after == before


@pytest.fixture
def vm_deleter(sim, project, login, unique):
    """A user who may delete VMs but not disks (a Role of the test's own), logged in."""
    name = unique("vm-deleter")
    rbac = client.RbacAuthorizationV1Api(sim.api("admin"))
    group = "virtualization.deckhouse.io"
    rbac.create_namespaced_role(project, {"metadata": {"name": name}, "rules": [
        {"apiGroups": [group], "resources": ["virtualmachines"], "verbs": ["get", "list", "watch", "delete"]},
        {"apiGroups": [group], "resources": ["virtualdisks", "virtualmachineblockdeviceattachments"],
         "verbs": ["get", "list", "watch"]}]})
    rbac.create_namespaced_role_binding(project, {"metadata": {"name": name}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}, "subjects": [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}]})
    return name, login(name)


def test_it_reports_a_refused_disk_in_the_apis_words(project, sim, pair, vm_deleter):
    name, deleter = vm_deleter
    page = deleter.post(bulk_url(project), {"action": "Delete", "names": [pair["a"]]}).content.decode()
    assert f'value="{pair["a_root"]}"\n    disabled title="You may not delete disks here' in page
    response = deleter.post(bulk_url(project), {"action": "Delete", "names": [pair["a"]], "confirmed": "1",
                                                "delete_disk": [pair["a_root"]]}, follow=True)
    page = response.content.decode()
    assert f"The virtual machine {pair['a']} is being deleted." in page
    assert f"The disk {pair['a_root']} was not deleted:" in page
    assert f"User &quot;{name}&quot; cannot delete resource &quot;virtualdisks&quot;" in page
    assert not gone_or_going(sim, project, "virtualdisks", pair["a_root"])


def test_it_keeps_the_checked_disks_of_a_vm_whose_delete_was_refused(project, cast, sim, pair, rf, django_user_model):
    # What bulk_delete.run does after the API refused to delete a (no VM deleted): a's checked disk stays.
    user, _ = django_user_model.objects.get_or_create(username=cast.owner)
    request = rf.post("/", {"delete_disk": [pair["a_root"]]})
    request.user, request._messages = user, CookieStorage(request)
    vm = get_dvp(sim, "virtualmachines", project, pair["a"])
    disks = bulk_delete.disks_left_behind(user, project, [vm])
    bulk_delete.delete_chosen_disks(request, get_project(user, project), disks, deleted=set())
    assert [str(m) for m in request._messages] == [f"The disk {pair['a_root']} was kept: {pair['a']} was not deleted."]
    assert not gone_or_going(sim, project, "virtualdisks", pair["a_root"])
