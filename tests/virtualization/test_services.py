"""Network → Services: each type the guide shows made from "Create Service", with its address and the VMs behind
it; bad input kept and refused with the API's words; the viewer refused; the outsider shown nothing; the VM page's
Services and its "Expose"."""
import asyncio

import pytest
from django.urls import reverse
from kubernetes import client

from tests.kube import make_vm, stopped_vm, tab_url, wait_for
from tests.websockets import connect


@pytest.fixture(scope="module")
def core(sim):
    return client.CoreV1Api(sim.api("admin"))


@pytest.fixture(scope="module")
def web_vms(sim, project):
    """Two VMs labelled app=nginx as the guide's `d8 k label vm linux-vm app=nginx`: one Running, one Stopped."""
    make_vm(sim, project, "web-1", "web-1-root")
    stopped_vm(sim, project, "web-off")
    custom = client.CustomObjectsApi(sim.api("admin"))
    for name in ("web-1", "web-off"):
        custom.patch_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", project, "virtualmachines",
                                              name, {"metadata": {"labels": {"app": "nginx"}}})
    return ["web-1", "web-off"]


def create_url(project):
    return reverse("virtualization:service-create", args=[project])


def detail(client_, project, name):
    return client_.get(reverse("virtualization:detail", args=[project, "services", name])).content.decode()


def form(name, type_, **extra):
    return {"name": name, "type": type_, "labels": ["app=nginx"], "protocol": "TCP", **extra}


@pytest.mark.parametrize("type_, extra, spec, shows", [
    ("Headless", {}, {"clusterIP": "None"}, ["none (headless)"]),
    ("ClusterIP", {"port": "80"}, {"type": "ClusterIP"}, ["10.222."]),
    ("NodePort", {"port": "80", "target_port": "80", "node_port": "31880"}, {"type": "NodePort"},
     ["31880/TCP on every node"]),
    ("LoadBalancer", {"port": "80"}, {"type": "LoadBalancer"}, ["<dt>External IP</dt><dd>192.168.10.2"]),
])
def test_it_creates_each_type_of_the_guide_with_its_address_and_vms(type_, extra, spec, shows, project, owner, core,
                                                                     web_vms, sim):
    name = f"svc-{type_.lower()}"
    response = owner.post(create_url(project), form(name, type_, **extra))
    assert response.status_code == 302, response.content.decode()[:3000]
    made = core.read_namespaced_service(name, project).to_dict()["spec"]
    assert made["selector"] == {"app": "nginx"}
    for key, value in spec.items():
        assert made[{"clusterIP": "cluster_ip"}.get(key, key)] == value
    if extra.get("port"):
        assert made["ports"][0]["port"] == 80 and made["ports"][0]["target_port"] == 80
    running_ip = client.CustomObjectsApi(sim.api("admin")).get_namespaced_custom_object(
        "virtualization.deckhouse.io", "v1alpha2", project, "virtualmachines", "web-1")["status"]["ipAddress"]

    def shown():
        page = detail(owner, project, name)
        return all(s in page for s in shows) and f"{running_ip}</td><td>serving" in page and page
    page = wait_for(shown)
    assert f"{name}.{project}.svc" in page
    assert 'data-vm="web-off"' in page and "no endpoint" in page  # a stopped VM is selected but not served
    listing = owner.get(reverse("virtualization:list", args=[project, "services"])).content.decode()
    row = listing[listing.index(f'data-name="{name}"'):]
    row = row[:row.index("</tr>")]
    assert '<td data-column="Virtual machines">web-1, web-off (no endpoint)</td>' in row


def test_it_keeps_bad_input_and_shows_the_apis_words_on_the_field(project, owner, core, web_vms):
    response = owner.post(create_url(project), form("svc-bad", "NodePort", port="80", node_port="80"))
    page = response.content.decode()
    assert response.status_code == 422
    assert "The range of valid ports is 30000-32767" in page and 'id="id_node_port-error"' in page
    assert 'name="node_port" value="80"' in page and 'value="svc-bad"' in page
    response = owner.post(create_url(project), form("svc-noport", "ClusterIP"))
    assert response.status_code == 422 and 'id="id_port-error"' in response.content.decode()
    assert "Required value" in response.content.decode()
    response = owner.post(create_url(project), form("9-starts-with-a-digit", "ClusterIP", port="80"))
    assert response.status_code == 422 and "a DNS-1035 label" in response.content.decode()
    response = owner.post(create_url(project), {**form("svc-labels", "ClusterIP", port="80"), "labels": [],
                                                "other_labels": "app nginx"})
    assert response.status_code == 422 and "is not a label" in response.content.decode()
    assert not [s for s in core.list_namespaced_service(project).items
                if s.metadata.name in ("svc-bad", "svc-noport", "svc-labels")]


