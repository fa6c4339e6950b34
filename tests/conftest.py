"""Shared fixtures: `sim`, one dvpsim process for the whole test session; the console tests' cast
(owner, member, viewer, outsider, operator) and a fresh `project` for each test module."""

import importlib.util
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests import strict_templates

strict_templates.install()

READY_TIMEOUT = 30.0


class Sim:
    """A running dvpsim subprocess and ways to reach it."""

    def __init__(self, proc, url, kubeconfig):
        self.proc = proc
        self.url = url
        self.kubeconfig = kubeconfig
        with open(kubeconfig) as f:
            self._config = yaml.safe_load(f)
        self.server = self._config["clusters"][0]["cluster"]["server"]

    def token(self, username="admin"):
        for u in self._config["users"]:
            if u["name"] == username:
                return u["user"]["token"]
        raise KeyError(f"no user {username!r} in {self.kubeconfig}")

    def context(self, username="admin"):
        for c in self._config["contexts"]:
            if c["context"]["user"] == username:
                return c["name"]
        raise KeyError(f"no context for {username!r} in {self.kubeconfig}")

    def control(self, path, body=None, method=None):
        """The simulator's admin controls (/dvpsim/faults, /dvpsim/clock) as the cluster admin."""
        import json
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/dvpsim/{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token()}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def inject(self, **fault):
        """Add an injected fault (dvpsim.faults.Fault fields); clear_faults() removes them all."""
        return self.control("faults", fault)

    def clear_faults(self):
        return self.control("faults", method="DELETE")

    def api(self, username="admin"):
        """A kubernetes.client.ApiClient authenticated as `username` (a kubeconfig context)."""
        from kubernetes import config
        return config.new_client_from_config(config_file=self.kubeconfig, context=self.context(username))


def start_sim(*extra_args, demo=True, speed=20):
    """Start `python -m dvpsim` and wait for its ready line; returns Sim."""
    workdir = tempfile.mkdtemp(prefix="dvpsim-")
    kubeconfig = os.path.join(workdir, "kubeconfig")
    args = [sys.executable, "-m", "dvpsim", "--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig,
            "--speed", str(speed), *extra_args]
    if demo and importlib.util.find_spec("dvpsim.demo") is not None:
        args.append("--demo")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    deadline = time.monotonic() + READY_TIMEOUT
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("dvpsim ready: "):
                break
            if not line and proc.poll() is not None:
                break
    else:
        proc.kill()
        raise RuntimeError("dvpsim did not become ready in time")
    if not line.startswith("dvpsim ready: "):
        proc.kill()
        raise RuntimeError(f"dvpsim failed to start (exit {proc.poll()}): {line!r}")
    url = line.split()[2]
    return Sim(proc, url, kubeconfig)


