"""The access matrix, generated from the URL patterns (issue 10; architecture review §P5).

Every URL pattern of the console has a row in ROUTES: how to reverse it (real objects of the module's
fresh project, made once), the methods it serves and whether its POST mutates. A pattern without a
row fails the suite, and so does a row whose pattern is gone. The generic `<resource:resource>`
routes are expanded per registered kind (virtualization.registry.REGISTRY), `detail-tab` per tab.

For every case (route x method x cast):
  - outsider (manager of another project, nothing in this one): 404 for every route and method;
  - anonymous: a redirect to the login page, for every route and method;
  - viewer: every mutating POST is refused, as the row says the console shows it, and nothing in the
    project changes; on every GET page of the project no control for a mutation is enabled;
  - owner without the CSRF token: 403 on every POST;
  - owner: every GET answers 200 (a redirect where the row says so), never a 5xx.
"""
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.kube import (GROUP, VERSION, assign_usb, custom, get_dvp, list_dvp, make_network, plug_usb, sample_url,
                        wait_for_phase)
from system.registry import SYSTEM
from virtualization.registry import REGISTRY

# The values the console routes take for `tab` (vm-console-holder, vm-console-window).
CONSOLE_STREAMS = ("tty", "vnc")
PREFIX = "am"  # the matrix's objects are am-<what>, made once in the module's fresh project


# ---- the objects every route is reversed with ---------------------------------------------------------------------

def _create(sim, plural, namespace, kind, name, spec):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    if namespace is None:
        return custom(sim).create_cluster_custom_object(GROUP, VERSION, plural, body)
    return custom(sim).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


@pytest.fixture(scope="module")
def objects(sim, project, other_project):
    """One object of each kind the routes name, made as the cluster admin and settled (Ready, Stopped).
    `other_project` makes the outsider a manager elsewhere: someone with rights, only not here."""
    o = {"image": f"{PREFIX}-image", "disk": f"{PREFIX}-disk", "boot": f"{PREFIX}-boot", "boot2": f"{PREFIX}-boot-2",
         "hotplug": f"{PREFIX}-hotplug", "attachment": f"{PREFIX}-attachment", "network": f"{PREFIX}-network",
         "disk_snapshot": f"{PREFIX}-disk-snapshot", "vm": f"{PREFIX}-vm", "vm_snapshot": f"{PREFIX}-vm-snapshot",
         "migration": f"{PREFIX}-vm-evict", "cluster_image": f"{project}-image"}  # cluster-scoped: the project's name
    http = {"type": "HTTP", "http": {"url": sample_url(sim)}}
    _create(sim, "virtualimages", project, "VirtualImage", o["image"], {"storage": "ContainerRegistry",
                                                                        "dataSource": http})
    _create(sim, "clustervirtualimages", None, "ClusterVirtualImage", o["cluster_image"], {"dataSource": http})
    for disk in (o["disk"], o["boot"], o["boot2"], o["hotplug"]):
        _create(sim, "virtualdisks", project, "VirtualDisk", disk, {"persistentVolumeClaim": {"size": "1Gi"}})
    _create(sim, "virtualmachines", project, "VirtualMachine", o["vm"], {
        "virtualMachineClassName": "generic", "runPolicy": "Manual", "cpu": {"cores": 1, "coreFraction": "10%"},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": o["boot"]},
                                              {"kind": "VirtualDisk", "name": o["boot2"]}]})
    _create(sim, "virtualmachineblockdeviceattachments", project, "VirtualMachineBlockDeviceAttachment",
            o["attachment"], {"virtualMachineName": o["vm"], "blockDeviceRef": {"kind": "VirtualDisk",
                                                                                "name": o["hotplug"]}})
    make_network(sim, project, o["network"])
    # USB devices (dvpsim's EE gate, on for this module): two of the node's devices assigned to the project, the
    # first in the VM's spec.usbDevices (Detach), the second free (Attach).
    sim.control("feature-gates", {"USB": True})
    o["usb"], o["usb_free"] = (plug_usb(sim)["metadata"]["name"] for _ in range(2))
    for device in (o["usb"], o["usb_free"]):
        assign_usb(sim, device, project)
    custom(sim).patch_namespaced_custom_object(GROUP, VERSION, project, "virtualmachines", o["vm"], {
        "spec": {"usbDevices": [{"name": o["usb"]}]}})
    wait_for_phase(sim, "virtualdisks", project, o["disk"], "Ready")
    _create(sim, "virtualdisksnapshots", project, "VirtualDiskSnapshot", o["disk_snapshot"],
            {"virtualDiskName": o["disk"], "requiredConsistency": False})
    _create(sim, "virtualmachinesnapshots", project, "VirtualMachineSnapshot", o["vm_snapshot"],
            {"virtualMachineName": o["vm"], "requiredConsistency": False, "keepIPAddress": "Never"})
    _create(sim, "virtualmachineoperations", project, "VirtualMachineOperation", o["migration"],
            {"type": "Evict", "virtualMachineName": o["vm"]})
    for plural, name in (("virtualimages", o["image"]), ("virtualdisksnapshots", o["disk_snapshot"]),
                         ("virtualmachinesnapshots", o["vm_snapshot"]), ("virtualmachines", o["vm"])):
        wait_for_phase(sim, plural, project, name, "Stopped" if plural == "virtualmachines" else "Ready")
    # The object each registered kind's generic routes are reversed with.
    o["ip"] = f"{PREFIX}-ip"
    _create(sim, "virtualmachineipaddresses", project, "VirtualMachineIPAddress", o["ip"],
            {"type": "Static", "staticIP": "10.66.30.40"})
    # Network: a Service selecting the VM and an Ingress in front of it (the VM's Network tab lists both).
    o["service"], o["ingress"] = f"{PREFIX}-service", f"{PREFIX}-ingress"
    k8s.CoreV1Api(sim.api("admin")).create_namespaced_service(project, {"metadata": {"name": o["service"]}, "spec": {
        "selector": {"matrix": "vm"}, "ports": [{"port": 80}]}})
    k8s.NetworkingV1Api(sim.api("admin")).create_namespaced_ingress(project, {"metadata": {"name": o["ingress"]}, "spec": {
        "rules": [{"host": "am.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": o["service"], "port": {"number": 80}}}}]}}]}})
    o["by_kind"] = {"images": o["image"], "cluster-images": o["cluster_image"], "disks": o["disk"],
                    "disk-snapshots": o["disk_snapshot"], "vms": o["vm"], "vm-snapshots": o["vm_snapshot"],
                    "vm-ip-addresses": o["ip"], "services": o["service"], "ingresses": o["ingress"],
                    "usb-devices": o["usb"]}
    # What the forms need.
    o["sample_url"] = sample_url(sim)
    o["vm_version"] = get_dvp(sim, "virtualmachines", project, o["vm"])["metadata"]["resourceVersion"]
    current_sc = (get_dvp(sim, "virtualdisks", project, o["disk"]).get("status") or {}).get("storageClassName")
    o["other_storage_class"] = next(sc.metadata.name for sc in k8s.StorageV1Api(sim.api("admin"))
                                    .list_storage_class().items if sc.metadata.name != current_sc)

    def current(kind):
        resource = REGISTRY[kind]
        if kind in CORE_READERS:
            return core_objects(sim, kind, project)[o["by_kind"][kind]]
        if resource.kind.namespaced:
            return get_dvp(sim, resource.kind.plural, project, o["by_kind"][kind])
        return custom(sim).get_cluster_custom_object(GROUP, VERSION, resource.kind.plural, o["by_kind"][kind])
    o["current"] = current
    # The object of each System page (its generic routes are reversed with it), by its <section>/<slug>.
    o["vm_class"] = f"{project}-class"
    _create(sim, "virtualmachineclasses", None, "VirtualMachineClass", o["vm_class"], {"cpu": {"type": "Host"}})
    o["node"] = "virtlab-pt-3"
    o["by_kind"].update({"virtualization/cluster-images": o["cluster_image"], "virtualization/vm-classes": o["vm_class"],
                         "nodes/nodes": o["node"], "virtualization/virtual-machines": o["vm"],
                         "virtualization/migrations": o["migration"], "deckhouse/modules": "virtualization",
                         "multitenancy/projects": project, "virtualization/usb-devices": o["usb"]})
    o["vm_namespace"] = project
    yield o
    sim.control("feature-gates", {"USB": False})
    try:  # the project's own objects go with the project
        custom(sim).delete_cluster_custom_object(GROUP, VERSION, "clustervirtualimages", o["cluster_image"])
        custom(sim).delete_cluster_custom_object(GROUP, VERSION, "virtualmachineclasses", o["vm_class"])
    except ApiException as exc:
        if exc.status != 404:
            raise


