"""The guide's "Organizing interaction with virtual machines", followed in the browser: the VM labelled as the guide
does (`d8 k label vm linux-vm app=nginx`), then "Network" → "Services" with each type the guide shows (the headless
`http`, the ClusterIP `http` of "How to perform the operation in the web interface", the NodePort
`linux-vm-nginx-nodeport` on 31880, the LoadBalancer `linux-vm-nginx-lb`) and "Network" → "Ingresses" → "Create
Ingress" with the guide's example, each checked with kubectl; the VM's Network tab then lists them and offers
"Expose". The module works in a project of its own, where the guide's names are free."""
import json

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_project
from tests.kube import make_vm
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [pytest.mark.browser, needs_kubectl]

VM = "linux-vm"


@pytest.fixture(scope="module", autouse=True)
def labelled_vm(sim, project):
    """The guide's VM, labelled as the guide does (`d8 k label vm linux-vm app=nginx`), for every service here."""
    make_vm(sim, project, VM, f"{VM}-root")
    kubectl(sim, "-n", project, "label", "vm", VM, "app=nginx")
    return VM


def get_json(sim, project, kind, name):
    return json.loads(kubectl(sim, "-n", project, "get", kind, name, "-o", "json").stdout)


def vm_ip(sim, project):
    return get_json(sim, project, "vm", VM)["status"]["ipAddress"]


def open_services(page, project):
    # Go to the "Projects" tab and select the desired project.
    open_project(page, project)
    # Go to the "Network" → "Services" section.
    sidebar = page.get_by_role("navigation", name="Project navigation")
    expect(sidebar.locator(".section-label", has_text="Network")).to_be_visible()
    sidebar.get_by_role("link", name="Services", exact=True).click()
    # The window to configure the service in opens from the list's button.
    page.get_by_role("button", name="Create Service").click()
    return sidebar


def configure(page, name, type_label, port=None, target_port=None, node_port=None):
    """In the window that opens, configure the service settings: name, type, the VMs by their label, the port."""
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("radio", name=type_label).check()
    page.get_by_role("checkbox", name=f"app=nginx {VM}").check()
    for label, value in (("Port", port), ("Target port", target_port), ("Node port", node_port)):
        if value is not None:
            page.get_by_label(label, exact=True).fill(str(value))


def create(page, name):
    # Click on the "Create" button.
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator(f'#status tr[data-vm="{VM}"]')).to_contain_text("serving")


def test_it_creates_the_guides_headless_service(log_in, sim, project):
    page = log_in("alice")
    open_services(page, project)
    # The guide's example: `http`, clusterIP None, selector app=nginx, no ports.
    configure(page, "http", "Headless: the DNS name returns the addresses of the VMs, no common IP")
    create(page, "http")
    expect(page.locator("#status")).to_contain_text("none (headless)")
    expect(page.locator("#status")).to_contain_text(f"http.{project}.svc")
    spec = get_json(sim, project, "service", "http")["spec"]
    assert spec["clusterIP"] == "None" and spec["selector"] == {"app": "nginx"} and not spec.get("ports")
    assert vm_ip(sim, project) in kubectl(sim, "-n", project, "get", "endpointslices", "-l",
                                          "kubernetes.io/service-name=http", "-o", "json").stdout
    kubectl(sim, "-n", project, "delete", "service", "http")  # the ClusterIP example that follows has its name


def test_it_creates_a_cluster_ip_service_as_the_guide_says(log_in, sim, project):
    page = log_in("alice")
    open_services(page, project)
    # The guide's ClusterIP example has no ports; the API requires one, and the form says so on the field.
    configure(page, "http", "ClusterIP: one stable address inside the cluster")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#id_port-error")).to_contain_text("Required value")
    expect(page.get_by_label("Name", exact=True)).to_have_value("http")
    page.get_by_label("Port", exact=True).fill("80")
    create(page, "http")
    spec = get_json(sim, project, "service", "http")["spec"]
    assert spec["type"] == "ClusterIP" and spec["selector"] == {"app": "nginx"}
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert spec["clusterIP"] and spec["clusterIP"] != "None"
    expect(page.locator("#status")).to_contain_text(f"{spec['clusterIP']}:80/TCP")


def test_it_publishes_the_vm_on_a_node_port_as_the_guide_shows(log_in, sim, project):
    page = log_in("alice")
    open_services(page, project)
    configure(page, "linux-vm-nginx-nodeport", "NodePort: a port on every node of the cluster",
              port=80, target_port=80, node_port=31880)
    create(page, "linux-vm-nginx-nodeport")
    expect(page.locator("#status")).to_contain_text("31880/TCP on every node → 80")
    spec = get_json(sim, project, "service", "linux-vm-nginx-nodeport")["spec"]
    assert spec["type"] == "NodePort" and spec["selector"] == {"app": "nginx"}
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80, "nodePort": 31880}]


def test_it_publishes_the_vm_through_a_load_balancer_as_the_guide_shows(log_in, sim, project):
    page = log_in("alice")
    open_services(page, project)
    configure(page, "linux-vm-nginx-lb", "LoadBalancer: an external address from the cluster's load balancer",
              port=80, target_port=80)
    create(page, "linux-vm-nginx-lb")
    service = get_json(sim, project, "service", "linux-vm-nginx-lb")
    assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["selector"] == {"app": "nginx"}
    port = service["spec"]["ports"][0]
    assert (port["protocol"], port["port"], port["targetPort"]) == ("TCP", 80, 80) and port["nodePort"]
    external = service["status"]["loadBalancer"]["ingress"][0]["ip"]
    expect(page.locator("#status")).to_contain_text(external)


def test_it_publishes_a_vm_with_a_service_and_an_ingress_as_the_guide_says(log_in, sim, project):
    page = log_in("alice")
    sidebar = open_services(page, project)
    # The internal service to bind to the Ingress (the guide's linux-vm-nginx, ClusterIP on port 80).
    configure(page, "linux-vm-nginx", "ClusterIP: one stable address inside the cluster", port=80, target_port=80)
    create(page, "linux-vm-nginx")
    expect(page.locator("#status")).to_contain_text(f"linux-vm-nginx.{project}.svc")
    service = get_json(sim, project, "service", "linux-vm-nginx")["spec"]
    assert service["selector"] == {"app": "nginx"} and service["type"] == "ClusterIP"
    assert service["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    endpoints = kubectl(sim, "-n", project, "get", "endpoints", "linux-vm-nginx").stdout
    assert f"{vm_ip(sim, project)}:80" in endpoints

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

    ingress = get_json(sim, project, "ingress", "linux-vm")["spec"]
    assert ingress["rules"] == [{"host": "linux-vm.example.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "linux-vm-nginx", "port": {"number": 80}}}}]}}]

    # The VM's page lists what reaches it, and "Expose" opens the Service form with its labels chosen.
    page.goto(f"/projects/{project}/vms/{VM}/network/")
    reach = page.locator("#vm-reach")
    expect(reach.get_by_role("link", name="linux-vm-nginx", exact=True)).to_be_visible()
    expect(reach.get_by_role("link", name="linux-vm", exact=True)).to_be_visible()
    expect(reach).to_contain_text("linux-vm.example.com/")
    reach.get_by_role("button", name="Expose").click()
    expect(page.get_by_role("checkbox", name=f"app=nginx {VM}")).to_be_checked()
