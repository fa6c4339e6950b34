"""Shared fixtures: `sim`, one dvpsim process for the whole test session."""

import importlib.util
import os
import select
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

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
