import socket

from django.urls import reverse

from portal.kube import config as kube_config



def _dead_kubeconfig(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "dead-kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: dead, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: dead, context: {{cluster: dead, user: u}}}}]
current-context: dead
""")
    return path


def test_it_shows_an_unreachable_api_as_503_not_500(project, owner, settings, tmp_path):
    settings.DVP_KUBECONFIG = str(_dead_kubeconfig(tmp_path))
    settings.DVP_KUBE_CONTEXT = "dead"
    settings.DVP_REQUEST_TIMEOUT = 2
    kube_config.reset()
    response = owner.get(reverse("virtualization:list", args=[project, "vms"]))
    assert response.status_code == 503
    assert "The Kubernetes API is unavailable" in response.content.decode()


def test_it_answers_404_for_an_object_that_does_not_exist(project, owner):
    response = owner.get(reverse("virtualization:detail", args=[project, "vms", "no-such-vm"]))
    assert response.status_code == 404
