"""Admin guide, "Module parameters" and "Cleaning up image storage": configuring the virtualization module in the
web interface as the guide words it, as the operator; the ModuleConfig checked with kubectl afterwards."""
import json

import pytest
from playwright.sync_api import expect

from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]


def settings(sim):
    return json.loads(kubectl(sim, "get", "moduleconfig", "virtualization", "-o", "json").stdout)["spec"]["settings"]


def test_it_configures_the_virtualization_module(log_in, sim):
    before = settings(sim)
    try:
        page = log_in("operator")
        # 'Go to the "System" tab, then to the Deckhouse -> "Modules" section.'
        page.get_by_role("link", name="System", exact=True).click()
        page.get_by_role("navigation", name="System navigation").get_by_role("link", name="Modules").click()
        # 'Select the virtualization module from the list.' 'select the "Configuration" tab.'
        page.get_by_role("link", name="virtualization", exact=True).click()
        page.get_by_role("link", name="Configuration").click()
        # 'To display the settings, click the "Advanced settings" switch.'
        page.get_by_text("Advanced settings").click()
        expect(page.get_by_label("virtualDisks.defaultStorageClassName")).to_be_visible()
        # 'Configure the settings. The names of the fields on the form correspond to the names of the parameters.'
        page.get_by_label("virtualMachineCIDRs").fill("\n".join([*before["virtualMachineCIDRs"], "10.77.20.0/24"]))
        page.get_by_label("dvcr.gc.schedule").fill("0 20 * * *")
        page.get_by_label("virtualDisks.defaultStorageClassName").fill("i-sds-replicated-thin-r2")
        # 'To apply the settings, click the "Save" button.'
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("The virtualization module's configuration was saved.")).to_be_visible()
        after = settings(sim)
        assert after["virtualMachineCIDRs"] == [*before["virtualMachineCIDRs"], "10.77.20.0/24"]
        assert after["dvcr"]["gc"] == {"schedule": "0 20 * * *"}
        assert after["virtualDisks"] == {"defaultStorageClassName": "i-sds-replicated-thin-r2"}
        assert after["dvcr"]["storage"] == before["dvcr"]["storage"]
    finally:
        kubectl(sim, "patch", "moduleconfig", "virtualization", "--type", "merge", "-p", json.dumps(
            {"spec": {"settings": {"virtualMachineCIDRs": before["virtualMachineCIDRs"], "dvcr": {"gc": None},
                                   "virtualDisks": None}}}))


def test_it_asks_before_disabling_the_module(log_in, sim):
    page = log_in("operator")
    page.goto("/system/deckhouse/modules/virtualization/configuration/")
    page.get_by_label("enabled", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("all services that create and run virtual machines will stop").first).to_be_visible()
    assert json.loads(kubectl(sim, "get", "moduleconfig", "virtualization", "-o", "json").stdout)["spec"]["enabled"]


def shown_after_cache(page, url, locator, seconds=30):
    """The console keeps what discovery said for DVP_ACCESS_CACHE_SECONDS (10 s): open the page until it shows."""
    for _ in range(seconds):
        page.goto(url)
        if locator.count():
            break
        page.wait_for_timeout(1000)
    expect(locator).to_be_visible()


def test_it_disables_the_module_and_enables_it_again(log_in, sim):
    """'To disable the module, add the modules.deckhouse.io/allow-disabling annotation … and set the spec.enabled
    parameter to false': the form does both once the warning is confirmed. The module's objects stay (its CRDs are
    kept), its pages say it is off, and enabling it again brings them back."""
    vms_before = kubectl(sim, "get", "virtualmachines", "-A", "-o", "name").stdout.split()
    page = log_in("operator")
    try:
        page.goto("/system/deckhouse/modules/virtualization/configuration/")
        page.get_by_label("enabled", exact=True).uncheck()
        page.get_by_text("Disabling the module", exact=True).click()
        expect(page.get_by_text("all services that create and run virtual machines will stop")).to_be_visible()
        page.get_by_label("I have deleted the module's resources: disable it").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("configuration was saved")).to_be_visible()
        config = json.loads(kubectl(sim, "get", "moduleconfig", "virtualization", "-o", "json").stdout)
        assert config["spec"]["enabled"] is False
        assert config["metadata"]["annotations"]["modules.deckhouse.io/allow-disabling"] == "true"
        assert kubectl(sim, "get", "virtualmachines", "-A", "-o", "name").stdout.split() == vms_before
        shown_after_cache(page, "/projects/project-a/vms/", page.locator("p.module-off"))
        expect(page.locator("p.module-off")).to_have_text(
            "The virtualization module is disabled in this cluster: virtual machines, disks and images are "
            "unavailable until an operator enables it.")

        page.goto("/system/deckhouse/modules/virtualization/configuration/")
        page.get_by_label("enabled", exact=True).check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("configuration was saved")).to_be_visible()
        assert json.loads(kubectl(sim, "get", "moduleconfig", "virtualization", "-o", "json").stdout)["spec"][
            "enabled"] is True
        shown_after_cache(page, "/projects/project-a/vms/", page.get_by_role("link", name="demo-vm", exact=True))
    finally:
        kubectl(sim, "patch", "moduleconfig", "virtualization", "--type", "merge", "-p",
                json.dumps({"spec": {"enabled": True}}))
