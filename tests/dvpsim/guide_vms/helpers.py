"""Steps shared by the tests of the user guide's "Virtual machines" sections (this package): kubectl for its
`d8 k` commands, the serial console for what it types in the guest, operations for `d8 v`.

Phases the guide does not narrate but the CRD has are driven through dvpsim's control endpoints:
`POST /dvpsim/vms/<ns>/<name>/fail` (a crash loop: Pending), `.../pause` and `.../resume` (Pause).
"""

import asyncio
import json
import re
import urllib.error

import aiohttp
import pytest
from kubernetes import client, watch

from tests.dvpsim.guide_examples import documents, examples
from tests.kube import GROUP, GUIDE_USER_DATA, VERSION, blank_disk, vm_body
from tests.guest import Console, console_url
from tests.kubectl import kubectl as run_kubectl


SECTION = (894, 1636)  # the guide's lines of the "Virtual machines" sections
AGENT_USER_DATA = "#cloud-config\npackages:\n  - qemu-guest-agent\n"
SMALL = {"cores": 1, "coreFraction": "10%"}


def kubectl(sim, dvp, *args, stdin=None):
    return run_kubectl(sim, "-n", dvp.namespace, *args, stdin=stdin, check=False)


def guide_example(kind, name=None, generate_name=None):
    """The YAML text of the guide's apply/create block (in this section) that makes `kind` `name`."""
    for line, verb, text in examples():
        if not SECTION[0] <= line <= SECTION[1]:
            continue
        for doc in documents(text):
            meta = doc.get("metadata") or {}
            if doc.get("kind") == kind and (meta.get("name") == name or meta.get("generateName") == generate_name):
                return verb, text
    raise AssertionError(f"no {kind} {name or generate_name} example in the guide's VM sections")


def running_vm(dvp, name, policy="AlwaysOnUnlessStoppedManually", user_data=GUIDE_USER_DATA, **spec):
    dvp.create("virtualdisks", blank_disk(f"{name}-root"))
    spec.setdefault("cpu", dict(SMALL))
    dvp.create("virtualmachines", vm_body(name, runPolicy=policy, user_data=user_data, **spec))
    if policy == "Manual":
        dvp.wait_phase("virtualmachines", name, "Stopped")
        dvp.wait_phase("virtualmachineoperations", operation(dvp, name, "Start"), "Completed")
    return dvp.wait_phase("virtualmachines", name, "Running", timeout=30)


def operation(dvp, vm, type_, **spec):
    return dvp.create("virtualmachineoperations", {
        "metadata": {"generateName": f"{vm}-{type_.lower()}-"},
        "spec": {"type": type_, "virtualMachineName": vm, **spec}})["metadata"]["name"]


def phases(vm):
    return [t["phase"] for t in vm["status"]["stats"]["phasesTransitions"]]


def reasons(dvp, name, type_=None):
    return [e.reason for e in dvp.events_about(name) if type_ is None or e.type == type_]


def rejected(call, *args):
    with pytest.raises(client.ApiException) as info:
        call(*args)
    return info.value.status, json.loads(info.value.body)["message"]


def wide_columns(sim, dvp, name):
    """`kubectl get vm <name> -o wide` as {column: value}."""
    header, row = kubectl(sim, dvp, "get", "vm", name, "-o", "wide").stdout.splitlines()[:2]
    return dict(zip(re.split(r"\s{2,}", header.strip()), re.split(r"\s{2,}", row.strip())))


def control(sim, dvp, name, action, body=None):
    """POST a dvpsim control endpoint of the VM; (HTTP status, JSON answer)."""
    try:
        return 202, sim.control(f"vms/{dvp.namespace}/{name}/{action}", body or {})
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def watch_phases(dvp, name, since, until, timeout=30):
    """Every VM object a watch delivers from resourceVersion `since` until `until(obj)`; no transition is missed."""
    seen = []
    for event in watch.Watch().stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION, dvp.namespace,
                                      "virtualmachines", field_selector=f"metadata.name={name}",
                                      resource_version=since, timeout_seconds=timeout):
        seen.append(event["object"])
        if until(event["object"]):
            return seen
    raise AssertionError(f"{name} never got there: {[(o.get('status') or {}).get('phase') for o in seen]}")


class Guest:
    """The serial console of a VM, logged in as cloud/cloud (the guide's cloud-init user)."""

    def __init__(self, sim, dvp, name):
        self.sim, self.dvp, self.name = sim, dvp, name
        self.prompt = f"cloud@{name}:~$ "

    async def __aenter__(self):
        self.session = aiohttp.ClientSession()
        await self.connect()
        return self

    async def connect(self):
        ws = await self.session.ws_connect(console_url(self.sim, self.dvp, self.name), protocols=("plain.kubevirt.io",),
                                           headers={"Authorization": f"Bearer {self.sim.token('admin')}"})
        self.console = Console(ws)
        return self.console

    async def login(self):
        await self.console.type("\x03")
        await self.console.expect(f"{self.name} login: ")
        await self.console.type("cloud\rcloud\r")
        await self.console.expect(self.prompt)

    async def run(self, command, until=None):
        await self.console.type(command + "\r")
        return await self.console.expect(until or self.prompt)

    async def dropped(self):
        """Read until the server drops the line; returns what it showed last."""
        shown = self.console.buffer
        while True:
            message = await asyncio.wait_for(self.console.ws.receive(), 10)
            if message.type != aiohttp.WSMsgType.BINARY:
                return shown
            shown += message.data.decode()

    async def __aexit__(self, *exc):
        await self.console.ws.close()
        await self.session.close()
