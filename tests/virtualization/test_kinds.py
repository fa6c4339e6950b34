"""Every registered kind, from one data row each: its list shows an object made with the API and its detail
page shows that object's facts, as the owner; the outsider sees neither. A kind added to the registry without a
row here fails test_it_has_a_row_for_every_registered_kind."""
import pytest
from django.urls import reverse

from tests.kube import create_dvp
from virtualization.registry import REGISTRY

# slug: (plural, manifest of an object to make in the project, a fact its detail page must show)
ROWS = {
    "vm-ip-addresses": ("virtualmachineipaddresses",
                        {"metadata": {"name": "kinds-ip"}, "spec": {"type": "Static", "staticIP": "10.66.10.77"}},
                        "10.66.10.77"),
    "disks": ("virtualdisks", {"metadata": {"name": "kinds-disk"},
                               "spec": {"persistentVolumeClaim": {"size": "1Gi"}}}, "1Gi"),
    "images": ("virtualimages", {"metadata": {"name": "kinds-image"}, "spec": {
        "storage": "ContainerRegistry", "dataSource": {"type": "Upload"}}}, "Upload"),
    # DVP's controller makes USBDevices (tests/system/test_usb_devices.py assigns one); here the admin, bare
    "usb-devices": ("usbdevices", {"metadata": {"name": "kinds-usb"}}, "Vendor ID : Product ID"),
}
# Kinds whose objects the tests of their own module make (a VM needs disks; snapshots need a VM).
MADE_ELSEWHERE = {"vms", "vm-snapshots", "disk-snapshots", "cluster-images", "services", "ingresses"}


def test_it_has_a_row_for_every_registered_kind():
    assert set(REGISTRY) - MADE_ELSEWHERE == set(ROWS)


@pytest.mark.parametrize("slug", sorted(ROWS))
def test_it_lists_and_shows_an_object_of_each_kind(slug, project, sim, owner, outsider):
    plural, manifest, fact = ROWS[slug]
    name = manifest["metadata"]["name"]
    create_dvp(sim, plural, project, manifest)
    listing = owner.get(reverse("virtualization:list", args=[project, slug]))
    assert listing.status_code == 200 and f'data-name="{name}"' in listing.content.decode()
    detail = owner.get(reverse("virtualization:detail", args=[project, slug, name]))
    assert detail.status_code == 200 and fact in detail.content.decode()
    assert outsider.get(reverse("virtualization:detail", args=[project, slug, name])).status_code == 404


def test_it_puts_every_kind_in_the_sidebar(project, owner):
    page = owner.get(reverse("virtualization:list", args=[project, "vm-ip-addresses"])).content.decode()
    for resource in REGISTRY.values():
        assert f'href="{reverse("virtualization:list", args=[project, resource.slug])}"' in page
    assert 'aria-current="page">VM IP Addresses</a>' in page


def test_it_offers_no_create_button_for_a_kind_the_console_cannot_create(project, owner):
    page = owner.get(reverse("virtualization:list", args=[project, "usb-devices"])).content.decode()
    head = page.split('class="page-head"', 1)[1].split("</div>", 1)[0]
    assert "<button" not in head and 'role="button"' not in head
    assert "an operator assigns a node&#x27;s USB devices to the project under System → USB devices" in page
    disks = owner.get(reverse("virtualization:list", args=[project, "disks"])).content.decode()
    assert 'role="button"' in disks.split('class="page-head"', 1)[1].split("</div>", 1)[0]
