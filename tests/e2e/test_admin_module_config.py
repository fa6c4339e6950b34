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
