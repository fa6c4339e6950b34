"""VM operations in the console: confirmation, run policies, live migration and its cancellation."""
import re
import time

from django.urls import reverse

from tests.kube import create_dvp, custom, get_dvp, list_dvp, make_vm, wait_for_phase


def detail_url(project, vm):
    return reverse("virtualization:detail", args=[project, "vms", vm])


def operation_url(project, vm):
    return reverse("virtualization:vm-operation", args=[project, vm])


def operations_of(project, sim, vm):
    return [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]


def vm_without_disk(project, sim, unique, run_policy):
    vm = unique("vm")
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": run_policy, "cpu": {"cores": 1},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": unique("absent")}]}})
    return vm


def test_it_asks_for_confirmation_before_an_operation(project, owner, sim, unique):
    vm = unique("vm")
    make_vm(sim, project, vm, unique("disk"))
    dialog = owner.get(operation_url(project, vm), {"type": "Restart"}, HTTP_HX_REQUEST="true").content.decode()
    assert f"Restart the virtual machine {vm}?" in dialog and "<html" not in dialog
    assert 'name="type" value="Restart"' in dialog and "csrfmiddlewaretoken" in dialog
    page = owner.get(operation_url(project, vm), {"type": "Restart"}).content.decode()
    assert "<html" in page and f"Restart the virtual machine {vm}?" in page
    assert operations_of(project, sim, vm) == []  # asking creates nothing
    response = owner.post(operation_url(project, vm), {"type": "Restart"}, HTTP_HX_REQUEST="true")
    assert 'id="status"' in response.content.decode() and f"Restart requested for {vm}." in response.content.decode()
    assert [o["spec"]["type"] for o in operations_of(project, sim, vm)] == ["Restart"]


def test_it_explains_why_an_always_off_vm_cannot_start(project, owner, sim, unique):
    vm = vm_without_disk(project, sim, unique, "AlwaysOff")
    wait_for_phase(sim, "virtualmachines", project, vm, "Stopped")
    page = owner.get(detail_url(project, vm)).content.decode()
    why = "Start is not possible: the run policy AlwaysOff keeps it off."
    assert f'disabled title="{why}" data-operation="Start"' in page
    dialog = owner.get(operation_url(project, vm), {"type": "Start"}, HTTP_HX_REQUEST="true").content.decode()
    assert why in dialog and '<button type="submit" disabled>' in dialog


def test_it_explains_why_an_always_on_vm_cannot_stop(project, owner, sim, unique):
    vm = vm_without_disk(project, sim, unique, "AlwaysOn")
    page = owner.get(detail_url(project, vm)).content.decode()
    assert 'disabled title="Stop is not possible: the run policy AlwaysOn keeps it running." data-operation="Stop"' \
        in page