# ---- the matrix --------------------------------------------------------------------------------------------------

GET, POST, GET_POST = ("GET",), ("POST",), ("GET", "POST")

# How the console refuses a viewer's mutation (see `viewer_outcome`).
API_REFUSAL = "422, the API's refusal shown"           # the form comes back with "... is forbidden: User ..."
CONSOLE_REFUSAL = "422, the console's refusal shown"   # checked before asking the API: "You may not ..."
UNSHOWN_REFUSAL = "422, the refusal not shown"         # refused, but the page shows the tab without the form
REDIRECT_REFUSAL = "302, the refusal in the messages"  # back to the page with "... was refused: ... forbidden"
SILENT_REDIRECT = "302, nothing done, nothing said"
FORBIDDEN = "403"


@dataclass(frozen=True)
class Row:
    """How to reach one URL pattern, and what it serves.

    kwargs: the URL's parameters besides `project`, as str.format templates over the objects ({vm}, {disk},
        ..., {object}: the kind's object, {kind}, {tab}, {stream}).
    methods: the methods the route serves. mutation: whether its POST changes the cluster.
    post: the form a POST sends: a valid one, accepted from the owner, so that a viewer is refused for want
        of rights and not for a bad form; a callable gets the objects (and the kind, on per-kind rows).
    query: the query string of a GET. owner_get: the status of the owner's GET.
    viewer_read: the status of a viewer's POST to a route that does not mutate.
    viewer: how a viewer's mutating POST is refused (a dict by kind on per-kind rows).
    xfail: {kind or "": reason} of known defects of the viewer's POST (the test is strict: fix, then remove).
    tab: its GET is a tab of the detail page (a link to it is no mutation control; its forms are).
    per_kind / per_tab / per_stream: expand over REGISTRY's slugs, each kind's tabs, CONSOLE_STREAMS;
        kinds: a predicate on the Resource keeping some kinds only.
    per_system_kind: expand over the System pages (system.registry.SYSTEM, by <section>/<slug>).
    project: False for the routes outside any project.
    system: a System route: project users (owner, member, viewer) get a 404 and nothing changes; the
        operator's GET answers 200.
    """
    kwargs: dict = field(default_factory=dict)
    methods: tuple = GET
    mutation: bool = False
    post: object = None
    query: dict = field(default_factory=dict)
    viewer: object = API_REFUSAL
    xfail: dict = field(default_factory=dict)
    tab: bool = False
    owner_get: int = 200
    viewer_read: int = 200
    per_kind: bool = False
    per_tab: bool = False
    per_stream: bool = False
    kinds: object = None
    project: bool = True
    per_system_kind: bool = False
    system: bool = False


def _image_form(source, extra=dict):
    return lambda o: {"name": f"{PREFIX}-new-image-{source}", "storage": "ContainerRegistry", **extra(o)}


def _cluster_image_form(source, extra=dict):
    return lambda o: {"name": f"{PREFIX}-new-cluster-image-{source}", **extra(o)}


def _spec_form(o, kind):
    obj = o["current"](kind)
    return {"spec": yaml.safe_dump(obj.get("spec") or {}, sort_keys=False),
            "resource_version": obj["metadata"]["resourceVersion"]}


def _yaml_form(o, kind):
    obj = o["current"](kind)
    obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    obj["metadata"].setdefault("labels", {})["matrix"] = "edited"
    text = yaml.safe_dump(obj, sort_keys=False)
    return {"action": "save", "text": text, "base": text}


def _vm_configuration(o):
    return {"resource_version": o["vm_version"], "vm_class": "generic", "cores": "1", "core_fraction": "10%",
            "memory": "2Gi", "run_policy": "Manual", "os_type": "Generic", "bootloader": "BIOS",
            "live_migration_policy": "PreferSafe", "paravirtualization": "on"}


def _system_form(what, extra=dict):
    return lambda o: {"name": f"{PREFIX}-system-{what}", **extra(o)}


SYSTEM_ROW = Row(project=False, system=True, owner_get=404)


def cluster_scoped(resource):
    return not resource.kind.namespaced


