"""deploy/: every overlay renders (`kubectl kustomize`), each object is valid against the Kubernetes
schemas (kubernetes-validate, strict), holds what the issue asks of it, and the API server accepts the
whole (`kubectl apply --dry-run=server` against dvpsim, which serves these kinds as kube-apiserver does)."""
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.kubectl import KUBECTL, kubectl, needs_kubectl

pytestmark = needs_kubectl
ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "overlays").iterdir() if p.is_dir())
KUBERNETES = "1.32"
CUSTOM = {"DexClient", "DexAuthenticator"}  # the user-authn module's: no schema in kubernetes-validate
EVERY_OVERLAY = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Secret",
                 "Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"}


def render(overlay):
    result = subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def objects(overlay):
    return [obj for obj in yaml.safe_load_all(render(overlay)) if obj]


def one(objs, kind):
    [obj] = [o for o in objs if o["kind"] == kind]
    return obj


def test_it_has_the_overlays_for_each_way_in():
    assert OVERLAYS == ["dex-authenticator", "local", "oidc"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_it_renders_objects_valid_against_the_kubernetes_schemas(overlay):
    objs = objects(overlay)
    assert EVERY_OVERLAY <= {o["kind"] for o in objs}
    for obj in objs:
        if obj["kind"] in CUSTOM:
            continue
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_it_refuses_an_invalid_object_so_the_validation_can_fail():
    deployment = one(objects("local"), "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_it_runs_two_restricted_replicas_with_probes_and_resources(overlay):
    objs = objects(overlay)
    deployment = one(objs, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"] + spec["initContainers"]:
        context = container["securityContext"]
        assert context == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                           "capabilities": {"drop": ["ALL"]}}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and "memory" in container["resources"]["limits"]
        assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
        # the generated ConfigMap and Secret (hashed names) are the ones referenced
        names = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
        assert names == {one(objs, "ConfigMap")["metadata"]["name"], one(objs, "Secret")["metadata"]["name"]}
    [console] = spec["containers"]
    assert console["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert console["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    assert one(objs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_it_gives_the_console_exactly_the_rights_the_identity_rule_needs(overlay):
    objs = objects(overlay)
    assert one(objs, "ClusterRole")["rules"] == [
        {"apiGroups": ["deckhouse.io"], "resources": ["projects"], "verbs": ["list"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]},
    ]
    binding = one(objs, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dvp-console", "namespace": "dvp-console"}]
    assert one(objs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "dvp-console"
    assert not [o for o in objs if o["kind"] in ("Role", "RoleBinding")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_it_serves_over_tls_with_websocket_timeouts(overlay):
    objs = objects(overlay)
    ingress = one(objs, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["tls"] == [{"hosts": ["console.example.com"], "secretName": "dvp-console-tls"}]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    settings = one(objs, "ConfigMap")["data"]
    assert settings["DVP_HTTPS"] == "1" and settings["DJANGO_ALLOWED_HOSTS"] == "console.example.com"
    assert set(one(objs, "Secret")["data"]) == {"DJANGO_SECRET_KEY", "DATABASE_URL"}
    policy = one(objs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_it_adds_the_dex_resources_of_the_oidc_modes():
    oidc = objects("oidc")
    assert one(oidc, "DexClient")["spec"]["redirectURIs"] == ["https://console.example.com/oidc/callback/"]
    assert one(oidc, "ConfigMap")["data"]["DVP_AUTH"] == "oidc"
    proxy = objects("dex-authenticator")
    assert one(proxy, "DexAuthenticator")["spec"]["applicationDomain"] == "console.example.com"
    assert one(proxy, "ConfigMap")["data"]["DVP_AUTH"] == "proxy"
    assert "nginx.ingress.kubernetes.io/auth-url" in one(proxy, "Ingress")["metadata"]["annotations"]
    assert not [o for o in objects("local") if o["kind"] in CUSTOM]


@pytest.fixture(scope="module")
def console_namespace(sim):
    """The namespace exists, as the dry run of the namespaced objects needs (it creates nothing)."""
    kubectl(sim, "create", "namespace", "dvp-console", check=False)
    yield "dvp-console"
    kubectl(sim, "delete", "namespace", "dvp-console", "--wait=false", check=False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_server_accepts_every_object_in_a_server_dry_run(overlay, sim, console_namespace):
    rendered = render(overlay)
    result = kubectl(sim, "apply", "--dry-run=server", "-f", "-", "-o", "yaml", stdin=rendered)
    stored = [o for o in yaml.safe_load(result.stdout)["items"]]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in stored) == \
        sorted((o["kind"], o["metadata"]["name"]) for o in objects(overlay))
    for obj in stored:
        assert obj["metadata"]["uid"] and obj["metadata"]["creationTimestamp"]
    # nothing was made by the dry run
    assert kubectl(sim, "get", "deployments,configmaps", "-n", console_namespace, "-o", "name").stdout.strip() == ""


def test_the_api_server_refuses_an_invalid_manifest_in_the_dry_run(sim, console_namespace):
    service = one(objects("local"), "Service")
    service["spec"]["type"] = "NoSuchType"
    result = kubectl(sim, "apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(service), check=False)
    assert result.returncode != 0 and "NoSuchType" in result.stderr
