"""The benchmarks run on the demo's project-a as its owner alice (the other fixtures: tests/conftest.py)."""
import pytest

from tests.kube import OWNER


@pytest.fixture
def owner(login, db):
    return login(OWNER)