VM = {"name": "{vm}"}
VM_SNAPSHOT = {"name": "{vm}", "snapshot_name": "{vm_snapshot}"}
OF_KIND = {"resource": "{kind}", "name": "{object}"}
DISK_EXPORT = {"name": "{disk}", "export": "de-vd-{disk}-000000"}
SNAPSHOT_EXPORT = {"name": "{disk_snapshot}", "export": "de-vds-{disk_snapshot}-000000"}

# Routes open without a session: the ways in (portal.auth).
PUBLIC = {"login", "oidc_authentication_init", "oidc_authentication_callback"}

ROUTES = {
    # -- outside any project
    "home": Row(project=False, owner_get=302),  # to the projects
    "login": Row(project=False, methods=GET_POST, owner_get=302,  # a logged-in user is sent on
                 post={"username": "someone", "password": "wrong"}),
    "logout": Row(project=False, methods=POST),
    # OIDC's start and callback (portal.auth): 404 unless DVP_AUTH=oidc, open to anyone (tests/portal/test_oidc.py)
    "oidc_authentication_init": Row(project=False, owner_get=404),
    "oidc_authentication_callback": Row(project=False, owner_get=404),
    "projects:list": Row(project=False),
    "storage-classes": Row(project=False),
    # -- the project
    "projects:detail": Row(),
    # Create Image, one route per source; Create Cluster Image (the API refuses it to project users)
    "virtualization:image-create-http": Row(methods=GET_POST, mutation=True, post=_image_form(
        "http", lambda o: {"url": o["sample_url"]})),
    "virtualization:image-create-container-image": Row(methods=GET_POST, mutation=True, post=_image_form(
        "container-image", lambda o: {"image": "registry.example.com/images/ubuntu:24.04"})),
    "virtualization:image-create-upload": Row(methods=GET_POST, mutation=True, post=_image_form("upload")),
    "virtualization:image-create-disk": Row(methods=GET_POST, mutation=True, post=_image_form(
        "disk", lambda o: {"source_name": o["disk"]})),
    "virtualization:image-create-disk-snapshot": Row(methods=GET_POST, mutation=True, post=_image_form(
        "disk-snapshot", lambda o: {"source_name": o["disk_snapshot"]})),
    "virtualization:cluster-image-create-http": Row(methods=GET_POST, mutation=True, post=_cluster_image_form(
        "http", lambda o: {"url": o["sample_url"]})),
    "virtualization:cluster-image-create-container-image": Row(methods=GET_POST, mutation=True,
                                                               post=_cluster_image_form("container-image", lambda o: {
                                                                   "image": "registry.example.com/images/u:24.04"})),
    "virtualization:cluster-image-create-upload": Row(methods=GET_POST, mutation=True,
                                                      post=_cluster_image_form("upload")),
    # Disks and disk snapshots
    "virtualization:disk-create": Row(methods=GET_POST, mutation=True, post={
        "name": f"{PREFIX}-new-disk", "source": "blank", "size": "1Gi"}),
    # Network → Services and Ingresses
    "virtualization:service-create": Row(methods=GET_POST, mutation=True, post={
        "name": f"{PREFIX}-new-service", "type": "ClusterIP", "other_labels": "matrix=vm", "protocol": "TCP",
        "port": "80"}),
    "virtualization:ingress-create": Row(methods=GET_POST, mutation=True, post=lambda o: {
        "name": f"{PREFIX}-new-ingress", "host": "new.example.com", "path": "/", "path_type": "Prefix",
        "service": o["service"], "port": "80"}),
    "virtualization:disk-snapshot-create": Row(methods=GET_POST, mutation=True, post=lambda o: {
        "name": f"{PREFIX}-new-disk-snapshot", "disk": o["disk"]}),
    "virtualization:disk-resize": Row(kwargs={"name": "{disk}"}, methods=GET_POST, mutation=True,
                                      post={"size": "3Gi"}),
    # Download: a DataExport made as the user, refused by the API for a viewer, said on the download's page
    "virtualization:disk-download": Row(kwargs={"name": "{disk}"}, methods=POST, mutation=True, post={}),
    "virtualization:disk-snapshot-download": Row(kwargs={"name": "{disk_snapshot}"}, methods=POST, mutation=True,
                                                 post={}),
    # ... its page (the export's name given; here none exists: the page says it is gone), Cancel and the data
    "virtualization:disk-download-follow": Row(kwargs=DISK_EXPORT),
    "virtualization:disk-download-cancel": Row(kwargs=DISK_EXPORT, methods=POST, mutation=True, post={},
                                               viewer=REDIRECT_REFUSAL),
    "virtualization:disk-download-data": Row(kwargs=DISK_EXPORT, methods=POST, mutation=True, post={},
                                             viewer=SILENT_REDIRECT),
    "virtualization:disk-snapshot-download-follow": Row(kwargs=SNAPSHOT_EXPORT),
    "virtualization:disk-snapshot-download-cancel": Row(kwargs=SNAPSHOT_EXPORT, methods=POST, mutation=True, post={},
                                                        viewer=REDIRECT_REFUSAL),
    "virtualization:disk-snapshot-download-data": Row(kwargs=SNAPSHOT_EXPORT, methods=POST, mutation=True, post={},
                                                      viewer=SILENT_REDIRECT),
    "virtualization:disks-configuration-storage-class": Row(
        kwargs={"name": "{disk}"}, methods=POST, mutation=True,
        post=lambda o: {"storage_class": o["other_storage_class"]}, viewer=UNSHOWN_REFUSAL),
    # VMs
    "virtualization:vm-create": Row(methods=GET_POST, mutation=True, post=lambda o: {
        "name": f"{PREFIX}-new-vm", "vm_class": "generic", "cores": "1", "core_fraction": "10%", "memory": "1Gi",
        "run_policy": "AlwaysOff", "os_type": "Generic",
        "boot_disk": '{"mode": "existing", "name": "%s", "label": "%s"}' % (o["disk"], o["disk"])}),
    # "Add" of Boot Disks on Create VM checks the dialog and returns a row: it creates nothing.
    "virtualization:vm-boot-disk": Row(methods=POST, post=lambda o: {"mode": "existing", "existing": o["disk"]}),
    "virtualization:vm-bulk": Row(methods=POST, mutation=True, viewer=SILENT_REDIRECT, post=lambda o: {
        "action": "Start", "names": o["vm"], "confirmed": "1"}),
    "virtualization:vm-operation": Row(kwargs=VM, methods=GET_POST, mutation=True, query={"type": "Start"},
                                       post={"type": "Start"}, viewer=REDIRECT_REFUSAL),
    "virtualization:vm-cancel-migration": Row(kwargs={"name": "{vm}", "operation_name": "{migration}"},
                                              methods=GET_POST, mutation=True, post={}, viewer=REDIRECT_REFUSAL),
    "virtualization:vm-console-holder": Row(kwargs={"name": "{vm}", "tab": "{stream}"}, per_stream=True),
    "virtualization:vm-console-window": Row(kwargs={"name": "{vm}", "tab": "{stream}"}, per_stream=True),
    "virtualization:vms-configuration-save": Row(kwargs=VM, methods=POST, mutation=True, post=_vm_configuration),
    # "Review changes": the change list of the posted form, nothing saved.
    "virtualization:vms-configuration-review": Row(kwargs=VM, methods=POST, post=_vm_configuration),
    # The list of changes, refreshed while the Configuration form is edited: it reads only.
    "virtualization:vm-config-changes": Row(kwargs=VM, methods=POST, post=_vm_configuration),
    "virtualization:vms-disks-attach": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "device": f"VirtualDisk/{o['disk']}"}),
    "virtualization:vms-disks-add": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "resource_version": o["vm_version"], "device": f"VirtualDisk/{o['disk']}"}),
    # The matrix's VM has two boot disks and a hot-plugged one: each of these is a change the owner may make.
    "virtualization:vms-disks-up": Row(kwargs=VM, methods=POST, mutation=True, post={"index": "1"}),
    "virtualization:vms-disks-down": Row(kwargs=VM, methods=POST, mutation=True, post={"index": "0"}),
    "virtualization:vms-disks-remove": Row(kwargs=VM, methods=POST, mutation=True, post={"index": "1"}),
    "virtualization:vms-disks-resize": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "disk": o["boot"], "size": "3Gi"}),
    "virtualization:vms-disks-detach": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "attachment": o["attachment"]}),
    "virtualization:vms-placement-save": Row(kwargs=VM, methods=POST, mutation=True, post={
        "selector_key": "matrix", "selector_value": "edited"}),
    "virtualization:vms-placement-review": Row(kwargs=VM, methods=POST, post={
        "selector_key": "matrix", "selector_value": "edited"}),
    "virtualization:vms-network-static-ip": Row(kwargs=VM, methods=POST, mutation=True, post={
        "static_ip": "10.66.20.77"}),
    "virtualization:vms-network-keep-ip": Row(kwargs=VM, methods=POST, mutation=True, post={}),
    "virtualization:vms-network-add-network": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "network_type": "Network", "network_name": o["network"]}),
    # The steps the Network tab takes by itself after a static IP request; with no request of the VM's to act on,
    # assigning says so and withdrawing does nothing.
    "virtualization:vms-network-assign-ip": Row(kwargs=VM, methods=POST, mutation=True, post={"vmip": f"{PREFIX}-ip"},
                                                viewer=UNSHOWN_REFUSAL),
    "virtualization:vms-network-discard-ip": Row(kwargs=VM, methods=POST, mutation=True, post={"vmip": f"{PREFIX}-ip"},
                                                 viewer=SILENT_REDIRECT),
    # The USB tab: the project's free device attached, the VM's device detached (spec.usbDevices, as the user)
    "virtualization:vms-usb-attach": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "usb_device": o["usb_free"]}),
    "virtualization:vms-usb-detach": Row(kwargs=VM, methods=POST, mutation=True, post=lambda o: {
        "usb_device": o["usb"]}),
    "virtualization:vm-snapshot-create": Row(kwargs=VM, methods=GET_POST, mutation=True, post={
        "name": f"{PREFIX}-new-vm-snapshot", "keep_ip": "Never"}),
    "virtualization:vm-snapshot-restore": Row(kwargs=VM_SNAPSHOT, methods=GET_POST, mutation=True, post={
        "mode": "BestEffort"}, viewer=REDIRECT_REFUSAL),
    "virtualization:vm-snapshot-dry-run": Row(kwargs=VM_SNAPSHOT, methods=POST, mutation=True, post={},
                                              viewer=REDIRECT_REFUSAL),
    "virtualization:vm-snapshot-create-vm": Row(kwargs=VM_SNAPSHOT, methods=GET_POST, mutation=True, post={
        "name_suffix": "-matrix", "mode": "Strict"}),
    "virtualization:vm-snapshot-delete": Row(kwargs=VM_SNAPSHOT, methods=GET_POST, mutation=True, post={},
                                             viewer=REDIRECT_REFUSAL),
    # The generic routes of every kind
    "virtualization:list": Row(kwargs={"resource": "{kind}"}, per_kind=True),
    "virtualization:detail": Row(kwargs=OF_KIND, per_kind=True),
    "virtualization:status": Row(kwargs=OF_KIND, per_kind=True),
    "virtualization:delete": Row(kwargs=OF_KIND, per_kind=True, methods=GET_POST, mutation=True, post={},
                                 viewer=FORBIDDEN),
    "virtualization:yaml-edit": Row(kwargs=OF_KIND, per_kind=True),
    # Review is the API's dry run of the edit: nothing saved; a viewer is told first that they may not change.
    "virtualization:yaml-review": Row(kwargs=OF_KIND, per_kind=True, methods=POST, post=_yaml_form, viewer_read=422),
    "virtualization:yaml-save": Row(kwargs=OF_KIND, per_kind=True, methods=POST, mutation=True, post=_yaml_form,
                                    viewer=CONSOLE_REFUSAL),
    # Rebase puts the edit on the latest version, nothing saved; a viewer is told first that they may not change.
    "virtualization:yaml-rebase": Row(kwargs=OF_KIND, per_kind=True, methods=POST, post=_yaml_form, viewer_read=422),
    "virtualization:vms-meta-save": Row(kwargs=VM, methods=POST, mutation=True, post={
        "labels-count": "1", "labels-key-0": "matrix", "labels-value-0": "edited"}),
    "virtualization:images-configuration-save": Row(kwargs={"name": "{image}"}, methods=POST, mutation=True,
                                                    post=lambda o: _spec_form(o, "images"), viewer=UNSHOWN_REFUSAL),
    "virtualization:cluster-images-configuration-save": Row(
        kwargs={"name": "{cluster_image}"}, methods=POST, mutation=True,
        post=lambda o: _spec_form(o, "cluster-images"), viewer=UNSHOWN_REFUSAL),
    "virtualization:detail-tab": Row(kwargs={**OF_KIND, "tab": "{tab}"}, per_kind=True, per_tab=True),
    # -- the System section (cluster-scoped; operators only)
    "system:home": SYSTEM_ROW,
    "system:list": replace(SYSTEM_ROW, kwargs={"resource": "{kind}"}, per_system_kind=True),
    # the generic object pages serve the cluster-scoped kinds (the namespaced ones link to their projects)
    "system:detail": replace(SYSTEM_ROW, kwargs=OF_KIND, per_system_kind=True, kinds=cluster_scoped),
    "system:status": replace(SYSTEM_ROW, kwargs=OF_KIND, per_system_kind=True, kinds=cluster_scoped),
    "system:detail-tab": replace(SYSTEM_ROW, kwargs={**OF_KIND, "tab": "{tab}"}, per_system_kind=True,
                                 per_tab=True, kinds=cluster_scoped),
    "system:delete": replace(SYSTEM_ROW, kwargs=OF_KIND, per_system_kind=True, methods=GET_POST, mutation=True,
                             post={}, kinds=cluster_scoped),
    "system:vm-migrate": replace(SYSTEM_ROW, kwargs={"project": "{vm_namespace}", "name": "{vm}"}, methods=GET_POST,
                                 mutation=True, post={}),
    "system:migration-cancel": replace(SYSTEM_ROW, kwargs={"project": "{vm_namespace}", "name": "{migration}"},
                                       methods=POST, mutation=True, post={}),
    "system:cluster-image-create-http": replace(SYSTEM_ROW, methods=GET_POST, mutation=True,
                                                post=_system_form("cvi-http", lambda o: {"url": o["sample_url"]})),
    "system:cluster-image-create-container-image": replace(
        SYSTEM_ROW, methods=GET_POST, mutation=True,
        post=_system_form("cvi-ci", lambda o: {"image": "registry.example.com/img:1"})),
    "system:vm-class-create": replace(SYSTEM_ROW, methods=GET_POST, mutation=True, post={
        "name": f"{PREFIX}-system-class", "cpu_type": "Host", "policy-count": "0"}),
    "system:vm-class-edit": replace(SYSTEM_ROW, kwargs={"name": "{vm_class}"}, methods=GET_POST, mutation=True,
                                    post=lambda o: {"default": "", "selector-count": "1",
                                                    "selector-0-key": "matrix", "selector-0-operator": "Exists"}),
    "system:nodes-vms-cordon-drain": replace(SYSTEM_ROW, kwargs={"name": "{node}"}, methods=POST, mutation=True,
                                             post={}),
    "system:nodes-vms-uncordon": replace(SYSTEM_ROW, kwargs={"name": "{node}"}, methods=POST, mutation=True, post={}),
    "system:modules-configuration-save": replace(SYSTEM_ROW, kwargs={"name": "virtualization"}, methods=POST,
                                                 mutation=True, post={"virtualMachineCIDRs": "10.99.0.0/24"}),
    "system:project-create": replace(SYSTEM_ROW, methods=GET_POST, mutation=True, post={
        "name": f"{PREFIX}-system-project", "template": "default"}),
    "system:projects-members-add": replace(SYSTEM_ROW, kwargs={"name": "{vm_namespace}"}, methods=POST, mutation=True,
                                           post={"subject_kind": "User", "subject": "matrix", "role": "viewer"}),
    "system:projects-members-remove": replace(SYSTEM_ROW, kwargs={"name": "{vm_namespace}"}, methods=POST,
                                              mutation=True, post={"binding": "matrix"}),
    "system:usb-devices-project-assign": replace(SYSTEM_ROW, kwargs={"name": "{usb_free}"}, methods=POST,
                                                 mutation=True, post=lambda o: {"project": o["vm_namespace"]}),
    "system:usb-devices-project-unassign": replace(SYSTEM_ROW, kwargs={"name": "{usb}"}, methods=POST, mutation=True,
                                                   post={}),
    "system:cluster-image-create-upload": replace(SYSTEM_ROW, methods=GET_POST, mutation=True,
                                                  post=_system_form("cvi-upload")),
}