def start_sim_never_enabled(directory):
    """A bare dvpsim whose virtualization module was never enabled: its state holds only the disabled
    ModuleConfig, so none of the module's kinds are served."""
    state = Path(directory) / "state.json"
    state.write_text(json.dumps({"objects": [{"kind": "ModuleConfig", "object": {
        "apiVersion": "deckhouse.io/v1alpha1", "kind": "ModuleConfig",
        "metadata": {"name": "virtualization", "uid": "mc-virtualization", "resourceVersion": "1",
                     "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1},
        "spec": {"enabled": False, "version": 1}}}]}))
    return start_sim("--state", str(state), demo=False)


def stop_sim(sim):
    sim.proc.terminate()
    try:
        sim.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()


@pytest.fixture(scope="session")
def sim():
    s = start_sim()
    try:
        yield s
    finally:
        stop_sim(s)


# ---- The console's tests: Django pointed at the session's dvpsim, a cast, a fresh project per module ---------

# The test directories whose tests run the console (Django) against the session's dvpsim.
CONSOLE_TESTS = {"virtualization", "projects", "portal", "security", "bench", "system"}
TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def console_on_sim(request):
    """For the console's tests (CONSOLE_TESTS): Django's settings point at the session's dvpsim."""
    if os.path.relpath(str(request.path), TESTS).split(os.sep)[0] not in CONSOLE_TESTS:
        yield
        return
    from django.core.cache import cache

    from portal.kube import config as kube_config

    sim, settings = request.getfixturevalue("sim"), request.getfixturevalue("settings")
    settings.DVP_KUBECONFIG = str(sim.kubeconfig)
    settings.DVP_KUBE_CONTEXT = "dvp-console"
    settings.DVP_ACCESS_CACHE_SECONDS = 0.001
    settings.DVP_DATA_EXPORT_URL = f"{sim.url}/dvpsim/dataexport/{{namespace}}/{{name}}"
    kube_config.reset()
    cache.clear()
    yield
    kube_config.reset()


class Cast:
    """The users of a test module, by the rights RBAC in dvpsim gives them in the module's `project`:
    owner (d8:use:role:manager), member (d8:use:role:user), viewer (d8:use:role:viewer), outsider (nothing
    there; manager of `other_project`) and operator (cluster-admin)."""

    def __init__(self, suffix):
        self.owner, self.member, self.viewer, self.outsider = (
            f"{role}-{suffix}" for role in ("owner", "member", "viewer", "outsider"))
        self.operator = "operator"


@pytest.fixture(scope="session")
def cluster_operator(sim):
    """The operator is cluster-admin (as in the demo), bound here so the tests need no demo data."""
    from kubernetes import client

    try:
        client.RbacAuthorizationV1Api(sim.api("admin")).create_cluster_role_binding({
            "metadata": {"name": "test:operator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "operator"}]})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    return "operator"


@pytest.fixture(scope="module")
def cast(cluster_operator):
    return Cast(uuid.uuid4().hex[:6])


def _project_name(request, prefix=""):
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    return f"{prefix}{module[:40]}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def project(sim, cast, request):
    """A fresh Project of this test module (made as the cluster admin) with the cast's RoleBindings;
    deleted, with all it holds, when the module ends. No other module sees its objects."""
    from tests.kube import delete_project, make_project

    name = make_project(sim, _project_name(request),
                        {cast.owner: "manager", cast.member: "user", cast.viewer: "viewer"})
    yield name
    delete_project(sim, name)


@pytest.fixture(scope="module")
def other_project(sim, cast, request):
    """A second fresh Project, managed by the outsider only."""
    from tests.kube import delete_project, make_project

    name = make_project(sim, _project_name(request, "other-"), {cast.outsider: "manager"})
    yield name
    delete_project(sim, name)


def _client_of(django_user_model, username):
    from django.test import Client

    user, _ = django_user_model.objects.get_or_create(username=username)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def login(client, django_user_model):
    """log_in(username): pytest-django's `client`, logged in as that user."""
    def log_in(username):
        user, _ = django_user_model.objects.get_or_create(username=username)
        client.force_login(user)
        return client
    return log_in


@pytest.fixture
def owner(cast, project, django_user_model):
    return _client_of(django_user_model, cast.owner)


@pytest.fixture
def member(cast, project, django_user_model):
    return _client_of(django_user_model, cast.member)


@pytest.fixture
def viewer(cast, project, django_user_model):
    return _client_of(django_user_model, cast.viewer)


@pytest.fixture
def outsider(cast, project, django_user_model):
    return _client_of(django_user_model, cast.outsider)


@pytest.fixture
def operator(cast, django_user_model):
    return _client_of(django_user_model, cast.operator)


@pytest.fixture
def unique():
    """A fresh object name."""
    return lambda prefix="t": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def running_vm(sim, project):
    """make_vm(vm, disk) in the module's project, the VM deleted afterwards so the simulated nodes keep room."""
    from tests.kube import delete_dvp, make_vm

    made = []

    def make(vm, disk):
        made.append(vm)
        return make_vm(sim, project, vm, disk)
    yield make
    for vm in made:
        delete_dvp(sim, "virtualmachines", project, vm)


@pytest.fixture
def remove_test_vms(sim, project):
    """Delete the VMs (and their disks) a test made, so the simulated nodes keep room for the other tests."""
    from tests.kube import delete_dvp, list_dvp

    before = {v["metadata"]["name"] for v in list_dvp(sim, "virtualmachines", project)}
    disks_before = {d["metadata"]["name"] for d in list_dvp(sim, "virtualdisks", project)}
    yield
    for plural, known in (("virtualmachines", before), ("virtualdisks", disks_before)):
        for obj in list_dvp(sim, plural, project):
            if obj["metadata"]["name"] not in known:
                delete_dvp(sim, plural, project, obj["metadata"]["name"])


@pytest.fixture(scope="module")
def project_vm(sim, project):
    """A Running VM (1 core at 10%, an empty disk) in the module's project."""
    from tests.kube import make_vm

    make_vm(sim, project, "project-vm", "project-vm-root")
    return "project-vm"
