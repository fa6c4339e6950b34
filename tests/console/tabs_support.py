"""Small helpers for the tests of the VM's Configuration, Disks, Placement and Network tabs."""
import time

import pytest
from django.urls import reverse
from kubernetes.client.exceptions import ApiException

from .conftest import PROJECT_A

GROUP, VERSION = "virtualization.deckhouse.io", "v1alpha2"


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


@pytest.fixture(autouse=True)
def remove_test_vms(sim):
    """Delete the VMs (and their disks) a test made in the shared project, so lists stay short."""
    from .helpers import custom, list_dvp

    before = {v["metadata"]["name"] for v in list_dvp(sim, "virtualmachines", PROJECT_A)}
    disks_before = {d["metadata"]["name"] for d in list_dvp(sim, "virtualdisks", PROJECT_A)}
    yield
    api = custom(sim)
    for plural, known in (("virtualmachines", before), ("virtualdisks", disks_before)):
        for obj in list_dvp(sim, plural, PROJECT_A):
            if obj["metadata"]["name"] not in known:
                try:
                    api.delete_namespaced_custom_object(GROUP, VERSION, PROJECT_A, plural, obj["metadata"]["name"])
                except ApiException as exc:
                    if exc.status != 404:
                        raise