# ---- the URL patterns and the cases ------------------------------------------------------------------------------

def url_patterns():
    """{full name: (route, {parameters})} of every URL pattern, includes recursed; unnamed ones by their route."""
    found = {}

    def walk(resolver, prefix, namespace, params):
        for p in resolver.url_patterns:
            route, names = prefix + str(p.pattern), params | set(getattr(p.pattern, "converters", {}))
            if isinstance(p, URLResolver):
                walk(p, route, ":".join(x for x in (namespace, p.namespace) if x), names)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                found[name or f"<unnamed pattern {route}>"] = (route, names)
    walk(get_resolver(), "", "", set())
    return found


@dataclass(frozen=True)
class Case:
    name: str  # the full route name
    row: Row
    kind: str = ""
    tab: str = ""
    stream: str = ""

    @property
    def id(self):
        extra = ",".join(x for x in (self.kind, self.tab, self.stream) if x)
        return f"{self.name}[{extra}]" if extra else self.name

    def url(self, project, o):
        values = {**{k: v for k, v in o.items() if isinstance(v, str)}, "kind": self.kind, "tab": self.tab,
                  "stream": self.stream, "object": o["by_kind"].get(self.kind, "")}
        if self.kind and not values["object"]:
            pytest.fail(f"The access matrix has no object of the kind {self.kind!r}: add one to `objects`")
        kwargs = {k: v.format(**values) for k, v in self.row.kwargs.items()}
        return reverse(self.name, kwargs={"project": project, **kwargs} if self.row.project else kwargs)

    def form(self, o):
        post = self.row.post
        if callable(post):
            return post(o, self.kind) if self.row.per_kind else post(o)
        return dict(post or {})

    @property
    def viewer(self):
        return self.row.viewer[self.kind] if isinstance(self.row.viewer, dict) else self.row.viewer


