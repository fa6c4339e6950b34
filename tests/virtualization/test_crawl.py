"""No page can fail: a crawl of every page, tab and htmx fragment linked from the project's pages, for objects made
every way the console makes them, as the owner, the viewer and the operator. Any 5xx, template error or exception
fails with the URL and who opened it.

The objects are made through the console's own forms where it has one (images and disks of every source, VMs with
inline cloud-init, cloud-init in a Secret, Sysprep, no provisioning, each run policy, a hot-plugged disk, an
additional network, a static IP request, a USB device attached, snapshots), and through the API for the states a form cannot make (a VM
no node can take, a VM that keeps crashing, a migration in progress).
"""
import json
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.kube import (GROUP, VERSION, CLOUD_INIT, assign_usb, create_dvp, custom, get_dvp, make_network, plug_usb,
                        sample_url, usb_gate, wait_for, wait_for_phase)
from virtualization.registry import REGISTRY

pytestmark = pytest.mark.django_db  # the cast's clients are fetched by name: declare the database they use

LINK = re.compile(r'(?:href|hx-get|hx-post-disabled)="(/[^"#]*)')
VARIANTS_PER_PATH = 3     # query-string variants of one path (sort orders, filters) opened at most
MAX_PAGES = 900           # a bound on one cast member's crawl, far above what the project links
PASSWORD_CLOUD_INIT = "#cloud-config\nusers:\n  - name: cloud\n    passwd: $6$rounds=4096$saltsalt$hash\n"
SYSPREP = '<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"></unattend>'


def _ok(response, what):
    assert response.status_code in (200, 302), f"{what}: {response.status_code} {response.content[:300]!r}"
    return response


def _vm_form(name, disk, **fields):
    return {"name": name, "vm_class": "generic", "cores": "1", "core_fraction": "10%", "memory": "1Gi",
            "run_policy": "AlwaysOnUnlessStoppedManually", "os_type": "Generic",
            "boot_disk": json.dumps({"mode": "existing", "name": disk, "label": disk}), **fields}


@pytest.fixture(scope="module")
def made(sim, project, cast, django_db_setup, django_db_blocker):
    """Objects of every kind, made every way, settled enough to show each state; returns the project."""
    from django.test import override_settings

    from portal.kube import config as kube_config

    # The function-scoped console_on_sim does not reach a module fixture: point the console at the sim here too.
    with override_settings(DVP_KUBECONFIG=str(sim.kubeconfig), DVP_KUBE_CONTEXT="dvp-console",
                           DVP_ACCESS_CACHE_SECONDS=0.001), django_db_blocker.unblock(), usb_gate(sim):
        kube_config.reset()
        try:
            yield make_everything(sim, project, cast)
        finally:
            kube_config.reset()


