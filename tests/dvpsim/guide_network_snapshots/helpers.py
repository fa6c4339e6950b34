"""Steps shared by the tests of the user guide's "Network configuration", "Snapshots" and "Creating a VM clone"
sections (this package), driven the way the guide does it (kubectl for its `d8 k` commands, its own YAML where it
gives some) against the shared demo cluster.

Behaviours asserted elsewhere over HTTP and not repeated here: the 10-minute retention of a released IP lease under a
stepped clock (test_ip_mac), keepIPAddress Always converting the Auto address to Static and the consistency rules of
VM snapshots (test_vm_snapshots), disk snapshots waiting for a missing disk or for the agent (test_disk_snapshots),
restore in maintenance mode and of MAC addresses, clones of a running VM, VMSOP (test_restore_clone).
"""

import ipaddress
import json
import re
import time
import urllib.request

import yaml
from kubernetes import client

from tests.dvpsim.guide_examples import examples
from tests.kube import GUIDE_USER_DATA, blank_disk, vm_body
from tests.kubectl import kubectl


CIDRS = [ipaddress.ip_network(c) for c in ("10.66.10.0/24", "10.66.20.0/24", "10.66.30.0/24")]  # the demo's
AGENT_USER_DATA = GUIDE_USER_DATA + "packages:\n  - qemu-guest-agent\n"
SDN = ("network.deckhouse.io", "v1alpha1")
SECTION = (2349, 2896)  # the guide's lines these tests narrate


def table(output):
    """kubectl table output as (header, rows), split on runs of two or more spaces."""
    lines = [line for line in output.splitlines() if line.strip()]
    return re.split(r"\s{2,}", lines[0].strip()), [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def guide_yaml(kind, **replace):
    """The guide's own manifest of `kind` in the narrated lines (its `$(date +%s)` made concrete)."""
    for line, _verb, text in examples():
        if SECTION[0] <= line <= SECTION[1] and yaml.safe_load(text.replace("$(date +%s)", "0")).get("kind") == kind:
            text = text.replace("$(date +%s)", "1728027905")
            for old, new in replace.items():
                text = text.replace(old, new)
            return text
    raise AssertionError(f"no {kind} example in the guide's lines {SECTION}")


def apply(sim, namespace, text):
    return kubectl(sim, "apply", "-n", namespace, "-f", "-", stdin=text).stdout


def small_vm(name, **spec):
    """A VM as the guide's linux-vm, with a 10% CPU share (the shared cluster's nodes are not endless)."""
    body = vm_body(name, **spec)
    body["spec"]["cpu"]["coreFraction"] = "10%"
    return body


def running_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", small_vm(name, **spec))
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


def stopped_vm(dvp, name, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    dvp.create("virtualmachines", small_vm(name, **{"runPolicy": "Manual", **spec}))  # Manual: created Stopped
    dvp.wait_phase("virtualdisks", f"{name}-root", "Ready")
    return dvp.wait_phase("virtualmachines", name, "Stopped", timeout=30)


def assignable(address):
    ip = ipaddress.ip_address(address)
    return any(ip in net and ip not in (net.network_address, net.broadcast_address) for net in CIDRS)


def free_address(dvp, preferred):
    """The guide's address if no lease holds it (other tests of the session may have taken it), else a free one."""
    taken = {i["metadata"]["name"] for i in dvp.custom.list_cluster_custom_object(
        "virtualization.deckhouse.io", "v1alpha2", "virtualmachineipaddressleases")["items"]}
    for candidate in [preferred] + [f"10.66.20.{i}" for i in range(200, 250)]:
        if "ip-" + candidate.replace(".", "-") not in taken:
            return candidate
    raise AssertionError("no free address left in 10.66.20.200-249")


def operation(dvp, name, type_, vm, **spec):
    return dvp.create("virtualmachineoperations", {"metadata": {"name": name},
                                                   "spec": {"type": type_, "virtualMachineName": vm, **spec}})


def wait_until(read, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = read()
        if predicate(obj):
            return obj
        time.sleep(0.05)
    raise AssertionError(f"timed out; last seen: {obj}")


def finished(dvp, name, timeout=30):
    return dvp.wait("virtualmachineoperations", name,
                    lambda o: (o.get("status") or {}).get("phase") in ("Completed", "Failed"), timeout=timeout)


def snapshot_of(dvp, name, vm, **spec):
    dvp.create("virtualmachinesnapshots", {"metadata": {"name": name}, "spec": {"virtualMachineName": vm, **spec}})
    return dvp.wait_phase("virtualmachinesnapshots", name, "Ready", timeout=30)


def get_json(sim, path, user="admin"):
    request = urllib.request.Request(f"{sim.url}{path}", headers={"Authorization": f"Bearer {sim.token(user)}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def api_groups(sim):
    return [g["name"] for g in get_json(sim, "/apis")["groups"]]


def project_network(dvp, name="user-net", spec=None):
    """A project Network of the sdn module in the test namespace (created once)."""
    try:
        return dvp.custom.get_namespaced_custom_object(*SDN, dvp.namespace, "networks", name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    return dvp.custom.create_namespaced_custom_object(*SDN, dvp.namespace, "networks", {
        "apiVersion": "/".join(SDN), "kind": "Network", "metadata": {"name": name}, "spec": spec or {}})


def resources_of(op):
    return {(r["kind"], r["name"]): r for r in op["status"].get("resources") or []}
