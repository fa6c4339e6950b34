"""Every setting of the `virtualization` ModuleConfig that the console's Configuration form offers has its effect in
dvpsim: virtualMachineCIDRs is where new VMs' addresses come from, the default storage classes of disks and images,
the image storage's volume (dvcr.storage) and the audit component; and the other modules the admin guide names have
a ModuleConfig whose settings are accepted. One cluster for the module (its settings change under the others)."""
import ipaddress

import pytest
from kubernetes import client

from tests.conftest import start_sim, stop_sim
from tests.kube import GROUP, VERSION, blank_disk, custom, fresh_namespace, wait_for

MC = ("deckhouse.io", "v1alpha1", "moduleconfigs")


@pytest.fixture(scope="module")
def sim():
    sim = start_sim()
    yield sim
    stop_sim(sim)


def settings(sim, **changes):
    custom(sim).patch_cluster_custom_object(*MC, "virtualization", {"spec": {"settings": changes}})


def status_of(sim, namespace, plural, name, field):
    return wait_for(lambda: (custom(sim).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
                             .get("status") or {}).get(field), 30)


def test_it_gives_new_vms_addresses_of_the_subnet_listed_first(sim):
    namespace = fresh_namespace(sim, "cidr")
    cidrs = custom(sim).get_cluster_custom_object(*MC, "virtualization")["spec"]["settings"]["virtualMachineCIDRs"]
    settings(sim, virtualMachineCIDRs=["10.77.40.0/24", *cidrs])
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, namespace, "virtualmachineipaddresses",
                                                {"metadata": {"name": "new"}, "spec": {"type": "Auto"}})
    address = status_of(sim, namespace, "virtualmachineipaddresses", "new", "address")
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.77.40.0/24")


def test_it_gives_new_disks_and_images_the_configured_storage_classes(sim):
    namespace = fresh_namespace(sim, "sc")
    settings(sim, virtualDisks={"defaultStorageClassName": "i-sds-replicated-thin-r2"},
             virtualImages={"defaultStorageClassName": "i-sds-replicated-thin-r3"})
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, namespace, "virtualdisks", blank_disk("plain"))
    assert status_of(sim, namespace, "virtualdisks", "plain", "storageClassName") == "i-sds-replicated-thin-r2"
    custom(sim).create_namespaced_custom_object(GROUP, VERSION, namespace, "virtualimages", {
        "metadata": {"name": "on-pvc"}, "spec": {"storage": "PersistentVolumeClaim", "dataSource": {
            "type": "HTTP", "http": {"url": f"{sim.url}/dvpsim/samples/alpine-virt.qcow2"}}}})
    assert status_of(sim, namespace, "virtualimages", "on-pvc", "storageClassName") == "i-sds-replicated-thin-r3"


def test_it_sizes_the_image_storage_volume_and_grows_it(sim):
    core = client.CoreV1Api(sim.api())
    volume = wait_for(lambda: next(iter(core.list_namespaced_persistent_volume_claim(
        "d8-virtualization", field_selector="metadata.name=dvcr").items), None))
    assert volume.spec.resources.requests["storage"] == "50G"
    assert volume.spec.storage_class_name == "i-sds-replicated-thin-r1"
    settings(sim, dvcr={"storage": {"type": "PersistentVolumeClaim", "persistentVolumeClaim": {
        "size": "80G", "storageClassName": "i-sds-replicated-thin-r1"}}})
    wait_for(lambda: core.read_namespaced_persistent_volume_claim("dvcr", "d8-virtualization")
             .spec.resources.requests["storage"] == "80G")
    settings(sim, dvcr={"storage": {"persistentVolumeClaim": {"size": "10G"}}})  # a volume never shrinks
    assert core.read_namespaced_persistent_volume_claim("dvcr", "d8-virtualization").spec.resources.requests[
        "storage"] == "80G"


def test_it_runs_the_audit_component_only_while_audit_is_enabled(sim):
    apps = client.AppsV1Api(sim.api())
    present = lambda: [d.metadata.name for d in apps.list_namespaced_deployment(  # noqa: E731
        "d8-virtualization").items if d.metadata.name == "virtualization-audit"]
    assert not present()
    settings(sim, audit={"enabled": True})
    wait_for(present)
    settings(sim, audit={"enabled": False})
    wait_for(lambda: not present())


@pytest.mark.parametrize("module, settings_", [("descheduler", {}), ("log-shipper", {}),
                                               ("runtime-audit-engine", {}),
                                               ("control-plane-manager", {"apiserver": {"auditPolicyEnabled": True}}),
                                               ("node-manager", {})])
def test_it_has_the_modules_the_admin_guide_names(module, settings_, sim):
    custom(sim).patch_cluster_custom_object(*MC, module, {"spec": {"enabled": True, "settings": settings_}})
    config = custom(sim).get_cluster_custom_object(*MC, module)
    assert config["spec"]["enabled"] is True and config["spec"]["settings"] == settings_
