"""Unknown fields as kube-apiserver treats them: kubectl's default Strict refuses them by name, Warn lets
them through with a warning, Ignore drops them silently (`fieldValidation`, `kubectl --validate`)."""
import json

import pytest

from tests.dvpsim.rawhttp import call
from tests.kube import fresh_namespace
from tests.kubectl import kubectl, needs_kubectl

pytestmark = needs_kubectl

DISK = """apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: {name}
  colour: blue
spec:
  persistentVolumeClaim:
    size: 1Gi
    sise: 2Gi
  dataSorce: {{}}
"""


@pytest.fixture(scope="module")
def ns(sim):
    return fresh_namespace(sim, "fields")


def test_it_refuses_unknown_fields_by_name_under_kubectls_default(sim, ns):
    result = kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=DISK.format(name="strict"), check=False)
    assert result.returncode != 0
    assert ('VirtualDisk in version "v1alpha2" cannot be handled as a VirtualDisk: strict decoding error: '
            'unknown field "metadata.colour", unknown field "spec.dataSorce", '
            'unknown field "spec.persistentVolumeClaim.sise"') in result.stderr
    assert kubectl(sim, "get", "vd", "strict", "-n", ns, check=False).returncode != 0  # nothing was made


def test_it_warns_and_drops_them_under_validate_warn(sim, ns):
    result = kubectl(sim, "apply", "--validate=warn", "-n", ns, "-f", "-", stdin=DISK.format(name="warned"))
    assert 'Warning: unknown field "spec.persistentVolumeClaim.sise"' in result.stderr
    assert 'Warning: unknown field "metadata.colour"' in result.stderr
    stored = kubectl(sim, "get", "vd", "warned", "-n", ns, "-o", "jsonpath={.spec}").stdout
    assert "sise" not in stored and "dataSorce" not in stored and '"size":"1Gi"' in stored


def test_it_drops_them_silently_when_told_to_ignore(sim, ns):
    result = kubectl(sim, "apply", "--validate=false", "-n", ns, "-f", "-", stdin=DISK.format(name="ignored"))
    assert "Warning" not in result.stderr
    stored = json.loads(kubectl(sim, "get", "vd", "ignored", "-n", ns, "-o", "json").stdout)
    assert "colour" not in stored["metadata"]  # (kubectl's last-applied annotation keeps what it sent)
    assert stored["spec"] == {"persistentVolumeClaim": {"size": "1Gi"}}


def test_it_checks_patches_and_the_directive_itself(sim, ns):
    kubectl(sim, "apply", "--validate=false", "-n", ns, "-f", "-", stdin=DISK.format(name="patched"))
    path = f"/apis/virtualization.deckhouse.io/v1alpha2/namespaces/{ns}/virtualdisks/patched"
    status, _, body = call(sim, "PATCH", path + "?fieldValidation=Strict", {"spec": {"typo": 1}},
                           content_type="application/merge-patch+json")
    assert status == 400 and 'strict decoding error: unknown field "spec.typo"' in body["message"]
    status, headers, _ = call(sim, "PATCH", path, {"metadata": {"labels": {"a": "b"}}, "spec": {"typo": 1}},
                              content_type="application/merge-patch+json")  # no directive: the server's Warn
    assert status == 200 and headers.get_all("Warning") == ['299 - "unknown field \\"spec.typo\\""']
    status, _, body = call(sim, "PATCH", path + "?fieldValidation=Loose", {"spec": {}},
                           content_type="application/merge-patch+json")
    assert status == 400
