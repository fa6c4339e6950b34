"""The VM's Snapshots tab: the list, "Create" as the guide describes it, Restore after a dry run, Create VM from
snapshot, Delete, and Clone from the operations menu; for the owner, a viewer and an outsider."""
import re

import pytest
from django.test import Client
from django.urls import reverse
from kubernetes.client.exceptions import ApiException

from tests.kube import (
    GROUP,
    VERSION,
    create_dvp,
    custom,
    get_dvp,
    list_dvp,
    make_vm,
    wait_for_phase,
)
from tests.kube import tab_url, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")


@pytest.fixture(autouse=True)
def remove_test_snapshots(project, sim):
    """VM snapshots a test took are removed with it (the VMs and disks go with remove_test_vms)."""
    before = {s["metadata"]["name"] for s in list_dvp(sim, "virtualmachinesnapshots", project)}
    yield
    for snapshot in list_dvp(sim, "virtualmachinesnapshots", project):
        if snapshot["metadata"]["name"] not in before:
            try:
                custom(sim).delete_namespaced_custom_object(GROUP, VERSION, project, "virtualmachinesnapshots",
                                                            snapshot["metadata"]["name"])
            except ApiException as exc:
                if exc.status != 404:
                    raise


def stopped_vm(project, sim, name, disk=None, run_policy="Manual"):
    """A VM created Stopped (run policy Manual) on a small blank disk: it takes no CPU of the shared nodes."""
    disk = disk or f"{name}-root"
    if get_dvp(sim, "virtualdisks", project, disk) is None:
        create_dvp(sim, "virtualdisks", project, {"metadata": {"name": disk},
                                                    "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": run_policy, "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": disk}]}})
    return wait_for_phase(sim, "virtualmachines", project, name, "Stopped", timeout=60)


def take_snapshot(project, sim, name, vm, **spec):
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, project, "virtualmachinesnapshots", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineSnapshot", "metadata": {"name": name},
        "spec": {"virtualMachineName": vm, **spec}})
    return wait_for_phase(sim, "virtualmachinesnapshots", project, name, "Ready", timeout=60)


def url(project, view, vm, *args):
    return reverse(f"virtualization:{view}", args=[project, vm, *args])


def text(response):
    return response.content.decode()


def finished(project, sim, plural, name):
    def done():
        op = get_dvp(sim, plural, project, name)
        return op if (op.get("status") or {}).get("phase") in ("Completed", "Failed") else None
    return wait_for(done, timeout=60)


def test_it_lists_the_vms_snapshots_with_their_saved_resources(project, owner, sim, unique):
    vm, other = unique("snap"), unique("snap")
    stopped_vm(project, sim, vm)
    stopped_vm(project, sim, other)
    page = text(owner.get(tab_url(project, vm, "snapshots")))
    assert f"No snapshots of {vm} yet." in page
    take_snapshot(project, sim, f"{vm}-s1", vm, keepIPAddress="Never")
    take_snapshot(project, sim, f"{other}-s1", other)
    page = text(owner.get(tab_url(project, vm, "snapshots")))
    row = re.search(rf'<tr data-snapshot="{vm}-s1">.*?</tr>', page, re.DOTALL).group(0)
    assert 'data-phase="Ready"' in row
    assert "<td>Never</td>" in row
    assert f'<span class="resource-ref">VirtualMachine {vm}</span>' in row
    assert f'<span class="resource-ref">VirtualDisk {vm}-root</span>' in row
    assert f"{other}-s1" not in page  # only this VM's snapshots
    assert 'aria-label="Restore from ' + f'{vm}-s1"' in row
    assert url(project, "vm-snapshot-create-vm", vm, f"{vm}-s1") in row
    assert f'href="{url(project, "vm-snapshot-create", vm)}">Create</a>' in page



