"""DVP's admission rules as the API answers them: 422 with field causes, 403 for webhook denials."""

import json

import pytest
from kubernetes import client

from tests.kube import Dvp, blank_disk, condition, fresh_namespace, http_image, vm_body


@pytest.fixture(scope="module")
def dvp(sim):
    return Dvp(sim, fresh_namespace(sim, "admission"))


def rejected(call, *args):
    with pytest.raises(client.ApiException) as info:
        call(*args)
    body = json.loads(info.value.body)
    return info.value.status, body


def causes(body):
    return {(c.get("field"), c["message"]) for c in body.get("details", {}).get("causes", [])}


def assert_cause(body, field, text):
    assert any(f == field and text in m for f, m in causes(body)), causes(body)


# ---- virtual machines ------------------------------------------------------------------------

def test_it_limits_vm_names_to_63_characters(dvp):
    status, body = rejected(dvp.create, "virtualmachines", vm_body("v" * 64))
    assert status == 403
    assert "no more than 63 characters" in body["message"]


def test_it_requires_cores_memory_and_block_devices(dvp):
    body_ = vm_body("incomplete")
    body_["spec"]["cpu"]["cores"] = 0
    del body_["spec"]["memory"]
    body_["spec"]["blockDeviceRefs"] = []
    status, body = rejected(dvp.create, "virtualmachines", body_)
    assert (status, body["reason"]) == (422, "Invalid")
    assert_cause(body, "spec.cpu.cores", "should be greater than or equal to 1")
    assert_cause(body, "spec.memory", "Required value")
    assert_cause(body, "spec.blockDeviceRefs", "at least 1 items")


def test_it_checks_memory_quantities_and_block_device_kinds(dvp):
    body_ = vm_body("odd", memory="lots")
    body_["spec"]["blockDeviceRefs"] = [{"kind": "Floppy", "name": "a"}] + \
        [{"kind": "VirtualDisk", "name": f"d{i}"} for i in range(16)]
    status, body = rejected(dvp.create, "virtualmachines", body_)
    assert status == 422
    assert_cause(body, "spec.memory.size", "should match")
    assert_cause(body, "spec.blockDeviceRefs[0].kind", 'Unsupported value: "Floppy"')
    assert_cause(body, "spec.blockDeviceRefs", "must have at most 16 items")


def test_it_limits_inline_user_data_to_2048_bytes(dvp):
    status, body = rejected(dvp.create, "virtualmachines", vm_body("chatty", user_data="#cloud-config\n" + "#" * 2048))
    assert status == 422
    assert_cause(body, "spec.provisioning.userData",
                 "`userData` exceeds 2048 byte limit; should use `userDataRef` for larger data.")


def test_it_checks_the_core_fraction(dvp):
    status, body = rejected(dvp.create, "virtualmachines", vm_body("greedy", cpu={"cores": 1, "coreFraction": "150%"}))
    assert status == 422
    assert_cause(body, "spec", "Core fraction must be 'Auto' or a percentage between 1% and 100%.")


def test_it_rejects_duplicate_block_devices(dvp):
    body_ = vm_body("twice")
    body_["spec"]["blockDeviceRefs"] *= 2
    status, body = rejected(dvp.create, "virtualmachines", body_)
    assert status == 403
    assert "duplicate" in body["message"]


def test_it_defaults_the_core_fraction_from_the_class(dvp):
    vm = dvp.create("virtualmachines", vm_body("defaulted", virtualMachineClassName="generic"))
    assert vm["spec"]["cpu"]["coreFraction"] == "100%"


# ---- images ----------------------------------------------------------------------------------

def test_it_applies_the_data_source_rules(dvp, sim):
    status, body = rejected(dvp.create, "virtualimages", {"metadata": {"name": "no-http"}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP"}}})
    assert status == 422
    assert_cause(body, "spec.dataSource", "HTTP requires http and cannot have ContainerImage, ObjectRef or Upload.")
    status, body = rejected(dvp.create, "virtualimages", {"metadata": {"name": "mixed"}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "ObjectRef", "http": {"url": "http://x/y"},
                                                       "objectRef": {"kind": "VirtualImage", "name": "a"}}}})
    assert_cause(body, "spec.dataSource", "ObjectRef requires objectRef and cannot have HTTP, ContainerImage or Upload.")


