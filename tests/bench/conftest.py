"""The benchmarks run in their module's own fresh `project` (tests/conftest.py) as the demo user alice, a manager
there: the benchmarks' Daphne knows her password (seed_demo_users). The other fixtures: tests/conftest.py."""
import pytest

from tests.bench.support import PASSWORD
from tests.console_server import start_console, stop_console
from tests.kube import OWNER, bind_role


@pytest.fixture(scope="module")
def project(project, sim):
    """The module's fresh Project, with alice a manager of it."""
    bind_role(sim, project, OWNER, "manager")
    return project


@pytest.fixture
def owner(login, db, project):
    return login(OWNER)


@pytest.fixture(scope="module")
def daphne(sim, tmp_path_factory):
    """Daphne serving the console on the session's dvpsim, as in production: (process, "127.0.0.1:port")."""
    server, port = start_console(sim, tmp_path_factory.mktemp("bench-console"), PASSWORD)
    yield server, f"127.0.0.1:{port}"
    stop_console(server)
