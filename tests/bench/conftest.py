from tests.console.conftest import console_on_sim, login, owner, unique  # noqa: F401  (shared fixtures)