def test_it_checks_the_url_pattern_and_the_storage_enum(dvp):
    status, body = rejected(dvp.create, "virtualimages", {"metadata": {"name": "ftp"}, "spec": {
        "storage": "Floppy", "dataSource": {"type": "HTTP", "http": {"url": "ftp://example.com/a.img"}}}})
    assert status == 422
    assert_cause(body, "spec.dataSource.http.url", "should match")
    assert_cause(body, "spec.storage", 'Unsupported value: "Floppy"')


def test_it_defaults_the_image_storage(dvp, sim):
    body_ = http_image(sim, "stored", "alpine-virt.qcow2")
    del body_["spec"]["storage"]
    assert dvp.create("virtualimages", body_)["spec"]["storage"] == "ContainerRegistry"


def test_it_freezes_the_data_source_of_a_ready_image(dvp, sim):
    dvp.create("virtualimages", http_image(sim, "frozen", "alpine-virt.qcow2"))
    dvp.wait_phase("virtualimages", "frozen", "Ready")
    status, body = rejected(dvp.patch, "virtualimages", "frozen",
                            {"spec": {"dataSource": {"http": {"url": f"{sim.url}/dvpsim/samples/install.iso"}}}})
    assert status == 403
    assert "data source cannot be changed if the VirtualImage has already been provisioned" in body["message"]


# ---- disks -----------------------------------------------------------------------------------

def test_it_checks_the_disk_size_quantity(dvp):
    status, body = rejected(dvp.create, "virtualdisks", blank_disk("bad-size", "ten gigs"))
    assert status == 422
    assert_cause(body, "spec.persistentVolumeClaim.size", "should match")


