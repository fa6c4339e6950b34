"""portal.kube's tests: the gateway pointed at the session's dvpsim, as the demo cast."""
from tests.console.conftest import console_on_sim, unique  # noqa: F401  (autouse: the console on dvpsim)
