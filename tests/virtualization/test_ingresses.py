"""Network → Ingresses: "Create Ingress" makes the guide's example (host, path, backend Service and port, TLS
secret); its page shows where it is served and the VMs behind its Service; bad input kept with the API's words;
the viewer refused; the outsider shown nothing."""
import base64

import pytest
from django.urls import reverse
from kubernetes import client

from tests.kube import make_vm, wait_for


@pytest.fixture(scope="module")
def net(sim):
    return client.NetworkingV1Api(sim.api("admin"))


@pytest.fixture(scope="module")
def backend(sim, project):
    """The guide's internal Service linux-vm-nginx in front of a Running VM labelled app=nginx, and a TLS Secret."""
    make_vm(sim, project, "linux-vm", "linux-vm-root")
    client.CustomObjectsApi(sim.api("admin")).patch_namespaced_custom_object(
        "virtualization.deckhouse.io", "v1alpha2", project, "virtualmachines", "linux-vm",
        {"metadata": {"labels": {"app": "nginx"}}})
    core = client.CoreV1Api(sim.api("admin"))
    core.create_namespaced_service(project, {"metadata": {"name": "linux-vm-nginx"}, "spec": {
        "selector": {"app": "nginx"}, "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}]}})
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").decode()
    core.create_namespaced_secret(project, {"metadata": {"name": "linux-vm-tls"}, "type": "kubernetes.io/tls",
                                            "data": {"tls.crt": pem, "tls.key": pem}})
    return "linux-vm-nginx"


def create_url(project):
    return reverse("virtualization:ingress-create", args=[project])


def guide_form(name="linux-vm", **changes):
    return {"name": name, "host": "linux-vm.example.com", "path": "/", "path_type": "Prefix",
            "service": "linux-vm-nginx", "port": "80", "tls_secret": "", **changes}


def test_it_creates_the_guides_ingress_and_shows_where_it_is_served(project, owner, net, backend):
    page = owner.get(create_url(project)).content.decode()
    assert '<option value="linux-vm-nginx">linux-vm-nginx (ClusterIP, port 80)</option>' in page
    assert '<option value="linux-vm-tls">' in page
    response = owner.post(create_url(project), guide_form(tls_secret="linux-vm-tls"))
    assert response.status_code == 302, response.content.decode()[:2000]
    spec = net.read_namespaced_ingress("linux-vm", project).to_dict()["spec"]
    [path] = spec["rules"][0]["http"]["paths"]
    assert spec["rules"][0]["host"] == "linux-vm.example.com"
    assert (path["path"], path["path_type"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "linux-vm-nginx", "port": {"name": None, "number": 80}}
    assert spec["tls"] == [{"hosts": ["linux-vm.example.com"], "secret_name": "linux-vm-tls"}]

    def served():
        page = owner.get(response["Location"]).content.decode()
        return "192.168.10.11, 192.168.10.12, 192.168.10.13" in page and "serving" in page and page
    page = wait_for(served)
    assert "https://linux-vm.example.com" in page and 'data-vm="linux-vm"' in page
    listing = owner.get(reverse("virtualization:list", args=[project, "ingresses"])).content.decode()
    assert 'data-name="linux-vm"' in listing and "linux-vm.example.com" in listing


def test_it_keeps_bad_input_and_shows_the_apis_words_on_the_field(project, owner, net, backend):
    response = owner.post(create_url(project), guide_form("bad-path", path="web"))
    page = response.content.decode()
    assert response.status_code == 422 and "must be an absolute path" in page and 'id="id_path-error"' in page
    assert 'value="web"' in page and 'value="bad-path"' in page
    response = owner.post(create_url(project), guide_form("bad-host", host="10.1.2.3"))
    assert response.status_code == 422 and "must be a DNS name, not an IP address" in response.content.decode()
    assert 'id="id_host-error"' in response.content.decode()
    response = owner.post(create_url(project), guide_form("bad-port", port="70000"))
    assert response.status_code == 422 and "must be between 1 and 65535, inclusive" in response.content.decode()
    assert 'id="id_port-error"' in response.content.decode()
    names = {i.metadata.name for i in net.list_namespaced_ingress(project).items}
    assert not names & {"bad-path", "bad-host", "bad-port"}


def test_it_refuses_the_viewer_and_hides_the_project_from_the_outsider(project, viewer, outsider, net, backend):
    assert "You may not create Ingress resources in this project" in viewer.get(create_url(project)).content.decode()
    response = viewer.post(create_url(project), guide_form("viewer-ingress"))
    assert response.status_code == 422 and "is forbidden" in response.content.decode()
    assert "viewer-ingress" not in {i.metadata.name for i in net.list_namespaced_ingress(project).items}
    assert outsider.get(create_url(project)).status_code == 404
    assert outsider.get(reverse("virtualization:list", args=[project, "ingresses"])).status_code == 404


def test_it_deletes_an_ingress(project, owner, net, backend):
    assert owner.post(create_url(project), guide_form("short-lived")).status_code == 302
    response = owner.post(reverse("virtualization:delete", args=[project, "ingresses", "short-lived"]))
    assert response.status_code == 302
    wait_for(lambda: "short-lived" not in {i.metadata.name for i in net.list_namespaced_ingress(project).items})