def test_it_refuses_to_shrink_a_disk(dvp):
    dvp.create("virtualdisks", blank_disk("shrinking", "2Gi"))
    dvp.wait_phase("virtualdisks", "shrinking", "Ready")
    status, body = rejected(dvp.patch, "virtualdisks", "shrinking", {"spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    assert status == 403
    assert "spec.persistentVolumeClaim.size value (1Gi) should be greater than or equal to the current value (2Gi)" \
        in body["message"]


def test_it_freezes_the_data_source_of_a_ready_disk(dvp):
    dvp.create("virtualdisks", {"metadata": {"name": "sourced"}, "spec": {
        "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "ClusterVirtualImage", "name": "alpine-virt"}}}})
    dvp.wait_phase("virtualdisks", "sourced", "Ready")
    status, body = rejected(dvp.patch, "virtualdisks", "sourced",
                            {"spec": {"dataSource": {"objectRef": {"name": "ubuntu-noble"}}}})
    assert status == 403
    assert "data source cannot be changed if the VirtualDisk has already been provisioned" in body["message"]


# ---- operations ------------------------------------------------------------------------------

def vmop(name, type_, vm, **spec):
    return {"metadata": {"name": name}, "spec": {"type": type_, "virtualMachineName": vm, **spec}}


def test_it_refuses_a_forced_start(dvp):
    status, body = rejected(dvp.create, "virtualmachineoperations", vmop("force-start", "Start", "x", force=True))
    assert status == 422
    assert_cause(body, "spec", "The `Start` operation cannot be performed forcibly.")


def test_it_keeps_the_operation_spec_immutable(dvp):
    dvp.create("virtualmachineoperations", vmop("fixed", "Stop", "nobody"))
    status, body = rejected(dvp.patch, "virtualmachineoperations", "fixed", {"spec": {"type": "Restart"}})
    assert status == 422
    assert_cause(body, "spec", ".spec is immutable")


def test_it_allows_one_unfinished_operation_per_vm_unless_superseded(dvp):
    # A Manual VM whose disk never appears: a Start stays in progress.
    dvp.create("virtualmachines", vm_body("stuck", disk="ghost", runPolicy="Manual"))
    dvp.wait_phase("virtualmachines", "stuck", "Stopped")
    dvp.create("virtualmachineoperations", vmop("first-start", "Start", "stuck"))
    dvp.wait_phase("virtualmachineoperations", "first-start", "InProgress")

    status, body = rejected(dvp.create, "virtualmachineoperations", vmop("second-start", "Start", "stuck"))
    assert status == 403
    assert 'VMOP cannot be executed now. Previously created operation "first-start" should finish first' \
        in body["message"]

    dvp.create("virtualmachineoperations", vmop("stop-wins", "Stop", "stuck"))
    superseded = dvp.wait_phase("virtualmachineoperations", "first-start", "Superseded")
    assert condition(superseded, "Completed")["reason"] == "Superseded"


# ---- sizing policy and CPU topology (the demo's class "generic") ------------------------------

@pytest.mark.parametrize("cores", [17, 34, 66])
def test_it_denies_cores_that_do_not_spread_evenly_over_the_sockets(dvp, cores):
    status, body = rejected(dvp.create, "virtualmachines", vm_body(f"uneven-{cores}", cores=cores, memory="64Gi"))
    assert status == 403
    assert "must be a multiple of" in body["message"] and f"number of cores {cores} is not valid" in body["message"]


def test_it_denies_cores_outside_the_class_sizing_ranges(dvp):
    status, body = rejected(dvp.create, "virtualmachines", vm_body("huge", cores=18, memory="36Gi"))
    assert status == 403
    assert 'does not match any sizing policy of the VirtualMachineClass "generic"' in body["message"]
    assert "1-4, 5-8, 9-16" in body["message"]


@pytest.mark.parametrize("spec, text", [
    ({"cores": 6, "memory": "6Gi", "cpu": {"cores": 6, "coreFraction": "10%"}},
     "coreFraction 10% does not match the sizing policy of the VirtualMachineClass \"generic\" for 6 cores: "
     "allowed values are 20%, 50%, 100%"),
    ({"cores": 2, "memory": "9Gi"}, "it must be between 1Gi and 8Gi"),
    ({"cores": 6, "memory": "5Gi", "cpu": {"cores": 6, "coreFraction": "50%"}},
     "each core needs between 1Gi and 8Gi of memory"),
    ({"cores": 1, "memory": "1200Mi"}, "it must change in steps of 512Mi from 1Gi"),
])
def test_it_denies_a_vm_outside_the_sizing_policy(dvp, spec, text):
    body_ = vm_body("off-policy", cores=spec["cores"], memory=spec["memory"])
    if "cpu" in spec:
        body_["spec"]["cpu"] = spec["cpu"]
    status, body = rejected(dvp.create, "virtualmachines", body_)
    assert status == 403 and text in body["message"], body["message"]


def test_it_accepts_a_vm_inside_the_sizing_policy(dvp):
    created = dvp.create("virtualmachines", vm_body("in-policy", cores=6, memory="6Gi", disk="none",
                                                    runPolicy="AlwaysOff"))
    assert created["spec"]["cpu"]["coreFraction"] == "100%"
    dvp.patch("virtualmachines", "in-policy", {"metadata": {"labels": {"tier": "web"}}})
    status, body = rejected(dvp.patch, "virtualmachines", "in-policy", {"spec": {"memory": {"size": "4Gi"}}})
    assert status == 403 and "between 5Gi and 16Gi" in body["message"]


def test_it_refuses_a_container_image_that_is_not_an_image_reference(sim):
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    from tests.kube import fresh_namespace

    ns = fresh_namespace(sim, "imgref")
    api = k8s.CustomObjectsApi(sim.api())
    body = {"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualImage",
            "metadata": {"name": "placeholder"},
            "spec": {"storage": "ContainerRegistry",
                     "dataSource": {"type": "ContainerImage",
                                    "containerImage": {"image": "docker.io/<username>/ubuntu2204:latest"}}}}
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", ns, "virtualimages", body)
    assert caught.value.status == 422
    assert "spec.dataSource.containerImage.image" in caught.value.body
    body["metadata"]["name"] = "valid"
    body["spec"]["dataSource"]["containerImage"]["image"] = "registry.example.com/user/ubuntu2204:latest"
    api.create_namespaced_custom_object("virtualization.deckhouse.io", "v1alpha2", ns, "virtualimages", body)


def test_it_denies_cores_off_the_class_core_step(dvp):
    name = f"stepped-{dvp.namespace}"
    dvp.create("virtualmachineclasses", {"metadata": {"name": name}, "spec": {
        "cpu": {"type": "Discovery"}, "sizingPolicies": [{"cores": {"min": 2, "max": 8, "step": 2}}]}})
    status, body = rejected(dvp.create, "virtualmachines",
                            vm_body("odd-cores", cores=3, memory="3Gi", virtualMachineClassName=name))
    assert status == 403 and "it must change in steps of 2 from 2" in body["message"]
    assert dvp.create("virtualmachines", vm_body("even-cores", cores=4, memory="4Gi", disk="none",
                                                 virtualMachineClassName=name, runPolicy="AlwaysOff"))
