"""The benchmarks run on the demo's project-a as its owner alice (the other fixtures: tests/conftest.py)."""
import pytest

from tests.bench.support import PASSWORD
from tests.console_server import start_console, stop_console
from tests.kube import OWNER


@pytest.fixture
def owner(login, db):
    return login(OWNER)


@pytest.fixture(scope="module")
def daphne(sim, tmp_path_factory):
    """Daphne serving the console on the session's dvpsim, as in production: (process, "127.0.0.1:port")."""
    server, port = start_console(sim, tmp_path_factory.mktemp("bench-console"), PASSWORD)
    yield server, f"127.0.0.1:{port}"
    stop_console(server)
