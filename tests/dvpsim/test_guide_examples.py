"""kubectl applies every YAML example of the user guide to dvpsim, then gets, describes, patches
and deletes what it made; the quick start's outcomes happen as the guide narrates them.

The guide's image URLs point at the internet; they are rewritten to dvpsim's sample images (same
file names, served on loopback) so the imports really run offline.
"""
import json
import re
import shutil
import time

import pytest

from tests.dvpsim.guide_examples import GUIDE, documents, examples
from tests.kube import fresh_namespace
from tests.kubectl import KUBECTL, kubectl as run_kubectl


pytestmark = [
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the user guide is not at {GUIDE}"),
    pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed"),
]

# Examples a real DVP refuses too when they are applied in the guide's order, and why:
# (kind, name, dataSource.objectRef.kind) -> words of the refusal.
REFUSED = {
    # the guide's placeholder image reference docker.io/<username>/… is not a valid reference
    ("VirtualImage", "ubuntu-2204", None): "containerImage.image",
    # "Recovering disks from snapshots" reuses the name of the disk made earlier from an image
    ("VirtualDisk", "linux-vm-root", "VirtualDiskSnapshot"): "data source cannot be changed",
    # the "ClusterIP service" example has no ports: Kubernetes accepts a portless Service only when it is headless
    ("Service", "http", "ClusterIP"): "spec.ports: Required value",
}


def example_key(doc):
    ref = ((doc.get("spec") or {}).get("dataSource") or {}).get("objectRef") or {}
    if doc.get("kind") == "Service":  # the guide's two Services named "http" differ by their clusterIP
        return doc["kind"], (doc.get("metadata") or {}).get("name"), (doc.get("spec") or {}).get("clusterIP", "ClusterIP")
    return doc.get("kind"), (doc.get("metadata") or {}).get("name"), ref.get("kind")


def kubectl(sim, *args, stdin=None):
    return run_kubectl(sim, *args, stdin=stdin, check=False)


def offline(sim, text):
    text = re.sub(r"https://cloud-images\.ubuntu\.com/\S+/([^/\s]+\.img)", rf"{sim.url}/dvpsim/samples/\1", text)
    return text.replace("$(date +%s)", str(int(time.time())))


def wait_for(sim, namespace, resource, name, jsonpath, expected, timeout=60):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = kubectl(sim, "get", resource, name, "-n", namespace, "-o", f"jsonpath={jsonpath}").stdout
        if value == expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"{resource}/{name} {jsonpath} is {value!r}, not {expected!r}")


@pytest.fixture(scope="module")
def applied(sim):
    namespace = fresh_namespace(sim, "guide")
    made, failures = [], []
    for line, verb, text in examples():
        text = offline(sim, text)
        docs = documents(text)
        target = docs[0].get("metadata", {}).get("namespace") or namespace
        result = kubectl(sim, verb, "-n", target, "-f", "-", stdin=text)
        key = example_key(docs[0])
        if key in REFUSED:
            if result.returncode == 0 or REFUSED[key] not in result.stderr:
                failures.append(f"line {line}: {key} should be refused for {REFUSED[key]}: {result.stderr}")
            continue
        if result.returncode != 0:
            failures.append(f"line {line}: {verb} {key}: {result.stderr.strip()}")
            continue
        for out in result.stdout.split("\n"):
            match = re.match(r"^(\S+)/(\S+) (created|configured|unchanged)", out)
            if match and (target, match.group(1), match.group(2)) not in made:
                made.append((target, match.group(1), match.group(2)))
    return namespace, made, failures


def test_it_applies_every_example_of_the_guide(applied):
    namespace, made, failures = applied
    assert failures == []
    assert len(made) >= 20


def test_it_gets_describes_and_patches_what_the_examples_made(sim, applied):
    namespace, made, _ = applied
    for target, resource, name in made:
        assert kubectl(sim, "get", resource, name, "-n", target).returncode == 0, (resource, name)
        described = kubectl(sim, "describe", resource, name, "-n", target)
        assert described.returncode == 0 and name in described.stdout, (resource, name, described.stderr)
        patched = kubectl(sim, "patch", resource, name, "-n", target, "--type=merge",
                          "-p", json.dumps({"metadata": {"labels": {"checked-by": "guide-test"}}}))
        assert patched.returncode == 0, (resource, name, patched.stderr)
    labelled = kubectl(sim, "get", "vi,vd,vm", "-n", namespace, "-l", "checked-by=guide-test", "-o", "name").stdout
    assert "virtualimage.virtualization.deckhouse.io/ubuntu" in labelled


def test_it_narrates_the_quick_start(sim, applied):
    namespace, _, _ = applied
    wait_for(sim, namespace, "vi", "ubuntu", "{.status.phase}", "Ready")
    wait_for(sim, namespace, "vd", "linux-disk", "{.status.phase}", "Ready")
    wait_for(sim, namespace, "vm", "linux-vm", "{.status.phase}", "Running")
    out = kubectl(sim, "get", "vi,vd,vm", "-n", namespace).stdout
    assert re.search(r"virtualimage\.virtualization\.deckhouse\.io/ubuntu\s+Ready\s+false\s+100%", out), out
    assert re.search(r"virtualmachine\.virtualization\.deckhouse\.io/linux-vm\s+Running\s+\S+\s+virtlab-pt-\d\s+"
                     r"10\.66\.10\.\d+", out), out


def test_it_narrates_a_configuration_change_and_a_disk_resize(sim, applied):
    """"Change virtual machine configuration" and "Change disk size", as the guide runs them."""
    namespace, _, _ = applied
    wait_for(sim, namespace, "vm", "linux-vm", "{.status.phase}", "Running")
    patched = kubectl(sim, "patch", "vm", "linux-vm", "-n", namespace, "--type", "merge",
                      "-p", '{"spec":{"cpu":{"cores":2}}}')
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm patched" in patched.stdout, patched.stderr
    deadline = time.monotonic() + 30
    changes = []
    while time.monotonic() < deadline and not changes:
        out = kubectl(sim, "get", "vm", "linux-vm", "-n", namespace, "-o",
                      "jsonpath={.status.restartAwaitingChanges}").stdout
        changes = json.loads(out) if out else []
        time.sleep(0.3)
    assert {"operation": "replace", "path": "cpu.cores", "currentValue": 1, "desiredValue": 2} in changes

    wait_for(sim, namespace, "vd", "linux-vm-root", "{.status.phase}", "Ready")
    resized = kubectl(sim, "patch", "vd", "linux-vm-root", "-n", namespace, "--type", "merge",
                      "-p", '{"spec":{"persistentVolumeClaim":{"size":"11Gi"}}}')
    assert resized.returncode == 0, resized.stderr
    wait_for(sim, namespace, "vd", "linux-vm-root", "{.status.capacity}", "11Gi")


def test_it_deletes_what_the_examples_made(sim, applied):
    namespace, made, _ = applied
    for target, resource, name in reversed(made):
        result = kubectl(sim, "delete", resource, name, "-n", target, "--wait=false")
        assert result.returncode == 0 or "NotFound" in result.stderr, (resource, name, result.stderr)

