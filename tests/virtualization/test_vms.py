import base64
import json
import time

from django.urls import reverse

from tests.guide import CLOUD_INIT
from tests.kube import create_dvp, get_dvp, get_secret, list_dvp, make_vm, sample_url, stopped_vm, wait_for_phase
from tests.virtualization.vm_forms import create_url, vm_form


def assert_removed(project, sim, disk, timeout=10):
    """The disk is gone (its cleanup finalizer may take a moment once deletion was asked for)."""
    deadline = time.monotonic() + timeout
    while (found := get_dvp(sim, "virtualdisks", project, disk)) is not None:
        assert found["metadata"].get("deletionTimestamp"), "the disk was not deleted"
        assert time.monotonic() < deadline, "the disk is still being deleted"
        time.sleep(0.1)


def make_image(project, sim, name):
    create_dvp(sim, "virtualimages", project, {"metadata": {"name": name}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}})


def new_disk(name, image):
    return json.dumps({"mode": "new", "name": name, "label": name, "manifest": {
        "metadata": {"name": name},
        "spec": {"dataSource": {"type": "ObjectRef", "objectRef": {"kind": "VirtualImage", "name": image}}}}})


def test_it_shows_the_guide_sections_of_the_create_form(project, owner):
    page = owner.get(create_url(project)).content.decode()
    for label in ("Name", "Machine Parameters", "Cores", "CPU Share", "Size", "Disks and Images", "Boot Disks",
                  "Add", "Choose from existing", "Create new disk", "Additional Parameters", "Cloud-init",
                  "Startup Policy", "Auto-apply changes"):
        assert label in page, label
    assert '<option value="generic" selected>' in page


def test_it_creates_a_vm_with_a_new_boot_disk_and_cloud_init(project, owner, sim, unique):
    image, disk, vm = unique("img"), unique("disk"), unique("vm")
    make_image(project, sim, image)
    response = owner.post(create_url(project), vm_form(vm, [new_disk(disk, image)]))
    assert response.status_code == 302, response.content.decode()[:2000]
    created = get_dvp(sim, "virtualmachines", project, vm)
    assert created["spec"]["blockDeviceRefs"] == [{"kind": "VirtualDisk", "name": disk}]
    # The quick start's cloud-init holds a password hash: it goes into a Secret owned by the VM.
    assert created["spec"]["provisioning"] == {"type": "UserDataRef",
                                               "userDataRef": {"kind": "Secret", "name": f"{vm}-cloud-init"}}
    secret = get_secret(sim, project, f"{vm}-cloud-init")
    assert secret.type == "provisioning.virtualization.deckhouse.io/cloud-init"
    assert base64.b64decode(secret.data["userData"]).decode() == CLOUD_INIT
    assert [(o.kind, o.name, o.uid) for o in secret.metadata.owner_references] == \
        [("VirtualMachine", vm, created["metadata"]["uid"])]
    assert created["spec"]["cpu"]["cores"] == 1 and created["spec"]["memory"]["size"] == "1Gi"
    assert get_dvp(sim, "virtualdisks", project, disk) is not None
    running = wait_for_phase(sim, "virtualmachines", project, vm, "Running", timeout=60)
    page = owner.get(response["Location"]).content.decode()
    assert running["status"]["ipAddress"] in page
    assert running["status"]["nodeName"] in page


def test_it_keeps_the_input_when_the_vm_is_refused_and_creates_nothing(project, owner, sim, unique):
    image, disk, vm = unique("img"), unique("disk"), unique("vm")
    make_image(project, sim, image)
    big = CLOUD_INIT + "#" * 2100
    # An existing VM of that name: the refusal comes after the Secret and the disk were made.
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": unique("absent")}]}})
    response = owner.post(create_url(project), vm_form(vm, [new_disk(disk, image)], cloud_init=big))
    page = response.content.decode()
    assert response.status_code == 422
    assert "already exists" in page
    assert "#" * 2100 in page  # the user's text is kept
    assert disk in page        # so is the boot disk list
    assert_removed(project, sim, disk)
    assert get_secret(sim, project, f"{vm}-cloud-init") is None


def test_it_removes_the_new_disk_when_the_vm_is_refused(project, owner, sim, unique):
    image, disk, vm = unique("img"), unique("disk"), unique("vm")
    make_image(project, sim, image)
    existing_disk = unique("disk")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": existing_disk},
                                                  "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": vm}, "spec": {
        "virtualMachineClassName": "generic", "cpu": {"cores": 1}, "memory": {"size": "1Gi"},
        "blockDeviceRefs": [{"kind": "VirtualDisk", "name": existing_disk}]}})
    response = owner.post(create_url(project), vm_form(vm, [new_disk(disk, image)]))
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert_removed(project, sim, disk)


def test_it_requires_a_boot_disk(project, owner, unique):
    response = owner.post(create_url(project), vm_form(unique("vm"), []))
    assert response.status_code == 422
    assert "Add at least one boot disk" in response.content.decode()


