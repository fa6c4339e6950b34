"""System → Deckhouse → Modules → virtualization → Configuration: the settings form (YAML names), Save as the
operator, virtualMachineCIDRs checked (a subnet VMs use is kept and they are named), the garbage-collection
schedule, and disabling only after the guide's warning is confirmed; with the module disabled every project page
says so in one line (no 500), and enabling it again brings the pages back with the objects intact."""
import re

import pytest
from django.urls import reverse

from projects.access import MODULE_OFF
from tests.kube import blank_disk, create_dvp, custom
from virtualization.registry import REGISTRY

CONFIGURATION = reverse("system:detail-tab", args=["deckhouse/modules", "virtualization", "configuration"])
SAVE = reverse("system:modules-configuration-save", args=["virtualization"])


def module_config(sim):
    return custom(sim).get_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "virtualization")


@pytest.fixture
def restore(sim):
    before = module_config(sim)
    yield before
    now = module_config(sim)
    now["spec"] = before["spec"]
    now["metadata"]["annotations"] = before["metadata"].get("annotations") or {}
    custom(sim).replace_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "virtualization", now)


def form(config, **changes):
    settings = config["spec"]["settings"]
    pvc = settings["dvcr"]["storage"]["persistentVolumeClaim"]
    data = {"enabled": "on", "virtualMachineCIDRs": "\n".join(settings["virtualMachineCIDRs"]),
            "dvcr_storage_type": "PersistentVolumeClaim", "dvcr_size": pvc["size"],
            "dvcr_storage_class": pvc["storageClassName"], "dvcr_gc_schedule": "", "ingressClass": "",
            "resource_version": config["metadata"]["resourceVersion"]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_it_shows_the_settings_under_their_yaml_names(operator, sim):
    page = operator.get(CONFIGURATION).content.decode()
    for name in ("virtualMachineCIDRs", "dvcr.storage.persistentVolumeClaim.size", "dvcr.gc.schedule",
                 "ingressClass", "Advanced settings", "virtualImages.defaultStorageClassName"):
        assert name in page
    assert module_config(sim)["spec"]["settings"]["virtualMachineCIDRs"][0] in page


def test_it_saves_a_new_subnet_and_the_gc_schedule(operator, sim, restore):
    cidrs = restore["spec"]["settings"]["virtualMachineCIDRs"]
    response = operator.post(SAVE, form(restore, virtualMachineCIDRs="\n".join([*cidrs, "10.77.20.0/24"]),
                                        dvcr_gc_schedule="0 20 * * *"))
    assert response.status_code == 302
    settings = module_config(sim)["spec"]["settings"]
    assert settings["virtualMachineCIDRs"] == [*cidrs, "10.77.20.0/24"]
    assert settings["dvcr"]["gc"] == {"schedule": "0 20 * * *"}
    assert settings["dvcr"]["storage"] == restore["spec"]["settings"]["dvcr"]["storage"]


@pytest.mark.parametrize("cidrs, words", [("10.66.10.0/33", "is not a subnet in CIDR form"),
                                          ("10.66.10.1/24", "is not a subnet in CIDR form"),
                                          ("10.0.0.0/16\n10.0.1.0/24", "overlaps 10.0.0.0/16")])
def test_it_refuses_a_bad_subnet_on_its_field(cidrs, words, operator, sim, restore):
    response = operator.post(SAVE, form(restore, virtualMachineCIDRs=cidrs))
    page = response.content.decode()
    assert response.status_code == 422 and words in page and cidrs.split("\n")[0] in page
    assert module_config(sim)["spec"] == restore["spec"]


def test_it_refuses_a_bad_schedule(operator, sim, restore):
    response = operator.post(SAVE, form(restore, dvcr_gc_schedule="every night"))
    assert response.status_code == 422 and "A cron schedule has five fields" in response.content.decode()
    assert module_config(sim)["spec"] == restore["spec"]


def test_it_names_the_vms_of_a_subnet_it_will_not_remove(operator, sim, vm, project, restore):
    import ipaddress
    address = vm["status"]["ipAddress"]
    cidrs = restore["spec"]["settings"]["virtualMachineCIDRs"]
    holding = next(c for c in cidrs if ipaddress.ip_address(address) in ipaddress.ip_network(c))
    response = operator.post(SAVE, form(restore, virtualMachineCIDRs="\n".join(c for c in cidrs if c != holding)
                                        or "10.99.0.0/24"))
    page = response.content.decode()
    assert response.status_code == 422
    assert f"{holding} cannot be removed: its addresses are used by" in page and f"{project}/{vm['metadata']['name']}" in page
    assert module_config(sim)["spec"]["settings"]["virtualMachineCIDRs"] == cidrs


def test_it_disables_the_module_only_after_the_warning_is_confirmed(operator, sim, restore):
    refused = operator.post(SAVE, form(restore, enabled=None))
    page = refused.content.decode()
    assert refused.status_code == 422 and "all services that create and run virtual machines will stop" in page
    assert module_config(sim)["spec"]["enabled"] is True
    assert operator.post(SAVE, form(restore, enabled=None, allow_disabling="on")).status_code == 302
    saved = module_config(sim)
    assert saved["spec"]["enabled"] is False
    assert saved["metadata"]["annotations"]["modules.deckhouse.io/allow-disabling"] == "true"


def test_it_keeps_the_form_after_a_conflict(operator, sim, restore):
    stale = form(restore, dvcr_gc_schedule="0 3 * * *")
    custom(sim).patch_cluster_custom_object("deckhouse.io", "v1alpha1", "moduleconfigs", "virtualization",
                                            {"metadata": {"labels": {"touched": "yes"}}})
    response = operator.post(SAVE, stale)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode() and "0 3 * * *" in response.content.decode()
    assert "gc" not in module_config(sim)["spec"]["settings"]["dvcr"]


def test_it_says_on_every_project_page_that_the_disabled_module_is_off(operator, owner, project, sim, restore):
    create_dvp(sim, "virtualdisks", project, blank_disk("kept-disk"))
    disk = reverse("virtualization:detail", args=[project, "disks", "kept-disk"])
    pages = [reverse("projects:detail", args=[project]), disk,
             reverse("virtualization:detail-tab", args=[project, "disks", "kept-disk", "configuration"]),
             reverse("virtualization:yaml-edit", args=[project, "disks", "kept-disk"]),
             reverse("virtualization:image-create-http", args=[project]),
             *(reverse("virtualization:list", args=[project, slug]) for slug in REGISTRY)]
    assert owner.get(disk).status_code == 200
    assert operator.post(SAVE, form(restore, enabled=None, allow_disabling="on")).status_code == 302

    for url in pages:
        response = owner.get(url)
        text = response.content.decode()
        assert response.status_code == 503, url
        assert len(re.findall(r'<p class="notice module-off"', text)) == 1 and MODULE_OFF in text, url
    fragment = owner.get(reverse("virtualization:list", args=[project, "vms"]), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 503 and fragment.content.decode().strip() == \
        f'<p class="notice module-off" role="status">{MODULE_OFF}</p>'
    assert owner.post(reverse("virtualization:delete", args=[project, "disks", "kept-disk"])).status_code == 503
    assert custom(sim).get_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", project,
                                                    "virtualdisks", "kept-disk")  # the CRDs and objects stay

    assert operator.post(SAVE, form(module_config(sim), enabled="on")).status_code == 302
    back = owner.get(disk)
    assert back.status_code == 200 and "kept-disk" in back.content.decode()
