"""Benchmarks (not tests): page time against the raw API call it needs, measured in one run.

Run with `make bench`. Prints ratios; asserts nothing about speed.
"""

import pytest
from django.urls import reverse

from portal.kube import Kube, kinds
from tests.bench import timing
from tests.kube import OWNER, PROJECT_A, create_dvp, list_dvp

VMS = 50
ROUNDS = 30


def median_seconds(call):
    return timing.median_seconds(call, ROUNDS, warm_up=True)


@pytest.fixture(autouse=True)
def production_cache(settings):
    settings.DVP_ACCESS_CACHE_SECONDS = 10  # as deployed: access reviews reused for 10 s


@pytest.fixture(scope="module")
def many_vms(sim):
    existing = {vm["metadata"]["name"] for vm in list_dvp(sim, "virtualmachines", PROJECT_A)}
    for i in range(VMS):
        name = f"bench-vm-{i:03d}"
        if name not in existing:
            create_dvp(sim, "virtualmachines", PROJECT_A, {"metadata": {"name": name}, "spec": {
                "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"bench-disk-{i}"}]}})
    return VMS


def test_bench_vm_list_page_against_the_raw_table_call(owner, many_vms):
    kube = Kube(OWNER)
    raw = median_seconds(lambda: kube.table(kinds.get("VirtualMachine"), PROJECT_A))
    url = reverse("virtualization:list", args=[PROJECT_A, "vms"])
    page = median_seconds(lambda: owner.get(url))
    print(f"\nVM list with {many_vms}+ VMs: raw Table call {raw * 1000:.1f} ms, page {page * 1000:.1f} ms, "
          f"ratio {page / raw:.2f}")


def test_bench_vm_detail_page_against_the_raw_get(owner, many_vms):
    kube = Kube(OWNER)
    raw = median_seconds(lambda: kube.get(kinds.get("VirtualMachine"), "bench-vm-000", PROJECT_A))
    url = reverse("virtualization:detail", args=[PROJECT_A, "vms", "bench-vm-000"])
    page = median_seconds(lambda: owner.get(url))
    print(f"\nVM detail: raw GET {raw * 1000:.1f} ms, page {page * 1000:.1f} ms, ratio {page / raw:.2f}")