def cases():
    get_resolver().url_patterns  # the URLconf registers the kinds
    out = []
    for name, row in ROUTES.items():
        kinds = [s for s, r in REGISTRY.items() if row.kinds is None or row.kinds(r)] if row.per_kind else \
            [s for s, r in SYSTEM.items() if row.kinds is None or row.kinds(r)] if row.per_system_kind else [""]
        for kind in kinds:
            for tab in ((SYSTEM if row.per_system_kind else REGISTRY)[kind].tab_keys if row.per_tab else [""]):
                for stream in (CONSOLE_STREAMS if row.per_stream else [""]):
                    out.append(Case(name, row, kind, tab, stream))
    return out


CASES = cases()
PROJECT_CASES = [c for c in CASES if c.row.project]
SYSTEM_CASES = [c for c in CASES if c.row.system]
BY_ID = {c.id: c for c in CASES}


def params(cases_, method=None, mutation=None, xfail=False):
    out = []
    for c in cases_:
        if (method and method not in c.row.methods) or (mutation is not None and c.row.mutation != mutation):
            continue
        reason = c.row.xfail.get(c.kind) if xfail else None
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def test_it_has_a_row_for_every_url_pattern_and_no_row_without_one():
    patterns = url_patterns()
    missing = sorted(set(patterns) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(patterns))
    assert not missing, ("URL patterns without a row in the access matrix (ROUTES in "
                         f"tests/security/test_access_matrix.py): {', '.join(f'{n} ({patterns[n][0]})' for n in missing)}")
    assert not stale, f"Rows of the access matrix whose URL pattern no longer exists: {', '.join(stale)}"


