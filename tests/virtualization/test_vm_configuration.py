"""The VM's Configuration tab: edit, changes listed with their restart needs, 409s, the restart banner."""
import re

import pytest
from django.urls import reverse

from tests.kube import action_url, custom, get_dvp, make_vm
from tests.kube import tab_url as _tab_url, wait_for

pytestmark = pytest.mark.usefixtures("remove_test_vms")

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"


def tab_url(project, name):
    return _tab_url(project, name, "configuration")


def form_of(vm, **changes):
    spec = vm["spec"]
    data = {"resource_version": vm["metadata"]["resourceVersion"], "vm_class": spec["virtualMachineClassName"],
            "cores": str(spec["cpu"]["cores"]), "core_fraction": spec["cpu"]["coreFraction"],
            "memory": spec["memory"]["size"], "run_policy": spec["runPolicy"], "os_type": spec["osType"],
            "bootloader": spec["bootloader"], "live_migration_policy": spec["liveMigrationPolicy"],
            "paravirtualization": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def hidden(html, name):
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_it_shows_the_configuration_of_a_vm_as_editable_fields(project, owner, sim, unique):
    name = unique("cfg")
    make_vm(sim, project, name, f"{name}-root")
    page = owner.get(tab_url(project, name)).content.decode()
    for label in ("Machine Parameters", "Additional Settings", "Startup Policy", "Auto-apply changes", "CPU Share",
                  "Bootloader", "Live migration policy", "Cloud-init"):
        assert label in page
    assert 'name="cores" value="1"' in page
    assert '<option value="AlwaysOnUnlessStoppedManually" selected>' in page


def test_it_lists_the_changes_and_which_need_a_restart_before_saving(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "configuration", "review"), form_of(vm, memory="2Gi", run_policy="Manual"))
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r"<code>memory.size</code></td><td>1Gi</td><td>2Gi</td><td>after a restart</td>", page)
    assert re.search(r"<code>runPolicy</code></td><td>AlwaysOnUnlessStoppedManually</td><td>Manual</td>"
                     r"<td>immediately</td>", page)
    assert re.search(r"The VM needs a restart to apply some of these\s+changes", page)
    assert (f"d8 k patch vm {name} --type merge -p &#x27;{{&quot;spec&quot;:{{&quot;memory&quot;:{{&quot;size&quot;:"
            f"&quot;2Gi&quot;}},&quot;runPolicy&quot;:&quot;Manual&quot;}}}}&#x27;") in page
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["memory"]["size"] == "1Gi"


