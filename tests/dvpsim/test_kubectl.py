"""kubectl against dvpsim: discovery, DVP printer columns, apply and delete."""

import shutil

import pytest

from tests.dvpsim.rawhttp import make_namespace
from tests.kubectl import KUBECTL, kubectl


pytestmark = pytest.mark.skipif(not shutil.which(KUBECTL), reason="kubectl is not installed")

QUICK_START = """
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: ubuntu
spec:
  storage: ContainerRegistry
  dataSource:
    type: HTTP
    http:
      url: https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: linux-disk
spec:
  dataSource:
    type: ObjectRef
    objectRef:
      kind: VirtualImage
      name: ubuntu
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: linux-vm
spec:
  virtualMachineClassName: generic
  cpu:
    cores: 1
  memory:
    size: 1Gi
  provisioning:
    type: UserData
    userData: |
      #cloud-config
      ssh_pwauth: True
  blockDeviceRefs:
    - kind: VirtualDisk
      name: linux-disk
"""


def headers(output):
    """The header lines of kubectl's table output, as lists of column names."""
    return [line.split() for line in output.splitlines() if line.startswith("NAME")]


@pytest.fixture(scope="module")
def project(sim):
    ns = make_namespace(sim, "kctl")
    out = kubectl(sim, "apply", "-n", ns, "-f", "-", stdin=QUICK_START).stdout
    assert "virtualimage.virtualization.deckhouse.io/ubuntu created" in out
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm created" in out
    return ns


def test_it_prints_dvp_columns_for_vi_vd_vm(sim, project):
    out = kubectl(sim, "get", "vi,vd,vm", "-n", project).stdout
    assert headers(out) == [
        ["NAME", "PHASE", "CDROM", "PROGRESS", "AGE"],
        ["NAME", "PHASE", "CAPACITY", "VIRTUALMACHINE", "AGE"],
        ["NAME", "PHASE", "UPTIME", "NODE", "IPADDRESS", "AGE"],
    ]
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm" in out


def test_it_prints_wide_columns(sim, project):
    out = kubectl(sim, "get", "vd,vm", "-n", project, "-o", "wide").stdout
    # In the CRDs' order: the wide columns sit where the CRD lists them, not after the default ones.
    assert headers(out) == [
        ["NAME", "PHASE", "CAPACITY", "INUSE", "VIRTUALMACHINE", "PROGRESS", "STORAGECLASS", "TARGETPVC", "AGE"],
        ["NAME", "PHASE", "UPTIME", "CORES", "COREFRACTION", "MEMORY", "NEED", "RESTART", "AGENT", "MIGRATABLE",
         "NODE", "IPADDRESS", "AGE"],
    ]


def test_it_reapplies_unchanged_and_patches_changes(sim, project):
    out = kubectl(sim, "apply", "-n", project, "-f", "-", stdin=QUICK_START).stdout
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm unchanged" in out
    # Two cores need 2Gi under the sizing policy of the class "generic".
    changed = QUICK_START.replace("cores: 1", "cores: 2").replace("size: 1Gi", "size: 2Gi")
    out = kubectl(sim, "apply", "-n", project, "-f", "-", stdin=changed).stdout
    assert "virtualmachine.virtualization.deckhouse.io/linux-vm configured" in out
    cores = kubectl(sim, "get", "vm", "linux-vm", "-n", project, "-o", "jsonpath={.spec.cpu.cores}").stdout
    assert cores == "2"


def test_it_lists_cluster_kinds_and_core_tables(sim):
    out = kubectl(sim, "get", "nodes").stdout
    assert headers(out) == [["NAME", "STATUS", "ROLES", "AGE", "VERSION"]]
    out = kubectl(sim, "get", "sc").stdout
    assert headers(out)[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
                               "AGE"]
    assert "(default)" in out
    out = kubectl(sim, "get", "vmclass,cvi").stdout
    assert ["NAME", "PHASE", "ISDEFAULT", "AGE"] in headers(out)
    for args in (("get", "ns"), ("get", "events", "-A"), ("get", "vmclass.v1alpha3.virtualization.deckhouse.io"),
                 ("api-resources",), ("auth", "can-i", "create", "vm", "-n", "default")):
        kubectl(sim, *args)


def test_it_watches_with_tables(sim, project):
    proc = kubectl(sim, "get", "vm", "-n", project, "-w", "--request-timeout=2s", check=False)
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "PHASE", "UPTIME"]
    assert any(line.startswith("linux-vm") for line in lines[1:])


def test_it_explains_dvp_kinds_from_their_schemas(sim):
    out = kubectl(sim, "explain", "vm.spec.cpu").stdout
    assert "KIND:       VirtualMachine" in out and "VERSION:    v1alpha2" in out
    assert "cores\t<integer> -required-" in out and "coreFraction\t<string>" in out
    out = kubectl(sim, "explain", "virtualmachineclasses.spec.sizingPolicies", "--api-version",
                  "virtualization.deckhouse.io/v1alpha3").stdout
    assert "coreFractions\t<[]string>" in out  # v1alpha3 spells the fractions as percentages


def test_it_checks_access_as_another_user(sim, project):
    out = kubectl(sim, "auth", "can-i", "get", "virtualmachines", "-n", project, "--as", "nobody",
                  check=False).stdout
    assert out.strip() == "no"
    out = kubectl(sim, "auth", "can-i", "get", "virtualmachines", "-n", project).stdout
    assert out.strip() == "yes"


def test_it_deletes(sim, project):
    out = kubectl(sim, "delete", "-n", project, "-f", "-", stdin=QUICK_START).stdout
    assert 'virtualmachine.virtualization.deckhouse.io "linux-vm" deleted' in out
    out = kubectl(sim, "get", "vi,vd,vm", "-n", project, "--ignore-not-found").stdout
    assert "linux-vm" not in out
