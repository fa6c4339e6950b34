"""The VM create form as the browser posts it, for the tests of test_vms and test_vm_create."""
from django.urls import reverse

from tests.guide import CLOUD_INIT


def vm_form(name, boot_disks, **extra):
    data = {"name": name, "vm_class": "generic", "cores": "1", "core_fraction": "", "memory": "1Gi",
            "boot_disk": boot_disks, "cloud_init_enabled": "on", "cloud_init": CLOUD_INIT}
    data.update(extra)
    return data


def create_url(project):
    return reverse("virtualization:vm-create", args=[project])