@pytest.mark.parametrize("case", params(CASES))
def test_it_reverses_each_row_with_exactly_the_parameters_of_its_pattern(case):
    route, names = url_patterns()[case.name]
    given = set(case.row.kwargs) | ({"project"} if case.row.project else set())
    assert given == names, f"{case.name} ({route}) takes {sorted(names)}; its row gives {sorted(given)}"
    if "POST" in case.row.methods:
        assert case.row.post is not None or not case.row.mutation, f"{case.name}: the row needs the form it posts"


def test_it_covers_every_kind_and_every_tab():
    assert {(c.kind, c.tab) for c in CASES if c.name == "virtualization:detail-tab"} == \
        {(s, t) for s, r in REGISTRY.items() for t in r.tab_keys}
    for name in ("virtualization:list", "virtualization:detail", "virtualization:status", "virtualization:delete",
                 "virtualization:yaml-edit", "virtualization:yaml-review", "virtualization:yaml-save",
                 "virtualization:yaml-rebase"):
        assert {c.kind for c in CASES if c.name == name} == set(REGISTRY), name


# ---- clients and the state of the cluster ------------------------------------------------------------------------

@pytest.fixture
def as_cast(db, django_user_model, cast):
    """as_cast("owner" | "viewer" | "outsider", **Client options): a client logged in as that member of the cast."""
    def client_of(role, **options):
        client = Client(**options)
        client.force_login(django_user_model.objects.get_or_create(username=getattr(cast, role))[0])
        return client
    return client_of


NAMESPACED_PLURALS = ("virtualimages", "virtualdisks", "virtualdisksnapshots", "virtualmachines",
                      "virtualmachinesnapshots", "virtualmachineoperations", "virtualmachinesnapshotoperations",
                      "virtualmachineblockdeviceattachments", "virtualmachineipaddresses")


# The Kubernetes kinds of the project's pages, read as JSON (as the API sends them) by their list call.
CORE_READERS = {"services": lambda api, ns: k8s.CoreV1Api(api).list_namespaced_service(ns),
                "ingresses": lambda api, ns: k8s.NetworkingV1Api(api).list_namespaced_ingress(ns)}


def core_objects(sim, slug, project):
    api = sim.api("admin")
    return {obj["metadata"]["name"]: obj
            for obj in api.sanitize_for_serialization(CORE_READERS[slug](api, project)).get("items", [])}


def cluster_state(sim, project):
    """What a mutation would change: every DVP object of the project and every cluster image, and the project's
    Services and Ingresses, by spec, labels, annotations, owners and deletion mark (the status is the controllers'
    and may move)."""
    lists = [(p, list_dvp(sim, p, project)) for p in NAMESPACED_PLURALS]
    lists += [(slug, list(core_objects(sim, slug, project).values())) for slug in CORE_READERS]
    lists.append(("clustervirtualimages", custom(sim).list_cluster_custom_object(
        GROUP, VERSION, "clustervirtualimages")["items"]))
    lists.append(("virtualmachineclasses", custom(sim).list_cluster_custom_object(
        GROUP, VERSION, "virtualmachineclasses")["items"]))
    return {(plural, obj["metadata"]["name"]): (
        obj.get("spec"), obj["metadata"].get("labels"), obj["metadata"].get("annotations"),
        obj["metadata"].get("ownerReferences"), obj["metadata"].get("deletionTimestamp"))
        for plural, items in lists for obj in items}


def changes(before, after):
    return sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))


def send(client, method, case, project, o):
    url = case.url(project, o)
    return client.post(url, case.form(o)) if method == "POST" else client.get(url, case.row.query)


# ---- outsider and anonymous --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", params(PROJECT_CASES))
def test_it_hides_the_project_from_an_outsider(case, method, as_cast, sim, project, objects):
    """404 as for a project that does not exist; for a method the route does not serve, the 405 any project
    gets is allowed too. The POSTs carry the same valid forms as the viewer's, and change nothing."""
    before = cluster_state(sim, project) if method == "POST" else None
    response = send(as_cast("outsider"), method, case, project, objects)
    allowed = (404,) if method in case.row.methods else (404, 405)
    assert response.status_code in allowed, f"{method} {case.id} answered an outsider {response.status_code}"
    if before is not None:
        assert changes(before, cluster_state(sim, project)) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", params([c for c in CASES if c.name not in PUBLIC]))
def test_it_sends_an_anonymous_visitor_to_the_login_page(case, method, project, objects, db):
    response = send(Client(), method, case, project, objects)
    assert response.status_code == 302, f"{method} {case.id}: {response.status_code}"
    assert response["Location"].startswith(reverse("login") + "?next="), response["Location"]


def test_it_lists_the_project_for_its_cast_only(as_cast, project, objects):
    assert f'href="{reverse("projects:detail", args=[project])}"' in as_cast("owner").get(
        reverse("projects:list")).content.decode()
    assert f'href="{reverse("projects:detail", args=[project])}"' in as_cast("viewer").get(
        reverse("projects:list")).content.decode()
    outsider = as_cast("outsider").get(reverse("projects:list"))
    assert outsider.status_code == 200
    assert project not in outsider.content.decode()