def make_everything(sim, project, cast):
    from django.contrib.auth import get_user_model
    from django.test import Client

    owner = Client()
    owner.force_login(get_user_model().objects.get_or_create(username=cast.owner)[0])
    url = sample_url(sim)
    new = lambda name: reverse(f"virtualization:{name}", args=[project])  # noqa: E731
    # Images: every source and both storages.
    _ok(owner.post(new("image-create-http"), {"name": "img-http", "storage": "ContainerRegistry", "url": url}), "http")
    _ok(owner.post(new("image-create-http"), {"name": "img-pvc", "storage": "PersistentVolumeClaim", "url": url}),
        "pvc image")
    _ok(owner.post(new("image-create-container-image"), {"name": "img-oci", "storage": "ContainerRegistry",
                                                         "image": "registry.example.com/images/ubuntu:24.04"}), "oci")
    _ok(owner.post(new("image-create-upload"), {"name": "img-upload", "storage": "ContainerRegistry"}), "upload")
    wait_for_phase(sim, "virtualimages", project, "img-http", "Ready", timeout=60)
    # Disks: empty, from the project image, from a snapshot, for an upload; and one per VM below.
    for name in ("disk-blank", "vm-inline-root", "vm-secret-root", "vm-sysprep-root", "vm-none-root",
                 "vm-pending-root", "vm-crash-root", "vm-hotplug"):
        _ok(owner.post(new("disk-create"), {"name": name, "source": "blank", "size": "1Gi"}), name)
    _ok(owner.post(new("disk-create"), {"name": "disk-image", "source": "project", "project_image": "img-http"}),
        "disk from image")
    _ok(owner.post(new("disk-create"), {"name": "disk-upload", "source": "upload"}), "disk upload")
    wait_for_phase(sim, "virtualdisks", project, "disk-blank", "Ready", timeout=60)
    _ok(owner.post(new("disk-snapshot-create"), {"name": "disk-snap", "disk": "disk-blank"}), "disk snapshot")
    wait_for_phase(sim, "virtualdisksnapshots", project, "disk-snap", "Ready", timeout=60)
    _ok(owner.post(new("disk-create"), {"name": "disk-from-snap", "source": "snapshot", "snapshot": "disk-snap"}),
        "disk from snapshot")
    _ok(owner.post(new("image-create-disk"), {"name": "img-disk", "storage": "ContainerRegistry",
                                              "source_name": "disk-blank"}), "image from disk")
    _ok(owner.post(new("image-create-disk-snapshot"), {"name": "img-snap", "storage": "ContainerRegistry",
                                                       "source_name": "disk-snap"}), "image from snapshot")
    # VMs: inline cloud-init, cloud-init with a password (kept in a Secret), Sysprep, none; every run policy.
    _ok(owner.post(new("vm-create"), _vm_form("vm-inline", "vm-inline-root", cloud_init_enabled="on",
                                              cloud_init=CLOUD_INIT)), "vm inline")
    _ok(owner.post(new("vm-create"), _vm_form("vm-secret", "vm-secret-root", run_policy="AlwaysOn",
                                              cloud_init_enabled="on", cloud_init=PASSWORD_CLOUD_INIT)), "vm secret")
    _ok(owner.post(new("vm-create"), _vm_form("vm-sysprep", "vm-sysprep-root", run_policy="Manual",
                                              os_type="Windows", sysprep=SYSPREP)), "vm sysprep")
    _ok(owner.post(new("vm-create"), _vm_form("vm-none", "vm-none-root", run_policy="AlwaysOff")), "vm none")
    _ok(owner.post(new("vm-create"), _vm_form("vm-pending", "vm-pending-root")), "vm pending")
    _ok(owner.post(new("vm-create"), _vm_form("vm-crash", "vm-crash-root")), "vm crash")
    assert get_dvp(sim, "virtualmachines", project, "vm-secret")["spec"]["provisioning"]["type"] == "UserDataRef"
    for name in ("vm-inline", "vm-secret", "vm-crash"):
        wait_for_phase(sim, "virtualmachines", project, name, "Running", timeout=90)
    wait_for_phase(sim, "virtualmachines", project, "vm-none", "Stopped", timeout=60)
    # A VM no node can take, and one that keeps crashing (Pending, as DVP shows both).
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", "vm-pending", {
        "spec": {"nodeSelector": {"no-such-label": "anywhere"}}})
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, project, "virtualmachineoperations", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualMachineOperation", "metadata": {"name": "pending-restart"},
        "spec": {"type": "Restart", "virtualMachineName": "vm-pending"}})
    # Manual: DVP starts a failed VM again only under the AlwaysOn policies, so this one stays Pending.
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", "vm-crash",
                                               {"spec": {"runPolicy": "Manual"}})
    sim.control(f"vms/{project}/vm-crash/fail", {})
    # A hot-plugged disk, an additional network, a static IP request, on the console's own tab actions.
    tab = lambda vm, name, action: reverse(f"virtualization:vms-{name}-{action}", args=[project, vm])  # noqa: E731
    _ok(owner.post(tab("vm-inline", "disks", "attach"), {"device": "VirtualDisk/vm-hotplug"}), "hot-plug")
    make_network(sim, project, "crawl-net")
    vm = get_dvp(sim, "virtualmachines", project, "vm-secret")
    _ok(owner.post(tab("vm-secret", "network", "add-network"), {
        "network_type": "Network", "network_name": "crawl-net", "resource_version": vm["metadata"]["resourceVersion"],
        "base": json.dumps({"networks": vm["spec"].get("networks") or [{"type": "Main"}]})}), "network")
    _ok(owner.post(tab("vm-none", "network", "static-ip"), {"static_ip": "10.66.20.201"}), "static ip")
    # A USB device (DVP EE) assigned to the project, attached to a running VM on its USB tab, and a free one.
    attached, free = (plug_usb(sim)["metadata"]["name"] for _ in range(2))
    for device in (attached, free):
        assign_usb(sim, device, project)
    vm = get_dvp(sim, "virtualmachines", project, "vm-inline")
    _ok(owner.post(tab("vm-inline", "usb", "attach"), {
        "usb_device": attached, "resource_version": vm["metadata"]["resourceVersion"], "base": "{}"}), "usb")
    wait_for(lambda: any(d.get("attached") for d in
                         get_dvp(sim, "virtualmachines", project, "vm-inline")["status"].get("usbDevices") or []))
    # Snapshots of a stopped VM, and an operation of each kind the pages show.
    _ok(owner.post(reverse("virtualization:vm-snapshot-create", args=[project, "vm-none"]), {
        "name": "vm-none-snap", "keep_ip": "Never"}), "vm snapshot")
    create_dvp(sim, "virtualmachineoperations", project, {"metadata": {"name": "inline-evict"},
                                                          "spec": {"type": "Evict", "virtualMachineName": "vm-inline"}})
    wait_for_phase(sim, "virtualmachinesnapshots", project, "vm-none-snap", "Ready", timeout=60)
    wait_for(lambda: (get_dvp(sim, "virtualmachines", project, "vm-pending").get("status") or {}).get("phase")
             == "Pending", timeout=60)
    # Downloads under way (their pages are linked from the disk's and the snapshot's).
    _ok(owner.post(reverse("virtualization:disk-snapshot-download", args=[project, "disk-snap"])), "download snapshot")
    _ok(owner.post(reverse("virtualization:disk-download", args=[project, "disk-blank"])), "download disk")
    return project