def test_it_refreshes_the_change_list_as_the_user_edits(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(reverse("virtualization:vm-config-changes", args=[project, name]),
                          form_of(vm, auto_apply="on", base=None), HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert fragment.startswith('\n  <div id="config-changes"') or 'id="config-changes"' in fragment[:80]
    assert "<code>disruptions.restartApprovalMode</code></td><td>Manual</td><td>Automatic</td><td>immediately" in \
        fragment


def test_it_saves_a_change_and_shows_the_restart_banner_until_the_restart(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "configuration", "save"), form_of(vm, cores="2", memory="2Gi"))
    assert response.status_code == 302
    saved = get_dvp(sim, "virtualmachines", project, name)
    assert saved["spec"]["cpu"]["cores"] == 2 and saved["spec"]["memory"]["size"] == "2Gi"
    wait_for(lambda: (get_dvp(sim, "virtualmachines", project, name)["status"].get("restartAwaitingChanges")))
    page = owner.get(reverse("virtualization:detail", args=[project, "vms", name])).content.decode()
    assert "Restart required." in page
    assert "<code>cpu.cores</code>: 1 → 2" in page and "<code>memory.size</code>: 1Gi → 2Gi" in page
    banner = page[page.index('id="restart-banner"'):]
    assert 'name="type" value="Restart"' in banner[:1500]

    owner.post(reverse("virtualization:vm-operation", args=[project, name]), {"type": "Restart"})
    wait_for(lambda: (lambda v: v["status"].get("phase") == "Running" and not v["status"].get("restartAwaitingChanges")
                      and v["status"]["resources"]["cpu"]["cores"] == 2)(
        get_dvp(sim, "virtualmachines", project, name)), timeout=40)
    page = owner.get(reverse("virtualization:detail", args=[project, "vms", name])).content.decode()
    assert "Restart required." not in page


def test_it_shows_a_concurrent_change_and_keeps_the_edit(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    form = form_of(vm, memory="3Gi")
    form["base"] = hidden(owner.get(tab_url(project, name)).content.decode(), "base").replace("&quot;", '"')
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", name,
                                               {"spec": {"runPolicy": "Manual"}})
    response = owner.post(action_url(project, name, "configuration", "save"), form)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Someone else changed this virtual machine while you were editing" in page
    assert "<code>runPolicy</code>: AlwaysOnUnlessStoppedManually → <strong>Manual</strong>" in page
    assert 'name="memory" value="3Gi"' in page
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["memory"]["size"] == "1Gi"
    # Saving again applies the edit over theirs (the page now carries their version).
    form["resource_version"] = hidden(page, "resource_version")
    form["base"] = hidden(page, "base").replace("&quot;", '"')
    assert owner.post(action_url(project, name, "configuration", "save"), form).status_code == 302
    spec = get_dvp(sim, "virtualmachines", project, name)["spec"]
    assert spec["memory"]["size"] == "3Gi" and spec["runPolicy"] == "AlwaysOnUnlessStoppedManually"


def test_it_saves_when_only_the_status_moved_on(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    stale = form_of(vm, run_policy="Manual")
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", name,
                                               {"metadata": {"annotations": {"note": "touched"}}})
    assert owner.post(action_url(project, name, "configuration", "save"), stale).status_code == 302
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["runPolicy"] == "Manual"


def test_it_keeps_bad_input_on_its_field_and_changes_nothing(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    before = get_dvp(sim, "virtualmachines", project, name)["metadata"]["resourceVersion"]
    response = owner.post(action_url(project, name, "configuration", "save"), form_of(vm, memory="lots", cores="3", cloud_init_enabled="on",
                                                 cloud_init="x" * 3000))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Give a size with its unit" in page and 'name="memory" value="lots"' in page
    assert "Cloud-init data is 3000 bytes" in page
    after = get_dvp(sim, "virtualmachines", project, name)
    assert after["metadata"]["resourceVersion"] == before or after["spec"]["memory"]["size"] == "1Gi"
    assert after["spec"]["cpu"]["cores"] == 1


def test_it_checks_the_class_sizing_policy_on_the_fields(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "configuration", "save"), form_of(vm, cores="17", memory="17Gi"))
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'id="id_cores-error" role="alert">[^<]*sockets', page) or \
        re.search(r'id="id_cores-error" role="alert">[^<]*cores', page)
    response = owner.post(action_url(project, name, "configuration", "save"), form_of(vm, cores="6", memory="5Gi"))  # 5-8 cores: 1Gi per core
    assert re.search(r'id="id_memory-error" role="alert">[^<]+', response.content.decode())
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["cpu"]["cores"] == 1


def test_it_puts_an_api_refusal_on_the_form(project, owner, sim, unique):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    response = owner.post(action_url(project, name, "configuration", "save"), form_of(vm, os_type="Legacy", cloud_init_enabled="on",
                                                 cloud_init="#cloud-config\n"))  # Legacy has no cloud-init (CEL)
    assert response.status_code == 422
    assert "The Legacy osType does not support provisioning" in response.content.decode()
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["osType"] == "Generic"


def test_it_refuses_a_viewer_without_a_500(project, cast, login, sim, unique, db):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    viewer = login(cast.viewer)
    page = viewer.get(tab_url(project, name)).content.decode()
    assert "You may not change virtual machines here (needs patch on virtualmachines)." in page
    response = viewer.post(action_url(project, name, "configuration", "save"), form_of(vm, run_policy="Manual"))
    assert response.status_code == 422 and "forbidden" in response.content.decode().lower()
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["runPolicy"] != "Manual"