def test_it_shows_a_snapshots_status_under_its_name_on_its_page(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s1", vm, keepIPAddress="Never")
    detail_url = reverse("virtualization:detail", args=[project, "vm-snapshots", f"{vm}-s1"])
    assert f'<a href="{detail_url}">{vm}-s1</a>' in text(owner.get(tab_url(project, vm, "snapshots")))
    page = text(owner.get(detail_url))
    head = re.search(r"<h1>(.*?)</h1>\s*<div id=\"status\".*?</dl>", page, re.DOTALL)
    assert head.group(1) == f"{vm}-s1" and 'data-phase="Ready"' in head.group(0)
    assert f'<dd><a href="{tab_url(project, vm, "snapshots")}">{vm}</a></dd>' in head.group(0)
    assert "<dt>IP address conversion policy</dt><dd>Never</dd>" in page
    assert url(project, "vm-snapshot-restore", vm, f"{vm}-s1") in page
    listing = text(owner.get(reverse("virtualization:list", args=[project, "vm-snapshots"])))
    assert f"{vm}-s1" in listing


def test_it_explains_why_a_snapshot_waits(project, owner, sim, unique):
    vm = unique("snap")
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": unique("absent")}]}})
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, project, "virtualmachinesnapshots", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineSnapshot", "metadata": {"name": f"{vm}-s"},
        "spec": {"virtualMachineName": vm}})
    wait_for(lambda: any(c.get("reason") for c in (get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s")
                                                   .get("status") or {}).get("conditions") or []))
    page = text(owner.get(tab_url(project, vm, "snapshots")))
    assert "(BlockDevicesNotReady): The VM&#x27;s disks are not ready" in page  # its disk does not exist
    assert f"waiting for the block devices of the virtual machine &quot;{vm}&quot; to be ready." in page
    assert 'disabled title="Only a Ready snapshot can be restored.">Restore</button>' in page


def test_it_creates_a_snapshot_the_way_the_guide_does(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    form = text(owner.get(url(project, "vm-snapshot-create", vm)))
    for label in ("Snapshot name", "IP address conversion policy", "Consistency Guarantee", "Configuration"):
        assert label in form
    assert 'role="switch"' in form and "checked" in form  # the switch starts on
    assert "no such field (dvp-api-notes §4.11)" in form
    snapshot = f"{vm}-linux-vm-snapshot"
    fields = {"name": snapshot, "keep_ip": "Never", "consistent": "on"}
    preview = text(owner.post(url(project, "vm-snapshot-create", vm), {**fields, "preview": "1"}))
    assert "kind: VirtualMachineSnapshot" in preview and f"virtualMachineName: {vm}" in preview
    assert "keepIPAddress: Never" in preview and "requiredConsistency: true" in preview
    assert "d8 k apply -f - &lt;&lt;EOF" in preview
    assert get_dvp(sim, "virtualmachinesnapshots", project, snapshot) is None  # the preview creates nothing
    response = owner.post(url(project, "vm-snapshot-create", vm), fields, follow=True)
    assert response.redirect_chain[-1][0] == tab_url(project, vm, "snapshots")
    assert f"The snapshot {snapshot} of {vm} is being taken." in text(response)
    created = get_dvp(sim, "virtualmachinesnapshots", project, snapshot)
    assert created["spec"] == {"virtualMachineName": vm, "requiredConsistency": True, "keepIPAddress": "Never"}
    wait_for_phase(sim, "virtualmachinesnapshots", project, snapshot, "Ready", timeout=60)
    row = re.search(rf'<tr data-snapshot="{snapshot}">.*?</tr>', text(owner.get(tab_url(project, vm, "snapshots"))),
                    re.DOTALL).group(0)
    assert 'data-phase="Ready"' in row and "<td>yes" in row  # consistent: taken of a stopped VM


def test_it_keeps_the_input_on_a_bad_or_taken_name(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    bad = owner.post(url(project, "vm-snapshot-create", vm), {"name": "Linux_VM", "keep_ip": "Never"})
    assert bad.status_code == 422
    page = text(bad)
    assert "Use lower-case letters, digits and &#x27;-&#x27;" in page
    assert 'value="Linux_VM"' in page and '<option value="Never" selected>' in page
    take_snapshot(project, sim, f"{vm}-taken", vm)
    taken = owner.post(url(project, "vm-snapshot-create", vm), {"name": f"{vm}-taken", "keep_ip": "Never"})
    assert taken.status_code == 422
    page = text(taken)
    assert "A VM snapshot with this name already exists in the project." in page
    assert f'value="{vm}-taken"' in page and '<option value="Never" selected>' in page
    assert 'name="consistent"' in page and "checked" not in re.search(r'<input[^>]*name="consistent"[^>]*>',
                                                                      page).group(0)


def test_it_restores_after_a_dry_run_showed_a_conflict(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    snapshot = f"{vm}-s"
    take_snapshot(project, sim, snapshot, vm)
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", vm,
                                               {"spec": {"cpu": {"cores": 2}}})
    thief = unique("thief")  # another VM that uses the disk the restore would recreate
    stopped_vm(project, sim, thief, disk=f"{vm}-root", run_policy="AlwaysOff")
    restore_url = url(project, "vm-snapshot-restore", vm, snapshot)
    dry_run_url = url(project, "vm-snapshot-dry-run", vm, snapshot)
    response = owner.post(dry_run_url, {})
    assert response.status_code == 302 and "?dry_run=" in response["Location"]
    dry_run_name = response["Location"].split("?dry_run=")[1]
    finished(project, sim, "virtualmachineoperations", dry_run_name)
    page = text(owner.get(response["Location"]))
    assert "The dry run found 1 conflict" in page
    assert f"The virtual disk &quot;{vm}-root&quot; is in use by the virtual machine &quot;{thief}&quot;." in page
    dry_run = get_dvp(sim, "virtualmachineoperations", project, dry_run_name)
    assert dry_run["spec"]["restore"] == {"mode": "DryRun", "virtualMachineSnapshotName": snapshot}
    assert get_dvp(sim, "virtualmachines", project, vm)["spec"]["cpu"]["cores"] == 2  # a dry run changes nothing
    fragment = text(owner.get(response["Location"] + "&fragment=1", HTTP_HX_REQUEST="true"))  # what the page polls
    assert fragment.lstrip().startswith('<div id="restore-body"') and "The dry run found 1 conflict" in fragment
    detail = text(owner.get(reverse("virtualization:detail", args=[project, "vms", vm])))
    assert f"Restore from {snapshot} (dry run)" in detail

    custom(sim).delete_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", thief)
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, thief) is None, timeout=30)
    again = owner.post(dry_run_url, {})
    finished(project, sim, "virtualmachineoperations", again["Location"].split("?dry_run=")[1])
    page = text(owner.get(again["Location"]))
    assert "No conflicts: the restore can go ahead." in page
    assert '<input type="radio" name="mode" value="Strict" checked>' in page
    assert '<input type="radio" name="mode" value="BestEffort"' in page

    response = owner.post(restore_url, {"mode": "Strict"}, follow=True)
    assert response.redirect_chain[-1][0] == tab_url(project, vm, "snapshots")
    assert f"Restore of {vm} from the snapshot {snapshot} requested (Strict" in text(response)
    [strict] = [o for o in list_dvp(sim, "virtualmachineoperations", project)
                if o["spec"]["virtualMachineName"] == vm and o["spec"].get("restore", {}).get("mode") == "Strict"]
    assert finished(project, sim, "virtualmachineoperations", strict["metadata"]["name"])["status"]["phase"] == "Completed"
    assert get_dvp(sim, "virtualmachines", project, vm)["spec"]["cpu"]["cores"] == 1


