"""The guide's "Organizing interaction with virtual machines", followed in the browser: the VM labelled as the guide
does (`d8 k label vm <vm-name> app=nginx`), then "Network" → "Services" → a ClusterIP Service and "Network" →
"Ingresses" → "Create Ingress" with the guide's example values, each checked with kubectl; the VM's Network tab
then lists both and offers "Expose"."""
import json

import pytest
from playwright.sync_api import expect

from tests.kube import PROJECT_A, make_vm
from tests.kubectl import kubectl

pytestmark = pytest.mark.browser

VM = "svc-guide-vm"


def get_json(sim, kind, name):
    return json.loads(kubectl(sim, "-n", PROJECT_A, "get", kind, name, "-o", "json").stdout)


def test_it_publishes_a_vm_with_a_service_and_an_ingress_as_the_guide_says(log_in, sim):
    make_vm(sim, PROJECT_A, VM, f"{VM}-root")
    kubectl(sim, "-n", PROJECT_A, "label", "vm", VM, "app=nginx")
    page = log_in("alice")

    # Go to the "Projects" tab and select the desired project.
    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name=PROJECT_A, exact=True).click()
    # Go to the "Network" → "Services" section.
    sidebar = page.get_by_role("navigation", name="Project navigation")
    expect(sidebar.locator(".section-label", has_text="Network")).to_be_visible()
    sidebar.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("button", name="Create Service").click()
    # In the window that opens, configure the service settings (the guide's ClusterIP example, with its port).
    page.get_by_label("Name", exact=True).fill("linux-vm-nginx")
    page.get_by_role("radio", name="ClusterIP: one stable address inside the cluster").check()
    page.get_by_role("checkbox", name=f"app=nginx {VM}").check()
    page.get_by_label("Port", exact=True).fill("80")
    page.get_by_label("Target port", exact=True).fill("80")
    # Click on the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="linux-vm-nginx")).to_be_visible()
    expect(page.locator(f'#status tr[data-vm="{VM}"]')).to_contain_text("serving")
    expect(page.locator("#status")).to_contain_text(f"linux-vm-nginx.{PROJECT_A}.svc")

    service = get_json(sim, "service", "linux-vm-nginx")["spec"]
    assert service["selector"] == {"app": "nginx"} and service["type"] == "ClusterIP"
    assert service["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    endpoints = kubectl(sim, "-n", PROJECT_A, "get", "endpoints", "linux-vm-nginx").stdout
    vm_ip = json.loads(kubectl(sim, "-n", PROJECT_A, "get", "vm", VM, "-o", "json").stdout)["status"]["ipAddress"]
    assert f"{vm_ip}:80" in endpoints

    # Go to the "Network" → "Ingresses" section. Click the "Create Ingress" button.
    sidebar.get_by_role("link", name="Ingresses", exact=True).click()
    page.get_by_role("button", name="Create Ingress").click()
    # In the window that opens, configure the service settings (the guide's Ingress example).
    page.get_by_label("Name", exact=True).fill("linux-vm")
    page.get_by_label("Host", exact=True).fill("linux-vm.example.com")
    page.get_by_label("Path", exact=True).fill("/")
    page.get_by_label("Path type", exact=True).select_option("Prefix")
    page.get_by_label("Service", exact=True).select_option("linux-vm-nginx")
    page.get_by_label("Service port", exact=True).fill("80")
    # Click the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="linux-vm", exact=True)).to_be_visible()
    expect(page.locator("#ingress-address")).to_contain_text("192.168.10.11")
    expect(page.locator(f'#status tr[data-vm="{VM}"]')).to_contain_text("serving")

    ingress = get_json(sim, "ingress", "linux-vm")["spec"]
    assert ingress["rules"] == [{"host": "linux-vm.example.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "linux-vm-nginx", "port": {"number": 80}}}}]}}]

    # The VM's page lists what reaches it, and "Expose" opens the Service form with its labels chosen.
    page.goto(f"/projects/{PROJECT_A}/vms/{VM}/network/")
    reach = page.locator("#vm-reach")
    expect(reach.get_by_role("link", name="linux-vm-nginx")).to_be_visible()
    expect(reach.get_by_role("link", name="linux-vm", exact=True)).to_be_visible()
    expect(reach).to_contain_text("linux-vm.example.com/")
    reach.get_by_role("button", name="Expose").click()
    expect(page.get_by_role("checkbox", name=f"app=nginx {VM}")).to_be_checked()
