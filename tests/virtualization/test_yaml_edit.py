"""Editing any kind as YAML: dry-run review with a diff, save, and a 409 that keeps the edit."""
import html
import re
import time

import yaml
from django.urls import reverse

from tests.kube import GROUP, VERSION, create_dvp, custom, get_dvp


SETTLED = ("Ready", "WaitForFirstConsumer")


def edit_url(project, slug, name):
    return reverse("virtualization:yaml-edit", args=[project, slug, name])


def yaml_url(project, slug, name, step):
    """The POST path of one step of the editor: review (a dry run), save or rebase."""
    return reverse(f"virtualization:yaml-{step}", args=[project, slug, name])


def make_disk(project, sim, unique):
    """A disk whose status has settled (status updates change the resourceVersion too)."""
    name = unique("disk")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": name},
                                                  "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    deadline = time.monotonic() + 30
    while (get_dvp(sim, "virtualdisks", project, name).get("status") or {}).get("phase") not in SETTLED:
        assert time.monotonic() < deadline, "the disk did not settle"
        time.sleep(0.1)
    return name


def text_of(page):
    return html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def base_of(page):
    return html.unescape(re.search(r'<input type="hidden" name="base" value="([^"]*)"', page, re.S).group(1))


def with_label(text, key, value):
    obj = yaml.safe_load(text)
    obj["metadata"].setdefault("labels", {})[key] = value
    return yaml.safe_dump(obj, sort_keys=False)


def test_it_offers_the_object_without_status_or_server_fields(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    page = owner.get(edit_url(project, "disks", disk)).content.decode()
    obj = yaml.safe_load(text_of(page))
    assert obj["kind"] == "VirtualDisk" and obj["metadata"]["name"] == disk
    assert "status" not in obj and "managedFields" not in obj["metadata"] and "uid" not in obj["metadata"]
    assert obj["metadata"]["resourceVersion"]
    yaml_tab = owner.get(reverse("virtualization:detail-tab", args=[project, "disks", disk, "yaml"])).content.decode()
    assert edit_url(project, "disks", disk) in yaml_tab


def test_it_hides_the_managed_fields_dvpsim_stores_like_kubectl_does(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    assert get_dvp(sim, "virtualdisks", project, disk)["metadata"]["managedFields"]  # stored, as in kube
    yaml_tab = owner.get(reverse("virtualization:detail-tab", args=[project, "disks", disk, "yaml"])).content.decode()
    assert disk in yaml_tab and "managedFields" not in yaml_tab and "fieldsV1" not in yaml_tab
    page = owner.get(edit_url(project, "disks", disk)).content.decode()
    assert "managedFields" not in text_of(page) and "managedFields" not in base_of(page)


def test_it_reviews_with_a_dry_run_then_saves(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    page = owner.get(edit_url(project, "disks", disk)).content.decode()
    edited = with_label(text_of(page), "tier", "web")
    review = owner.post(yaml_url(project, "disks", disk, "review"), {"text": edited, "base": base_of(page)})
    body = review.content.decode()
    assert review.status_code == 200
    assert '<span class="diff-add">+    tier: web</span>' in body
    assert "tier" not in (get_dvp(sim, "virtualdisks", project, disk)["metadata"].get("labels") or {})
    saved = owner.post(yaml_url(project, "disks", disk, "save"), {"text": edited, "base": base_of(page)})
    assert saved.status_code == 302
    assert get_dvp(sim, "virtualdisks", project, disk)["metadata"]["labels"]["tier"] == "web"


def test_it_keeps_the_edit_and_shows_the_server_change_on_a_conflict(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    page = owner.get(edit_url(project, "disks", disk)).content.decode()
    edited = with_label(text_of(page), "mine", "red")
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualdisks", disk,
                                               {"metadata": {"labels": {"theirs": "blue"}}})
    conflict = owner.post(yaml_url(project, "disks", disk, "save"), {"text": edited, "base": base_of(page)})
    body = conflict.content.decode()
    assert conflict.status_code == 422
    assert "changed on the server since you started editing" in body
    assert '<span class="diff-add">+    theirs: blue</span>' in body
    assert text_of(body) == edited  # the edit is kept as typed
    rebased = owner.post(yaml_url(project, "disks", disk, "rebase"), {"text": edited, "base": base_of(page)})
    text = text_of(rebased.content.decode())
    current = get_dvp(sim, "virtualdisks", project, disk)
    assert yaml.safe_load(text)["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]
    assert yaml.safe_load(text)["metadata"]["labels"]["mine"] == "red"
    assert owner.post(yaml_url(project, "disks", disk, "save"), {"text": text}).status_code == 302
    assert get_dvp(sim, "virtualdisks", project, disk)["metadata"]["labels"]["mine"] == "red"


def test_it_explains_invalid_yaml_and_api_refusals_and_keeps_the_text(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    broken = "apiVersion: [unclosed"
    page = owner.post(yaml_url(project, "disks", disk, "review"), {"text": broken}).content.decode()
    assert "This is not valid YAML" in page and text_of(page) == broken
    original = text_of(owner.get(edit_url(project, "disks", disk)).content.decode())
    obj = yaml.safe_load(original)
    obj["spec"]["persistentVolumeClaim"]["size"] = "lots"
    bad = yaml.safe_dump(obj, sort_keys=False)
    response = owner.post(yaml_url(project, "disks", disk, "review"), {"text": bad})
    assert response.status_code == 422
    assert "spec.persistentVolumeClaim.size" in response.content.decode() and text_of(response.content.decode()) == bad
    renamed = original.replace(f"name: {disk}", "name: other")
    assert "Keep metadata.name" in owner.post(yaml_url(project, "disks", disk, "review"), {"text": renamed}
                                              ).content.decode()


def test_it_names_a_misspelled_field_instead_of_dropping_it(project, owner, sim, unique):
    disk = make_disk(project, sim, unique)
    obj = yaml.safe_load(text_of(owner.get(edit_url(project, "disks", disk)).content.decode()))
    obj["spec"]["persistentVolumeClaim"]["sise"] = "2Gi"
    typo = yaml.safe_dump(obj, sort_keys=False)
    response = owner.post(yaml_url(project, "disks", disk, "review"), {"text": typo})
    page = response.content.decode()
    assert response.status_code == 422
    assert "strict decoding error: unknown field &quot;spec.persistentVolumeClaim.sise&quot;" in page
    assert text_of(page) == typo


def test_it_refuses_a_viewer_and_names_the_permission(project, cast, login, sim, unique, db):
    disk = make_disk(project, sim, unique)
    viewer = login(cast.viewer)
    page = viewer.get(edit_url(project, "disks", disk)).content.decode()
    assert "needs update on virtualdisks" in page
    edited = with_label(text_of(page), "x", "y")
    response = viewer.post(yaml_url(project, "disks", disk, "save"), {"text": edited})
    assert response.status_code == 422
    assert "x" not in (get_dvp(sim, "virtualdisks", project, disk)["metadata"].get("labels") or {})
