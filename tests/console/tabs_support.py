"""Small helpers for the tests of the VM's Configuration, Disks, Placement and Network tabs."""
import time

from django.urls import reverse

from .conftest import PROJECT_A


def tab_url(name, tab):
    return reverse("virtualization:detail-tab", args=[PROJECT_A, "vms", name, tab])


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")
