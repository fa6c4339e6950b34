"""Which virtual machines refer to a disk or an image."""

from dvpsim import kinds


def vms_using(cluster, kind_name: str, namespace: str | None, name: str) -> list[dict]:
    scope = None if kind_name == "ClusterVirtualImage" else namespace
    found = []
    for vm in cluster.store.iter(kinds.get("VirtualMachine"), scope):
        refs = vm.get("spec", {}).get("blockDeviceRefs") or []
        if any(r.get("kind") == kind_name and r.get("name") == name for r in refs):
            found.append(vm)
    return found


def referenced(vm: dict) -> list[tuple[str, str]]:
    return [(r.get("kind"), r.get("name")) for r in vm.get("spec", {}).get("blockDeviceRefs") or []]
