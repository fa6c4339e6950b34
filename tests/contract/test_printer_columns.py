"""`kubectl get` prints what a real DVP prints: dvpsim's Tables follow the printer columns of every CRD.

The column definitions (name, type, format, priority, description) must equal the CRD's
additionalPrinterColumns, and every cell must equal what kubectl itself finds at the column's
jsonPath in the object (kubectl's JSONPath output evaluates it on the client, independently of
dvpsim), for every object a cluster that ran the guide's examples holds.
"""
import json

import pytest
import yaml

from tests.contract.conftest import CRDS
from tests.dvpsim.rawhttp import call
from tests.kubectl import kubectl, needs_kubectl

pytestmark = [
    pytest.mark.skipif(not CRDS.is_dir(), reason=f"the upstream CRDs are not at {CRDS}"),
    needs_kubectl,
]

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
NAME_DESCRIPTION = (  # metav1.ObjectMeta's swagger doc of `name`
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
NOT_SERVED = {"virtualmachinepools": "VirtualMachinePool is EE-only and not served by dvpsim (issue scope)"}


def versions():
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                found[(crd["spec"]["group"], version["name"], crd["spec"]["names"]["plural"])] = (
                    crd["spec"]["scope"], version.get("additionalPrinterColumns") or [])
    return found


VERSIONS = versions() if CRDS.is_dir() else {}


def table(sim, group, version, plural):
    status, _, body = call(sim, "GET", f"/apis/{group}/{version}/{plural}", headers={"Accept": TABLE})
    assert status == 200, body
    assert body["kind"] == "Table", body.get("kind")
    return body


def expected_definitions(columns):
    """What kube-apiserver's table convertor for custom resources defines (apiextensions-apiserver)."""
    wanted = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
               "description": NAME_DESCRIPTION}]
    for column in columns:
        description = column.get("description") or \
            f"Custom resource definition column (in JSONPath format): {column['jsonPath']}"
        wanted.append({"name": column["name"], "type": column["type"], "format": column.get("format", ""),
                       "priority": column.get("priority", 0), "description": description})
    return wanted


@pytest.mark.parametrize("key", sorted(VERSIONS), ids=lambda key: f"{key[2]}.{key[1]}")
def test_it_defines_the_crd_printer_columns(busy_cluster, key):
    group, version, plural = key
    if plural in NOT_SERVED:
        pytest.skip(NOT_SERVED[plural])
    definitions = table(busy_cluster, group, version, plural)["columnDefinitions"]
    assert definitions == expected_definitions(VERSIONS[key][1])


def kubectl_values(sim, group, version, plural, json_path):
    """{(namespace, name): text} as kubectl's own JSONPath printer writes the column's jsonPath for each object
    (client-go's printer, which kube-apiserver uses for the cells too: maps and lists as compact JSON)."""
    template = "{range .items[*]}{.metadata.namespace}{'\\t'}{.metadata.name}{'\\t'}{%s}{'\\n'}{end}" % json_path
    result = kubectl(sim, "get", f"{plural}.{version}.{group}", "-A", "-o", f"jsonpath={template}")
    values = {}
    for line in result.stdout.splitlines():
        namespace, name, value = line.split("\t", 2)
        values[(namespace, name)] = value
    return values


def printed(cell):
    """A Table cell as the JSONPath printer writes the same value (nothing for a missing one)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return str(cell)


@pytest.mark.parametrize("key", sorted(VERSIONS), ids=lambda key: f"{key[2]}.{key[1]}")
def test_it_fills_cells_as_kubectl_reads_the_json_paths(busy_cluster, key):
    group, version, plural = key
    if plural in NOT_SERVED:
        pytest.skip(NOT_SERVED[plural])
    got = table(busy_cluster, group, version, plural)
    if not got["rows"]:
        pytest.skip(f"the guide's flows leave no {plural} to compare")
    rows = {(r["object"]["metadata"].get("namespace", ""), r["object"]["metadata"]["name"]): r["cells"]
            for r in got["rows"]}
    mismatches = []
    for index, column in enumerate(VERSIONS[key][1], start=1):
        if column["type"] == "date":
            for ident, cells in rows.items():  # kubectl prints dates relative to now: only the shape
                if cells[index] is not None and not cells[index][-1:] in "smhdy":
                    mismatches.append(f"{ident} {column['name']}: {cells[index]!r} is not an age")
            continue
        expected = kubectl_values(busy_cluster, group, version, plural, column["jsonPath"])
        for ident, cells in rows.items():
            want = expected.get(ident, "<missing>")
            if " " in want and " " not in printed(cells[index]):
                want = want.split(" ")[0]  # kube-apiserver keeps the first of several matches; the printer joins all
            if printed(cells[index]) != want:
                mismatches.append(f"{ident} {column['name']} ({column['jsonPath']}): table "
                                  f"{json.dumps(cells[index])}, kubectl {want!r}")
    assert mismatches == []