def crawl(client, project):
    """{url: failure} over every page reachable from the project's pages, htmx fragments included."""
    start = [reverse("projects:detail", args=[project])] + \
        [reverse("virtualization:list", args=[project, slug]) for slug in REGISTRY]
    queue, seen, variants, failures = list(start), set(start), {}, {}
    while queue and len(seen) <= MAX_PAGES:
        url = queue.pop(0)
        try:
            response = client.get(url, HTTP_HX_REQUEST="true") if "fragment=" in url else client.get(url)
        except Exception as exc:  # a template error or any exception of a view: the page failed
            failures[url] = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code >= 500:
            failures[url] = f"HTTP {response.status_code}"
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        for link in LINK.findall(response.content.decode()):
            link = link.replace("&amp;", "&")
            path = urlsplit(link).path
            if not path.startswith((f"/projects/{project}/", "/system/")) or link in seen:
                continue
            if variants.setdefault(path, 0) >= VARIANTS_PER_PATH:
                continue
            variants[path] += 1
            seen.add(link)
            queue.append(link)
    return seen, failures


@pytest.mark.parametrize("member", ["owner", "viewer", "operator"])
def test_it_opens_every_page_tab_and_fragment_without_a_failure(made, member, request):
    client = request.getfixturevalue(member)
    seen, failures = crawl(client, made)
    assert not failures, f"{member}: " + "; ".join(f"{url} -> {why}" for url, why in failures.items())
    # The crawl reached what it is for: every kind's pages and every tab of the VMs made every way.
    for vm in ("vm-inline", "vm-secret", "vm-sysprep", "vm-none", "vm-pending", "vm-crash"):
        for tab in REGISTRY["vms"].tab_keys[1:]:
            assert reverse("virtualization:detail-tab", args=[made, "vms", vm, tab]) in seen, (member, vm, tab)
    assert any("/configuration/" in url and "vm-secret" in url for url in seen)
    assert reverse("virtualization:list", args=[made, "usb-devices"]) in seen
    assert any(f"/{made}/usb-devices/usb-" in url for url in seen)