def test_it_refuses_the_viewer_and_hides_the_project_from_the_outsider(project, viewer, outsider, core, web_vms):
    page = viewer.get(create_url(project)).content.decode()
    assert "You may not create Services in this project" in page
    response = viewer.post(create_url(project), form("svc-viewer", "ClusterIP", port="80"))
    assert response.status_code == 422 and "is forbidden" in response.content.decode()
    assert not [s for s in core.list_namespaced_service(project).items if s.metadata.name == "svc-viewer"]
    assert outsider.get(create_url(project)).status_code == 404
    assert outsider.get(reverse("virtualization:list", args=[project, "services"])).status_code == 404


def test_it_deletes_a_service(project, owner, core, web_vms):
    owner.post(create_url(project), form("svc-gone", "ClusterIP", port="80"))
    response = owner.post(reverse("virtualization:delete", args=[project, "services", "svc-gone"]))
    assert response.status_code == 302
    wait_for(lambda: not [s for s in core.list_namespaced_service(project).items if s.metadata.name == "svc-gone"])


def test_the_vm_page_lists_what_reaches_it_and_exposes_it(project, owner, core, web_vms, sim):
    core.create_namespaced_service(project, {"metadata": {"name": "reach-web"}, "spec": {
        "selector": {"app": "nginx"}, "ports": [{"port": 8080}]}})
    client.NetworkingV1Api(sim.api("admin")).create_namespaced_ingress(project, {
        "metadata": {"name": "reach-web"}, "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "reach-web", "port": {"number": 8080}}}}]}}]}})
    page = owner.get(tab_url(project, "web-1", "network")).content.decode()
    assert 'href="/projects/%s/services/reach-web/"' % project in page
    assert 'href="/projects/%s/ingresses/reach-web/"' % project in page and "web.example.com" in page
    expose = f"{create_url(project)}?vm=web-1"
    assert f'href="{expose}"' in page
    form_page = owner.get(expose).content.decode()
    assert 'value="app=nginx" checked' in form_page


@pytest.mark.django_db(transaction=True)
def test_it_pushes_a_newly_labelled_vm_to_the_services_page(project, cast, core, web_vms, sim):
    """The Service's page is live: a VM that gets the selector's label shows among the VMs behind it."""
    core.create_namespaced_service(project, {"metadata": {"name": "live-web"}, "spec": {
        "selector": {"tier": "live"}, "ports": [{"port": 80}]}})

    async def scenario():
        communicator, connected = await connect(f"/ws/projects/{project}/live/services/live-web/", cast.owner)
        assert connected
        first = await communicator.receive_from(timeout=10)
        await asyncio.to_thread(client.CustomObjectsApi(sim.api("admin")).patch_namespaced_custom_object,
                                "virtualization.deckhouse.io", "v1alpha2", project, "virtualmachines", "web-1",
                                {"metadata": {"labels": {"tier": "live"}}})
        seen, loop = first, asyncio.get_running_loop()
        deadline = loop.time() + 10
        while "serving" not in seen and loop.time() < deadline:
            seen += await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return first, seen

    first, seen = asyncio.run(scenario())
    assert 'data-vm="web-1"' not in first
    assert 'data-vm="web-1"' in seen and "serving" in seen and 'hx-swap-oob="true"' in seen


def test_it_refuses_a_label_no_vm_has_any_more_on_its_checkbox(project, owner, web_vms):
    response = owner.post(create_url(project), {**form("svc-stale", "ClusterIP", port="80"), "labels": ["app=gone"]})
    page = response.content.decode()
    assert response.status_code == 422 and 'id="id_labels-error"' in page and "app=gone" in page