def test_it_adds_an_existing_boot_disk_row(project, owner, sim, unique):
    disk = unique("disk")
    create_dvp(sim, "virtualdisks", project, {"metadata": {"name": disk},
                                                "spec": {"persistentVolumeClaim": {"size": "1Gi"}}})
    response = owner.post(reverse("virtualization:vm-boot-disk", args=[project]),
                          {"mode": "existing", "existing": disk}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'name="boot_disk"' in page and disk in page


def test_it_validates_a_new_boot_disk_in_the_dialog(project, owner, unique):
    response = owner.post(reverse("virtualization:vm-boot-disk", args=[project]),
                          {"mode": "new", "new-name": "Not Valid", "new-source": "blank", "new-size": ""},
                          HTTP_HX_REQUEST="true")
    assert response["HX-Retarget"] == "#boot-disk-dialog-body"
    page = response.content.decode()
    assert "lower-case letters" in page and "An empty disk needs a size" in page


def make_running_vm(project, sim, unique):
    vm = unique("vm")
    make_vm(sim, project, vm, unique("disk"))
    return vm


def test_it_stops_and_starts_a_vm_with_operations(project, owner, sim, unique):
    vm = make_running_vm(project, sim, unique)
    url = reverse("virtualization:vm-operation", args=[project, vm])
    assert owner.post(url, {"type": "Stop"}).status_code == 302
    ops = [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]
    assert [o["spec"]["type"] for o in ops] == ["Stop"]
    assert ops[0]["metadata"]["name"].startswith(f"{vm}-")
    wait_for_phase(sim, "virtualmachines", project, vm, "Stopped", timeout=60)
    page = owner.get(reverse("virtualization:detail", args=[project, "vms", vm])).content.decode()
    assert 'data-phase="Stopped"' in page
    owner.post(url, {"type": "Start"})
    wait_for_phase(sim, "virtualmachines", project, vm, "Running", timeout=60)


def test_it_disables_operations_for_a_viewer_and_says_why(project, cast, login, sim, unique, db):
    vm = make_running_vm(project, sim, unique)
    client = login(cast.viewer)
    page = client.get(reverse("virtualization:detail", args=[project, "vms", vm])).content.decode()
    for op in ("Start", "Stop", "Restart", "Migrate"):  # disabled, with why
        assert ('disabled title="You may not run operations here (needs create on virtualmachineoperations)." '
                f'data-operation="{op}"') in page
    assert "needs delete on virtualmachines" in page
    client.post(reverse("virtualization:vm-operation", args=[project, vm]), {"type": "Stop"})
    ops = [o for o in list_dvp(sim, "virtualmachineoperations", project) if o["spec"]["virtualMachineName"] == vm]
    assert ops == []


def test_it_lists_vms_with_their_columns(project, owner, sim, unique):
    vm = make_running_vm(project, sim, unique)
    page = owner.get(reverse("virtualization:list", args=[project, "vms"])).content.decode()
    for column in ("Phase", "Node", "IPAddress", "Age"):
        assert f">{column}</a>" in page
    assert vm in page


def test_it_filters_and_sorts_the_list(project, owner, sim, unique):
    vm = make_running_vm(project, sim, unique)
    stopped_vm(sim, project, "demo-vm")  # another VM of the project, named as the demo's
    url = reverse("virtualization:list", args=[project, "vms"])
    page = owner.get(url, {"q": vm}).content.decode()
    assert vm in page and "demo-vm" not in page
    fragment = owner.get(url, {"q": "demo-vm"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="live-table").content.decode()
    assert fragment.lstrip().startswith('<div id="live-table"')
    assert "demo-vm" in fragment and vm not in fragment
    assert "q=demo-vm" in fragment  # the live socket keeps the filter
    ordered = owner.get(url, {"sort": "Name", "dir": "desc"}).content.decode()
    assert ordered.index(f'id="row-{vm}"') < ordered.index('id="row-demo-vm"')  # "vm-…" sorts after "demo-vm"
    ascending = owner.get(url, {"sort": "Name", "dir": "asc"}).content.decode()
    assert ascending.index(f'id="row-{vm}"') > ascending.index('id="row-demo-vm"')


def test_it_previews_the_vm_and_its_new_disk_as_yaml(project, owner, sim, unique):
    image, disk, vm = unique("img"), unique("disk"), unique("vm")
    response = owner.post(create_url(project), vm_form(vm, [new_disk(disk, image)], preview="1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("kind: VirtualDisk") < page.index("kind: VirtualMachine")
    assert page.index("kind: Secret") < page.index("kind: VirtualMachine")
    preview = page[page.index('id="yaml-preview"'):]
    assert "userData: &lt;hidden&gt;" in preview and "$6$rounds" not in preview  # secret data is never shown
    assert "type: UserDataRef" in page
    assert get_dvp(sim, "virtualmachines", project, vm) is None
    assert get_dvp(sim, "virtualdisks", project, disk) is None


def test_it_explains_a_paused_vm_and_offers_restart_and_stop(project, owner, sim, running_vm, unique):
    vm = unique("paused")
    running_vm(vm, unique("paused-root"))
    sim.control(f"vms/{project}/{vm}/pause", {})  # KubeVirt pauses a VM on an I/O error
    wait_for_phase(sim, "virtualmachines", project, vm, "Pause", timeout=30)
    page = owner.get(reverse("virtualization:detail", args=[project, "vms", vm])).content.decode()
    assert 'data-phase="Pause"' in page
    assert "The hypervisor paused the VM, usually after an I/O error" in page
    listing = owner.get(reverse("virtualization:list", args=[project, "vms"]) + f"?q={vm}").content.decode()
    menu = listing[listing.index(f'id="menu-{vm}"'):]
    menu = menu[:menu.index("</details>")]
    assert f'aria-label="Restart {vm}"' in menu and f'aria-label="Stop {vm}"' in menu
    assert 'title="Not applicable while the VM is Pause."' in menu  # Start and Migrate