def test_it_creates_a_vm_from_a_snapshot(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s", vm)
    form = text(owner.get(url(project, "vm-snapshot-create-vm", vm, f"{vm}-s")))
    assert "Name prefix" in form and "Name suffix" in form and '<option value="BestEffort">' in form
    empty = owner.post(url(project, "vm-snapshot-create-vm", vm, f"{vm}-s"), {"name_prefix": "", "name_suffix": "",
                                                                     "mode": "Strict"})
    assert empty.status_code == 422 and "Give a prefix or a suffix" in text(empty)
    response = owner.post(url(project, "vm-snapshot-create-vm", vm, f"{vm}-s"), {"name_suffix": "-new", "mode": "Strict"},
                          follow=True)
    assert f"The virtual machine {vm}-new is being created from the snapshot {vm}-s" in text(response)
    [op] = [o for o in list_dvp(sim, "virtualmachinesnapshotoperations", project)
            if o["spec"]["virtualMachineSnapshotName"] == f"{vm}-s"]
    assert op["spec"]["type"] == "CreateVirtualMachine"
    assert op["spec"]["createVirtualMachine"] == {"mode": "Strict", "customization": {"nameSuffix": "-new"}}
    assert finished(project, sim, "virtualmachinesnapshotoperations", op["metadata"]["name"])["status"]["phase"] == \
        "Completed"
    assert get_dvp(sim, "virtualmachines", project, f"{vm}-new") is not None
    assert get_dvp(sim, "virtualdisks", project, f"{vm}-root-new") is not None


def test_it_follows_a_dry_run_of_create_vm_on_its_page_without_waiting_in_the_request(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s", vm)
    page_url = url(project, "vm-snapshot-create-vm", vm, f"{vm}-s")
    response = owner.post(page_url, {"name_suffix": "-dry", "mode": "DryRun"})
    assert response.status_code == 302 and "operation=" in response["Location"]
    op_name = response["Location"].split("operation=")[1].split("&")[0]
    page = text(owner.get(response["Location"]))
    assert f"Operation {op_name}:" in page
    assert 'value="-dry"' in page  # the form keeps what the user chose
    finished(project, sim, "virtualmachinesnapshotoperations", op_name)
    fragment = text(owner.get(response["Location"] + "&fragment=1", HTTP_HX_REQUEST="true"))
    assert fragment.lstrip().startswith('<section id="operation-result"') and "every 1s" not in fragment
    assert get_dvp(sim, "virtualmachines", project, f"{vm}-dry") is None  # a dry run creates nothing


def test_it_deletes_a_snapshot_after_confirmation(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s", vm)
    confirm = text(owner.get(url(project, "vm-snapshot-delete", vm, f"{vm}-s")))
    assert f"Delete VM snapshot {vm}-s?" in confirm and "csrfmiddlewaretoken" in confirm
    assert get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s") is not None  # asking deletes nothing
    response = owner.post(url(project, "vm-snapshot-delete", vm, f"{vm}-s"), follow=True)
    assert f"The snapshot {vm}-s is being deleted." in text(response)
    wait_for(lambda: get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s") is None, timeout=30)


def test_it_clones_a_vm_from_its_operations_menu(project, owner, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    detail = text(owner.get(reverse("virtualization:detail", args=[project, "vms", vm])))
    assert 'role="button" data-operation="Clone">Clone</a>' in detail
    operation = reverse("virtualization:vm-operation", args=[project, vm])
    dialog = text(owner.get(operation, {"type": "Clone"}, HTTP_HX_REQUEST="true"))
    assert f"Clone the virtual machine {vm}?" in dialog and 'name="name_suffix"' in dialog
    nameless = owner.post(operation, {"type": "Clone", "name_prefix": "", "name_suffix": "", "mode": "Strict"})
    assert nameless.status_code == 422 and "Give a prefix or a suffix" in text(nameless)
    bad = owner.post(operation, {"type": "Clone", "name_suffix": "_Copy", "mode": "Strict"})
    assert bad.status_code == 422 and 'value="_Copy"' in text(bad)
    assert not [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]
    response = owner.post(operation, {"type": "Clone", "name_suffix": "-copy", "mode": "Strict"}, follow=True)
    assert f"Clone of {vm} requested: the new virtual machine is {vm}-copy" in text(response)
    [op] = [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]
    assert op["spec"]["type"] == "Clone"
    assert op["spec"]["clone"] == {"mode": "Strict", "customization": {"nameSuffix": "-copy"}}
    assert finished(project, sim, "virtualmachineoperations", op["metadata"]["name"])["status"]["phase"] == "Completed"
    assert get_dvp(sim, "virtualmachines", project, f"{vm}-copy") is not None
    detail = text(owner.get(reverse("virtualization:detail", args=[project, "vms", vm])))
    assert f'→ <a href="/projects/{project}/vms/{vm}-copy/">{vm}-copy</a>' in detail

    # The list's row menu offers Clone too (the same OPERATIONS table) and comes back to the list.
    listing = reverse("virtualization:list", args=[project, "vms"])
    assert f'href="{operation}?type=Clone&amp;next={listing}"' in text(owner.get(listing, {"q": vm}))
    again = owner.post(operation, {"type": "Clone", "name_prefix": "x-", "mode": "DryRun", "next": listing})
    assert again.status_code == 302 and again["Location"] == listing


def test_it_says_why_the_clone_of_a_running_vm_without_agent_waits(project, owner, sim, unique):
    vm = unique("snap")
    make_vm(sim, project, vm, f"{vm}-root")  # Running, 10% CPU share, no guest agent; removed after the test
    operation = reverse("virtualization:vm-operation", args=[project, vm])
    owner.post(operation, {"type": "Clone", "name_prefix": "c-", "mode": "Strict"})
    [op] = [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]
    try:
        wait_for(lambda: "agent is not ready" in str(get_dvp(sim, "virtualmachineoperations", project,
                                                              op["metadata"]["name"]).get("status") or {}))
        detail = text(owner.get(reverse("virtualization:detail", args=[project, "vms", vm])))
        row = re.search(rf'<tr data-operation-name="{op["metadata"]["name"]}">.*?</tr>', detail, re.DOTALL).group(0)
        assert f"Clone → c-{vm}" in row and "virtual machine agent is not ready" in row
    finally:  # the clone would wait for ever: cancel it
        custom(sim).delete_namespaced_custom_object(GROUP, VERSION, project, "virtualmachineoperations",
                                                    op["metadata"]["name"])


def test_it_offers_clone_only_in_the_phases_dvp_allows(project, owner, sim, unique):
    vm = unique("snap")
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": unique("absent")}]}})
    wait_for_phase(sim, "virtualmachines", project, vm, "Pending")  # it should run, but its disk is missing
    detail = text(owner.get(reverse("virtualization:detail", args=[project, "vms", vm])))
    assert 'disabled title="Not applicable while the VM is Pending." data-operation="Clone">Clone</button>' in detail


def test_it_disables_what_a_viewer_may_not_do(project, cast, login, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s", vm)
    viewer = login(cast.viewer)
    page = text(viewer.get(tab_url(project, vm, "snapshots")))
    assert f'<tr data-snapshot="{vm}-s">' in page  # a viewer sees them
    assert 'disabled title="You may not do this here (needs create on virtualmachinesnapshots).">Create</button>' \
        in page
    assert 'disabled title="You may not do this here (needs create on virtualmachineoperations).">Restore' in page
    assert 'disabled title="You may not do this here (needs delete on virtualmachinesnapshots).">Delete' in page
    refused = viewer.post(url(project, "vm-snapshot-create", vm), {"name": f"{vm}-mine", "keep_ip": "Always"})
    assert refused.status_code == 422 and "forbidden" in text(refused).lower()
    assert f'value="{vm}-mine"' in text(refused)
    assert get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-mine") is None
    viewer.post(url(project, "vm-snapshot-delete", vm, f"{vm}-s"))
    assert get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s") is not None
    detail = text(viewer.get(reverse("virtualization:detail", args=[project, "vms", vm])))
    assert 'title="You may not run operations here (needs create on virtualmachineoperations)." ' \
           'data-operation="Clone">Clone</button>' in detail


def test_it_is_not_found_for_an_outsider(project, cast, login, sim, unique):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    take_snapshot(project, sim, f"{vm}-s", vm)
    outsider = login(cast.outsider)
    assert outsider.get(tab_url(project, vm, "snapshots")).status_code == 404
    assert outsider.get(url(project, "vm-snapshot-create", vm)).status_code == 404
    assert outsider.post(url(project, "vm-snapshot-create", vm), {"name": "x", "keep_ip": "Always"}).status_code == 404
    assert outsider.post(url(project, "vm-snapshot-dry-run", vm, f"{vm}-s"), {}).status_code == 404
    assert outsider.post(url(project, "vm-snapshot-delete", vm, f"{vm}-s")).status_code == 404
    assert get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s") is not None


def test_it_refuses_posts_without_the_csrf_token(project, cast, sim, unique, django_user_model, db):
    vm = unique("snap")
    stopped_vm(project, sim, vm)
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.get_or_create(username=cast.owner)[0])
    assert client.post(url(project, "vm-snapshot-create", vm), {"name": f"{vm}-s", "keep_ip": "Always"}).status_code == 403
    assert get_dvp(sim, "virtualmachinesnapshots", project, f"{vm}-s") is None


@pytest.fixture
def faults(sim):
    sim.clear_faults()
    yield sim
    sim.clear_faults()


def test_it_survives_api_failures_with_the_input_kept(project, owner, faults, unique):
    vm = unique("snap")
    stopped_vm(project, faults, vm)
    take_snapshot(project, faults, f"{vm}-s", vm)
    faults.inject(verb="list", resource="virtualmachinesnapshots", namespace=project, status=500)
    page = owner.get(tab_url(project, vm, "snapshots"))
    assert page.status_code == 200 and "The VM snapshots could not be read:" in text(page)
    faults.clear_faults()
    faults.inject(verb="create", resource="virtualmachinesnapshots", namespace=project, status=409)
    response = owner.post(url(project, "vm-snapshot-create", vm), {"name": f"{vm}-new", "keep_ip": "Never", "consistent": "on"})
    assert response.status_code == 422
    page = text(response)
    assert "injected fault" in page and f'value="{vm}-new"' in page and '<option value="Never" selected>' in page
    faults.clear_faults()
    faults.inject(verb="create", resource="virtualmachineoperations", namespace=project, status=503)
    response = owner.post(url(project, "vm-snapshot-restore", vm, f"{vm}-s"), {"mode": "Strict"},
                          follow=True)
    assert response.status_code == 200
    assert f"Restoring {vm} from {vm}-s was refused:" in text(response) and "injected fault" in text(response)
