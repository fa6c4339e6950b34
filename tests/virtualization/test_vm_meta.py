"""The Meta tab: labels and annotations changed with a merge patch as the user; a 409 keeps the edit."""
import re

from django.urls import reverse

from tests.kube import GROUP, VERSION, create_dvp, custom, get_dvp


def make_vm(project, sim, name, labels=None, annotations=None):
    create_dvp(sim, "virtualmachines", project, {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                 "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-d"}]}})
    return name


def tab_url(project, vm):
    return reverse("virtualization:detail-tab", args=[project, "vms", vm, "meta"])


def save_url(project, vm):
    return reverse("virtualization:vms-meta-save", args=[project, vm])


def form_data(page):
    """What the browser would post: every input of the meta form with its value (checkboxes off)."""
    form = page[page.index('class="meta-form"'):page.index("</form>", page.index('class="meta-form"'))]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="checkbox"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = value.group(1) if value else ""
    return data


def test_it_adds_changes_and_removes_labels_and_annotations(project, owner, sim, unique):
    vm = make_vm(project, sim, unique("vm"), labels={"tier": "web", "old": "x"}, annotations={"note": "first"})
    page = owner.get(tab_url(project, vm)).content.decode()
    assert "<code>tier</code>" in page and "<code>note</code>" in page
    data = form_data(page)
    keys = {data[k]: k.rsplit("-", 1)[1] for k in data if k.startswith("labels-key-") and k != "labels-key-new"}
    data[f"labels-value-{keys['tier']}"] = "api"
    data[f"labels-remove-{keys['old']}"] = "on"
    data.update({"labels-key-new": "team", "labels-value-new": "blue",
                 "annotations-key-new": "example.com/owner", "annotations-value-new": "Alice & Bob <ops>"})
    assert owner.post(save_url(project, vm), data).status_code == 302
    meta = get_dvp(sim, "virtualmachines", project, vm)["metadata"]
    assert meta["labels"] == {"tier": "api", "team": "blue"}
    assert meta["annotations"] == {"note": "first", "example.com/owner": "Alice & Bob <ops>"}
    assert "Alice &amp; Bob &lt;ops&gt;" in owner.get(tab_url(project, vm)).content.decode()


def test_it_explains_a_bad_label_on_the_field_and_keeps_the_input(project, owner, sim, unique):
    vm = make_vm(project, sim, unique("vm"))
    data = form_data(owner.get(tab_url(project, vm)).content.decode())
    data.update({"labels-key-new": "bad key!", "labels-value-new": "v"})
    response = owner.post(save_url(project, vm), data)
    page = response.content.decode()
    assert response.status_code == 422
    assert "A key is an optional DNS prefix" in page and 'value="bad key!"' in page
    assert not get_dvp(sim, "virtualmachines", project, vm)["metadata"].get("labels")


def test_it_keeps_the_edit_on_a_conflict_and_saves_it_on_the_latest_version(project, owner, sim, unique):
    vm = make_vm(project, sim, unique("vm"), labels={"tier": "web"})
    data = form_data(owner.get(tab_url(project, vm)).content.decode())
    data.update({"labels-key-new": "mine", "labels-value-new": "red"})
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", vm,
                                               {"metadata": {"labels": {"theirs": "blue"}}})
    response = owner.post(save_url(project, vm), data)
    page = response.content.decode()
    assert response.status_code == 409
    assert "changed on the server since you opened this tab" in page
    assert "<code>theirs</code> = blue" in page                      # what the server holds now
    assert 'value="mine"' in page and 'value="red"' in page          # the edit is kept
    assert "mine" not in get_dvp(sim, "virtualmachines", project, vm)["metadata"]["labels"]
    assert owner.post(save_url(project, vm), form_data(page)).status_code == 302
    assert get_dvp(sim, "virtualmachines", project, vm)["metadata"]["labels"] == \
        {"tier": "web", "theirs": "blue", "mine": "red"}


def test_it_disables_the_meta_edit_for_a_viewer(project, cast, login, sim, unique, db):
    vm = make_vm(project, sim, unique("vm"), labels={"tier": "web"})
    viewer = login(cast.viewer)
    page = viewer.get(tab_url(project, vm)).content.decode()
    assert "needs patch on virtualmachines" in page
    data = form_data(page)
    data.update({"labels-key-new": "x", "labels-value-new": "y"})
    assert viewer.post(save_url(project, vm), data).status_code == 422
    assert "x" not in get_dvp(sim, "virtualmachines", project, vm)["metadata"]["labels"]


def test_its_save_appears_once_something_changed(project, owner, sim, unique):
    """The guide's 'Click the "Save" button that appears': hidden while untouched (shown by page.js on a change),
    shown at once on a form the server sends back edited."""
    vm = make_vm(project, sim, unique("vm"))
    form_tag = re.compile(r'<form[^>]*class="meta-form"[^>]*>')
    page = owner.get(tab_url(project, vm)).content.decode()
    tag = form_tag.search(page).group(0)
    assert "data-save-appears" in tag and "data-changed" not in tag
    assert re.search(r'<button type="submit" data-appears-on-change\s*>Save</button>', page)
    data = {**form_data(page), "labels-key-new": "Bad Key!", "labels-value-new": "x"}
    response = owner.post(save_url(project, vm), data)
    assert response.status_code == 422 and "data-changed" in form_tag.search(response.content.decode()).group(0)
