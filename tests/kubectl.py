"""kubectl against a simulated cluster: the machine's kubectl, or the one scripts/setup installs."""
import os
import shutil
import subprocess

import pytest

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
needs_kubectl = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl is not installed")


def kubectl(sim, *args, stdin=None, check=True, env=None, timeout=60):
    """Run kubectl as the simulated cluster's admin; with `check`, a failure fails the test with kubectl's words."""
    result = subprocess.run([KUBECTL, "--kubeconfig", sim.kubeconfig, *args], input=stdin, capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result