def test_it_lets_anyone_see_the_login_page_and_logs_out_on_post(as_cast, db):
    assert Client().get(reverse("login")).status_code == 200
    owner = as_cast("owner")
    assert owner.get(reverse("login")).status_code == 302  # already logged in
    response = owner.post(reverse("logout"))
    assert response.status_code in (200, 302)
    assert owner.get(reverse("projects:list")).status_code == 302  # the session is gone
    assert as_cast("owner").get(reverse("logout")).status_code == 405  # logging out is a POST only


# ---- viewer ------------------------------------------------------------------------------------------------------

def viewer_outcome(response, username):
    """How the console answered a viewer's mutation, in the words of the Row.viewer constants."""
    flashed = list(get_messages(response.wsgi_request))
    if any(m.level == message_levels.SUCCESS for m in flashed):
        return f"{response.status_code}, success: {[str(m) for m in flashed]}"
    if response.status_code in (403, 404):
        return str(response.status_code)
    if response.status_code == 302:
        if any(m.level == message_levels.ERROR and "refused" in str(m) and f'User "{username}" cannot' in str(m)
               for m in flashed):
            return REDIRECT_REFUSAL
        return SILENT_REDIRECT if not flashed else f"302, {[str(m) for m in flashed]}"
    page = response.content.decode()
    if response.status_code == 422:
        if f"is forbidden: User &quot;{username}&quot; cannot" in page:
            return API_REFUSAL
        if re.search(r'role="alert">(<p>)?You may not change', page):
            return CONSOLE_REFUSAL
        return UNSHOWN_REFUSAL
    return str(response.status_code)


@pytest.mark.parametrize("case", params(PROJECT_CASES, "POST", mutation=True, xfail=True))
def test_it_refuses_every_mutation_to_a_viewer(case, as_cast, cast, sim, project, objects):
    before = cluster_state(sim, project)
    response = as_cast("viewer").post(case.url(project, objects), case.form(objects))
    assert changes(before, cluster_state(sim, project)) == [], f"POST {case.id} as a viewer changed the cluster"
    assert viewer_outcome(response, cast.viewer) == case.viewer


@pytest.mark.parametrize("case", params(PROJECT_CASES, "POST", mutation=False))
def test_it_lets_a_viewer_post_what_only_reads(case, as_cast, sim, project, objects):
    before = cluster_state(sim, project)
    response = as_cast("viewer").post(case.url(project, objects), case.form(objects))
    assert response.status_code == case.row.viewer_read
    assert changes(before, cluster_state(sim, project)) == []


# Submit buttons that post a form for a look only (the change is not applied): Review, Preview, Add a row.
LOOK_ONLY_SUBMITS = {"review", "preview", "add"}


class Controls(HTMLParser):
    """The enabled links of a page's <main>, and where each enabled submit button of its POST forms posts to
    (its formaction, else its form's action, else the page)."""

    def __init__(self, page_path):
        super().__init__()
        self.page_path, self.links, self.submits, self._form, self._in_main = page_path, [], [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in_main = self._in_main or tag == "main"
        if not self._in_main:
            return
        if "disabled" not in a and tag != "form" and a.get("name") not in LOOK_ONLY_SUBMITS:  # a form: by its buttons
            self.links += [(attribute, a[attribute]) for attribute in ("href", "hx-get", "hx-post") if a.get(attribute)]
        if tag == "form":
            post = (a.get("method") or "").lower() == "post"
            self._form = (a.get("action") or self.page_path) if post else None
        submit = (tag == "button" and a.get("type", "submit") == "submit") or (tag == "input" and a.get("type") == "submit")
        if self._form is not None and submit and "disabled" not in a and a.get("name") not in LOOK_ONLY_SUBMITS:
            self.submits.append(a.get("formaction") or self._form)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def mutation_controls(page, page_path):
    """The enabled controls of a page that lead to a mutation: links to a mutating route's page (not to a tab)
    and enabled submit buttons that post to a mutating route."""
    def mutating(url, form=False):
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            return False
        row = ROUTES.get(match.view_name)
        return row is not None and row.mutation and (form or not row.tab)
    parser = Controls(page_path)
    parser.feed(page)
    return [f"{attribute}={url}" for attribute, url in parser.links if mutating(url)] + \
        [f"an enabled submit button posting to {url}" for url in parser.submits if mutating(url, form=True)]


# The pages that still offer a viewer an enabled control for a mutation (the POST is refused all the same):
# strict xfails, to be removed as the pages learn to disable them.
OPEN_FORM = "the form's submit button is enabled for a viewer (the page does not ask for the right first)"
OPEN_TO_A_VIEWER = {
    **{c.id: OPEN_FORM for c in CASES if c.row.project and c.name.endswith(("-create", "create-http",
                                                                           "create-container-image",
                                                                           "create-upload", "create-disk",
                                                                           "create-disk-snapshot"))
       and c.name not in ("virtualization:vm-snapshot-create", "virtualization:service-create",
                          "virtualization:ingress-create")},
    **{c.id: "the Delete confirmation's button is enabled for a viewer" for c in CASES
       if c.name == "virtualization:delete"},
    "virtualization:disk-resize": OPEN_FORM,
    "virtualization:vm-cancel-migration": OPEN_FORM,
    "virtualization:vm-snapshot-create": OPEN_FORM + ", under its warning 'You may not create VM snapshots here'",
    "virtualization:detail[disk-snapshots]": "'Create a disk from this snapshot' is an enabled link for a viewer",
    "virtualization:detail-tab[disk-snapshots,overview]": "'Create a disk from this snapshot' is an enabled link "
                                                          "for a viewer",
}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(
    reason=OPEN_TO_A_VIEWER[c.id], strict=True)] if OPEN_TO_A_VIEWER.get(c.id) else [])
    for c in PROJECT_CASES if "GET" in c.row.methods])
def test_it_offers_a_viewer_no_enabled_control_for_a_mutation(case, as_cast, project, objects):
    """On every GET page of the project: no link to a mutation's page and no enabled submit of a form that
    posts a mutation (the console shows such controls disabled, naming the right that is missing)."""
    url = case.url(project, objects)
    response = as_cast("viewer").get(url, case.row.query)
    assert response.status_code in (200, 302)
    assert mutation_controls(response.content.decode(), url) == []