def test_it_hides_another_projects_vm_and_changes_nothing(project, cast, login, sim, unique, db):
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    outsider = login(cast.outsider)
    for tab in ("configuration", "disks", "placement", "network"):
        assert outsider.get(_tab_url(project, name, tab)).status_code == 404
    assert outsider.post(action_url(project, name, "configuration", "save"), form_of(vm, run_policy="Manual")).status_code == 404
    assert outsider.post(action_url(project, name, "network", "keep_ip"), {}).status_code == 404
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["runPolicy"] != "Manual"


def test_it_needs_the_csrf_token_to_save(project, cast, sim, unique, db, django_user_model):
    from django.test import Client
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.get_or_create(username=cast.owner)[0])
    assert client.post(action_url(project, name, "configuration", "save"), form_of(vm, run_policy="Manual")).status_code == 403
    assert client.post(action_url(project, name, "disks", "attach"), {"device": "VirtualDisk/x"}).status_code == 403
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["runPolicy"] != "Manual"


def test_it_holds_the_guides_placement_and_disks_and_images_sections(project, owner, sim, unique):
    name = unique("cfg")
    make_vm(sim, project, name, f"{name}-root")
    page = owner.get(tab_url(project, name)).content.decode()
    for heading in ("Placement", "Disks and Images", "Boot Disks", "Additional Disks"):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", page), heading
    for block in ("Run on nodes", "Select nodes by labels", "Run VM near other VMs", "Identify similar VMs by labels",
                  "Select labels", "Select options"):
        assert block in page, block
    assert f'action="{action_url(project, name, "placement", "save")}"' in page
    assert f'action="{action_url(project, name, "disks", "attach")}"' in page
    assert page.count('name="shown_on" value="configuration"') >= 3


def test_it_brings_a_sections_action_back_to_the_configuration_tab(project, owner, sim, unique):
    from tests.virtualization.test_vm_placement_tab import EMPTY_ROWS
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    rows = {"resource_version": vm["metadata"]["resourceVersion"], **EMPTY_ROWS, "shown_on": "configuration"}
    response = owner.post(action_url(project, name, "placement", "save"),
                          {**rows, "selector_key": "disktype", "selector_value": "ssd"})
    assert response.status_code == 302 and response.url == tab_url(project, name) + "#placement"
    assert get_dvp(sim, "virtualmachines", project, name)["spec"]["nodeSelector"] == {"disktype": "ssd"}
    # Refused: shown on the Configuration tab again, the input kept, the error on its field.
    vm = get_dvp(sim, "virtualmachines", project, name)
    response = owner.post(action_url(project, name, "placement", "save"), {
        **rows, "resource_version": vm["metadata"]["resourceVersion"], "near_key": "server",
        "near_strength": "preferred", "near_weight": "500"})
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="vm-config-form"' in page and "The weight is a whole number from 1 to 100." in page
    assert 'name="near_key" value="server"' in page
    response = owner.post(action_url(project, name, "disks", "attach"), {"device": "", "shown_on": "configuration"})
    assert response.status_code == 422 and 'id="vm-config-form"' in response.content.decode()
    assert "Choose a disk or an image to attach." in response.content.decode()


def test_it_shows_save_once_something_changed_as_the_guide_says(project, owner, sim, unique):
    """'Click the "Save" button that appears': an untouched form hides its Save (page.js shows it on a change); a
    form the server sends back edited (a review, an error) is marked changed, so its Save shows at once."""
    name = unique("cfg")
    vm = make_vm(sim, project, name, f"{name}-root")
    form_tag = re.compile(r'<form[^>]*id="vm-config-form"[^>]*>')
    page = owner.get(tab_url(project, name)).content.decode()
    assert "data-save-appears" in form_tag.search(page).group(0)
    assert "data-changed" not in form_tag.search(page).group(0)
    assert re.search(r'<button type="submit" data-appears-on-change[^>]*>Save</button>', page)
    for posted in (form_of(vm, run_policy="Manual"), form_of(vm, cores="0")):
        page = owner.post(action_url(project, name, "configuration", "review"), posted).content.decode()
        assert "data-changed" in form_tag.search(page).group(0)
