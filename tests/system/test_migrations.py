"""System → Virtualization → Virtual Machines (every project's VMs, filtered, with Migrate) and Migrations (in
progress cluster-wide, with progress and Cancel): the admin guide's "Start migration of an arbitrary machine"."""
from django.urls import reverse

from tests.kube import GROUP, VERSION, create_dvp, custom, get_dvp, wait_for

VMS = reverse("system:list", args=["virtualization/virtual-machines"])
MIGRATIONS = reverse("system:list", args=["virtualization/migrations"])


def operations(sim, project, vm):
    return [op for op in custom(sim).list_namespaced_custom_object(GROUP, VERSION, project,
                                                                   "virtualmachineoperations")["items"]
            if op["spec"]["virtualMachineName"] == vm]


def test_it_lists_the_vms_of_every_project_and_filters_them(operator, vm, project, other_project, sim, unique):
    name, node = vm["metadata"]["name"], vm["status"]["nodeName"]
    other = unique("vm")
    create_dvp(sim, "virtualmachines", other_project, {"metadata": {"name": other}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "none"}]}})
    page = operator.get(VMS).content.decode()
    assert f'id="row-{project}-{name}"' in page and f'id="row-{other_project}-{other}"' in page
    assert f'href="{reverse("virtualization:detail", args=[project, "vms", name])}"' in page
    only = operator.get(VMS, {"project": other_project}).content.decode()
    assert f'id="row-{other_project}-{other}"' in only and f'id="row-{project}-{name}"' not in only
    on_node = operator.get(VMS, {"node": node, "phase": "Running"}).content.decode()
    assert f'id="row-{project}-{name}"' in on_node and f'id="row-{other_project}-{other}"' not in on_node


def test_it_migrates_a_vm_of_any_project_after_a_confirmation(operator, vm, project, sim):
    name, source = vm["metadata"]["name"], vm["status"]["nodeName"]
    url = reverse("system:vm-migrate", args=[project, name])
    confirm = operator.get(url).content.decode()
    assert f"Migrate {project}/{name}?" in confirm and source in confirm
    assert operations(sim, project, name) == []
    response = operator.post(url)
    assert response["Location"] == MIGRATIONS
    [op] = operations(sim, project, name)
    assert op["spec"]["type"] == "Evict" and op["metadata"]["name"].startswith(f"evict-{name}-")
    wait_for(lambda: get_dvp(sim, "virtualmachines", project, name)["status"].get("nodeName") not in (None, source),
             timeout=60)
    page = operator.get(MIGRATIONS).content.decode()
    assert f'id="migration-{op["metadata"]["name"]}"' in page


def test_it_shows_a_migration_in_progress_and_cancels_it(operator, vm, project, sim, unique):
    name = vm["metadata"]["name"]
    sim.control("clock", {"speed": 0.2})  # slow enough to see it in progress
    try:
        op = create_dvp(sim, "virtualmachineoperations", project, {
            "metadata": {"name": unique("evict")}, "spec": {"type": "Evict", "virtualMachineName": name}})
        op_name = op["metadata"]["name"]
        wait_for(lambda: (get_dvp(sim, "virtualmachineoperations", project, op_name).get("status") or {})
                 .get("phase") == "InProgress", timeout=30)
        fragment = operator.get(MIGRATIONS).content.decode()
        row = fragment[fragment.index(f'id="migration-{op_name}"'):]
        assert "InProgress" in row[:row.index("</tr>")] and f'aria-label="Cancel {op_name}"' in row
        response = operator.post(reverse("system:migration-cancel", args=[project, op_name]))
        assert response["Location"] == MIGRATIONS
        wait_for(lambda: get_dvp(sim, "virtualmachineoperations", project, op_name) is None, timeout=30)
    finally:
        sim.control("clock", {"speed": 20})
    assert get_dvp(sim, "virtualmachines", project, name)["status"]["nodeName"] == vm["status"]["nodeName"]


def test_it_refuses_to_cancel_a_finished_migration(operator, vm, project, sim, unique):
    op = create_dvp(sim, "virtualmachineoperations", project, {
        "metadata": {"name": unique("evict")}, "spec": {"type": "Evict", "virtualMachineName": vm["metadata"]["name"]}})
    name = op["metadata"]["name"]
    wait_for(lambda: (get_dvp(sim, "virtualmachineoperations", project, name).get("status") or {})
             .get("phase") in ("Completed", "Failed"), timeout=60)
    response = operator.post(reverse("system:migration-cancel", args=[project, name]), follow=True)
    assert "only a Pending or InProgress one can be cancelled" in response.content.decode()
    assert get_dvp(sim, "virtualmachineoperations", project, name) is not None
