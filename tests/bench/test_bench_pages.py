"""Benchmarks (not tests): page time against the raw API call it needs, measured in one run.

Run with `make bench`. Prints ratios; asserts nothing about speed, only that the pages rendered.
"""

import pytest
from django.urls import reverse

from portal.kube import Identity, Kube, kinds
from tests.bench import timing
from tests.bench.support import ratio, size
from tests.kube import OWNER, create_dvp, list_dvp

VMS = size(50, 5)
ROUNDS = size(30, 3)


def median_seconds(call):
    return timing.median_seconds(call, ROUNDS, warm_up=True)


@pytest.fixture(autouse=True)
def production_cache(settings):
    settings.DVP_ACCESS_CACHE_SECONDS = 10  # as deployed: access reviews reused for 10 s


@pytest.fixture(scope="module")
def many_vms(sim, project):
    existing = {vm["metadata"]["name"] for vm in list_dvp(sim, "virtualmachines", project)}
    for i in range(VMS):
        name = f"bench-vm-{i:03d}"
        if name not in existing:
            create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name}, "spec": {
                "virtualMachineClassName": "generic", "runPolicy": "AlwaysOff", "cpu": {"cores": 1},
                "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"bench-disk-{i}"}]}})
    return VMS


def rendered(client, url, *names):
    """GET the page; it must be a 200 naming every one of `names`."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    assert all(name in body for name in names), [name for name in names if name not in body]
    return response


def test_bench_vm_list_page_against_the_raw_table_call(owner, project, many_vms):
    kube = Kube(Identity(OWNER))
    names = [f"bench-vm-{i:03d}" for i in range(many_vms)]
    table = kube.table(kinds.get("VirtualMachine"), project)
    assert set(names) <= {row["object"]["metadata"]["name"] for row in table["rows"]}
    raw = median_seconds(lambda: kube.table(kinds.get("VirtualMachine"), project))
    url = reverse("virtualization:list", args=[project, "vms"])
    page = median_seconds(lambda: rendered(owner, url, *names))
    print(f"\nVM list with {many_vms}+ VMs: raw Table call {raw * 1000:.1f} ms, page {page * 1000:.1f} ms, "
          f"ratio {ratio(page, raw):.2f}")


def test_bench_vm_detail_page_against_the_raw_get(owner, project, many_vms):
    kube = Kube(Identity(OWNER))
    assert kube.get(kinds.get("VirtualMachine"), "bench-vm-000", project)["metadata"]["name"] == "bench-vm-000"
    raw = median_seconds(lambda: kube.get(kinds.get("VirtualMachine"), "bench-vm-000", project))
    url = reverse("virtualization:detail", args=[project, "vms", "bench-vm-000"])
    page = median_seconds(lambda: rendered(owner, url, "bench-vm-000"))
    print(f"\nVM detail: raw GET {raw * 1000:.1f} ms, page {page * 1000:.1f} ms, ratio {ratio(page, raw):.2f}")