# The owner's pages that show mutation controls: the detector above can see them.
OWNER_CONTROLS = ["virtualization:list[vms]", "virtualization:list[images]", "virtualization:detail[vms]",
                  "virtualization:detail-tab[disks,configuration]", "virtualization:detail-tab[vms,meta]",
                  "virtualization:detail-tab[vms,yaml]", "virtualization:detail-tab[vms,disks]",
                  "virtualization:detail-tab[vms,snapshots]", "virtualization:image-create-http",
                  "virtualization:vm-snapshot-delete"]


@pytest.mark.parametrize("case_id", OWNER_CONTROLS)
def test_it_offers_the_owner_the_controls_a_viewer_lacks(case_id, as_cast, project, objects):
    case = BY_ID[case_id]
    url = case.url(project, objects)
    assert mutation_controls(as_cast("owner").get(url, case.row.query).content.decode(), url) != []


# ---- CSRF --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(CASES, "POST"))
def test_it_refuses_a_post_without_the_csrf_token(case, as_cast, sim, project, objects):
    before = cluster_state(sim, project) if case.row.mutation else None
    response = as_cast("owner", enforce_csrf_checks=True).post(case.url(project, objects), case.form(objects))
    assert response.status_code == 403, f"POST {case.id} without a CSRF token: {response.status_code}"
    assert b"CSRF" in response.content
    if before is not None:
        assert changes(before, cluster_state(sim, project)) == []


# ---- owner -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(CASES, "GET"))
def test_it_answers_every_get_of_the_owner(case, as_cast, project, objects):
    response = as_cast("owner").get(case.url(project, objects), case.row.query)
    assert response.status_code == case.row.owner_get, f"GET {case.id} as the owner: {response.status_code}"


# ---- the System section -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", params(SYSTEM_CASES))
def test_it_shows_project_users_nothing_of_a_system_route(case, method, role, as_cast, sim, project, objects):
    """A project user who guesses a System URL gets the 404 of a page that does not exist (405 for a method the
    route does not serve), the same valid forms the operator's would be change nothing."""
    before = cluster_state(sim, project) if method == "POST" else None
    response = send(as_cast(role), method, case, project, objects)
    assert response.status_code in ((404,) if method in case.row.methods else (404, 405)), \
        f"{method} {case.id} answered the {role} {response.status_code}"
    if before is not None:
        assert changes(before, cluster_state(sim, project)) == []


@pytest.mark.parametrize("case", params(SYSTEM_CASES, "GET"))
def test_it_answers_every_system_get_of_the_operator(case, as_cast, project, objects):
    response = as_cast("operator").get(case.url(project, objects), case.row.query)
    assert response.status_code == 200, f"GET {case.id} as the operator: {response.status_code}"


# ---- the WebSocket routes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SocketRow:
    """How to reach one WebSocket route (virtualization/routing.py): its path's parameters, str.format templates
    over the objects ({kind}: a System page's slug, {object}: its object); system: a System socket, opened to the
    operator only (per_system_kind: expanded over the System pages whose kind `kinds` keeps); else a project's,
    refused to an outsider. operator_opens: whether the operator's socket is accepted as such (an upload socket
    waits for an object to upload to)."""
    kwargs: dict
    system: bool = False
    per_system_kind: bool = False
    kinds: object = None
    operator_opens: bool = True


SOCKETS = {
    "live-list": SocketRow({"project": "{project}", "slug": "vms"}),
    "live-detail": SocketRow({"project": "{project}", "slug": "vms", "name": "{vm}"}),
    "console": SocketRow({"project": "{project}", "name": "{vm}"}),
    "vnc": SocketRow({"project": "{project}", "name": "{vm}"}),
    "upload": SocketRow({"project": "{project}", "slug": "images", "name": "{image}"}),
    "system-live-list": SocketRow({"slug": "{kind}"}, system=True, per_system_kind=True),
    "system-live-detail": SocketRow({"slug": "{kind}", "name": "{object}"}, system=True, per_system_kind=True,
                                    kinds=cluster_scoped),
    "system-upload": SocketRow({"slug": "cluster-images", "name": "{cluster_image}"}, system=True,
                               operator_opens=False),
}


def socket_cases(system):
    out = []
    for name, row in SOCKETS.items():
        if row.system != system:
            continue
        paths = [p for p, r in SYSTEM.items() if row.kinds is None or row.kinds(r)] if row.per_system_kind else [""]
        out += [pytest.param(name, path, id=f"{name}[{path}]" if path else name) for path in paths]
    return out


def socket_path(name, kind_path, project, o):
    values = {**{k: v for k, v in o.items() if isinstance(v, str)}, "project": project,
              "kind": SYSTEM[kind_path].slug if kind_path else "", "object": o["by_kind"].get(kind_path, "")}
    if "{object}" in SOCKETS[name].kwargs.values() and not values["object"]:
        pytest.fail(f"The access matrix has no object of the kind {kind_path!r}: add one to `objects`")
    from portal.htmx import ws_path
    return ws_path(name, **{k: v.format(**values) for k, v in SOCKETS[name].kwargs.items()})


async def refused(path, username):
    """Whether the socket is refused: closed before it is accepted, or (upload sockets, which say why) accepted
    only to send a 403/404 error and close."""
    import json

    from tests.websockets import connect
    communicator, connected = await connect(path, username)
    if not connected:
        return True
    try:
        message = json.loads(await communicator.receive_from(timeout=10))
    finally:
        await communicator.disconnect()
    return message.get("status") in (403, 404) and "error" in message


def test_it_has_a_row_for_every_websocket_route():
    from virtualization.routing import websocket_urlpatterns
    assert {p.name for p in websocket_urlpatterns} == set(SOCKETS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name,kind_path", socket_cases(system=True))
async def test_it_refuses_system_sockets_to_project_users_and_opens_them_to_the_operator(name, kind_path, cast,
                                                                                          project, objects):
    path = socket_path(name, kind_path, project, objects)
    for role in ("owner", "member", "viewer"):
        assert await refused(path, getattr(cast, role)), f"{path} opened to the {role}"
    if SOCKETS[name].operator_opens:
        from tests.websockets import connect
        communicator, connected = await connect(path, cast.operator)
        assert connected, f"{path} refused to the operator"
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name,kind_path", socket_cases(system=False))
async def test_it_refuses_project_sockets_to_an_outsider(name, kind_path, cast, project, objects):
    assert await refused(socket_path(name, kind_path, project, objects), cast.outsider)