def test_it_reports_a_refused_operation_without_failing(project, owner, sim, unique):
    vm = vm_without_disk(project, sim, unique, "Manual")  # Start never completes: its disk is missing
    wait_for_phase(sim, "virtualmachines", project, vm, "Stopped")
    owner.post(operation_url(project, vm), {"type": "Start"})
    response = owner.post(operation_url(project, vm), {"type": "Start"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Start of {vm} was refused:" in page and "should finish first" in page
    assert len(operations_of(project, sim, vm)) == 1


def test_it_migrates_a_vm_and_shows_the_progress(project, owner, sim, unique):
    vm = unique("vm")
    source = make_vm(sim, project, vm, unique("disk"))["status"]["nodeName"]
    dialog = owner.get(operation_url(project, vm), {"type": "Migrate"}, HTTP_HX_REQUEST="true").content.decode()
    assert "live migration" in dialog and 'name="force"' in dialog  # PreferSafe: AutoConverge on demand
    owner.post(operation_url(project, vm), {"type": "Migrate", "force": "on"})
    [op] = operations_of(project, sim, vm)
    assert op["spec"] == {"type": "Evict", "virtualMachineName": vm, "force": True}
    wait_for_phase(sim, "virtualmachines", project, vm, "Migrating")
    page = owner.get(detail_url(project, vm)).content.decode()
    assert "Cancel migration" in page and 'data-phase="Migrating"' in page
    moved = wait_for_phase(sim, "virtualmachineoperations", project, op["metadata"]["name"], "Completed")
    assert moved["status"]["progress"] == "100%"
    vm_now = get_dvp(sim, "virtualmachines", project, vm)
    assert vm_now["status"]["phase"] == "Running" and vm_now["status"]["nodeName"] != source
    page = owner.get(detail_url(project, vm)).content.decode()
    assert f"Last migration: {source} → {vm_now['status']['nodeName']}, Succeeded." in page


def test_it_cancels_a_migration_after_confirmation(project, owner, sim, unique):
    vm = unique("vm")
    make_vm(sim, project, vm, unique("disk"))
    owner.post(operation_url(project, vm), {"type": "Migrate"})
    [op] = operations_of(project, sim, vm)
    cancel = reverse("virtualization:vm-cancel-migration", args=[project, vm, op["metadata"]["name"]])
    assert f"Cancel the migration of {vm}?" in owner.get(cancel, HTTP_HX_REQUEST="true").content.decode()
    assert owner.post(cancel).status_code == 302
    assert get_dvp(sim, "virtualmachineoperations", project, op["metadata"]["name"]) is None
    assert owner.post(cancel).status_code == 404  # already gone: no 500


def test_it_shows_guest_os_topology_and_phase_diagnostics(project, owner, sim, unique):
    vm = vm_without_disk(project, sim, unique, "AlwaysOn")  # its disk does not exist: Pending
    wait_for_phase(sim, "virtualmachines", project, vm, "Pending")
    page = owner.get(detail_url(project, vm)).content.decode()
    assert "Resources the VM depends on are not ready" in page and "BlockDevicesReady" in page
    running = unique("vm")
    make_vm(sim, project, running, unique("disk"))
    page = owner.get(detail_url(project, running)).content.decode()
    assert "1 socket × 1 core" in page


def test_it_lists_events_and_operations_newest_first(project, owner, sim, unique):
    vm = unique("vm")
    make_vm(sim, project, vm, unique("disk"))
    sim.control("clock", {"step": 120})  # the restart comes two minutes after the first start
    owner.post(operation_url(project, vm), {"type": "Restart"})
    [op] = operations_of(project, sim, vm)
    wait_for_phase(sim, "virtualmachineoperations", project, op["metadata"]["name"], "Completed")
    page = owner.get(reverse("virtualization:detail-tab", args=[project, "vms", vm, "events"])).content.decode()
    timeline = page[page.index('class="striped events timeline"'):page.index("</table>", page.index("timeline"))]
    assert f"Operation {op['metadata']['name']}" in timeline and 'data-phase="Completed"' in timeline
    assert "RestartInProgress" in timeline  # the operation's own events
    assert "Started" in timeline            # the VM's events
    # Newest first: the restart's rows, then the first start's, two minutes older.
    times = re.findall(r'<td title="([^"]+)">', timeline)
    assert times == sorted(times, reverse=True) and len(set(times)) > 1
    assert timeline.index("OperationCompleted") < timeline.index(f'title="{min(times)}"')


def test_it_explains_a_vm_outside_its_class_sizing_policy(project, owner, sim, unique):
    vmclass = unique("narrow")
    custom(sim).create_cluster_custom_object("virtualization.deckhouse.io", "v1alpha2", "virtualmachineclasses", {
        "apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineClass",
        "metadata": {"name": vmclass}, "spec": {"cpu": {"type": "Discovery"}, "sizingPolicies": [
            {"cores": {"min": 2, "max": 4}, "memory": {"min": "1Gi", "max": "8Gi"}}]}})
    vm = unique("vm")
    page = owner.post(reverse("virtualization:vm-create", args=[project]), {
        "name": vm, "vm_class": vmclass, "cores": "1", "memory": "1Gi", "boot_disk": []}).content.decode()
    assert f"The class {vmclass} allows 2–4 cores." in page
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": vmclass, "runPolicy": "AlwaysOff", "cpu": {"cores": 2}, "memory": {"size": "1Gi"},
        "blockDeviceRefs": [{"kind": "VirtualDisk", "name": unique("absent")}]}})
    custom(sim).patch_cluster_custom_object("virtualization.deckhouse.io", "v1alpha2", "virtualmachineclasses",
                                            vmclass, {"spec": {"sizingPolicies": [
                                                {"cores": {"min": 4, "max": 8}, "memory": {"min": "4Gi"}}]}})
    deadline = time.monotonic() + 20
    while "configuration changes cannot be saved" not in (page := owner.get(detail_url(project, vm)).content.decode()):
        assert time.monotonic() < deadline, "no SizingPolicyMatched note"
        time.sleep(0.2)
    assert "SizingPolicyMatched:" in page and "does not match any sizing policy" in page


def test_it_disables_migrate_for_a_vm_that_is_not_migratable(project, owner, sim, unique):
    vm = unique("vm")
    running = make_vm(sim, project, vm, unique("disk"))
    conditions = [c for c in running["status"]["conditions"] if c["type"] != "Migratable"] + [
        {"type": "Migratable", "status": "False", "reason": "NotMigratable", "message": "It uses a local disk",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    custom(sim).patch_namespaced_custom_object_status("virtualization.deckhouse.io", "v1alpha2", project,
                                                      "virtualmachines", vm, {"status": {"conditions": conditions}})
    page = owner.get(detail_url(project, vm)).content.decode()
    assert 'title="The VM cannot be live-migrated: It uses a local disk." data-operation="Migrate"' in page


def test_it_lets_a_member_run_operations_but_not_delete_the_vm(project, member, sim, unique):
    """d8:use:role:user may create VirtualMachineOperations, not delete the VM (that is the manager's)."""
    vm = unique("vm")
    make_vm(sim, project, vm, unique("disk"))
    page = member.get(detail_url(project, vm)).content.decode()
    assert "needs delete on virtualmachines" in page
    assert "needs create on virtualmachineoperations" not in page
    assert member.post(operation_url(project, vm), {"type": "Stop"}).status_code == 302
    assert [o["spec"]["type"] for o in operations_of(project, sim, vm)] == ["Stop"]
    member.post(reverse("virtualization:delete", args=[project, "vms", vm]))
    assert get_dvp(sim, "virtualmachines", project, vm)["metadata"].get("deletionTimestamp") is None
