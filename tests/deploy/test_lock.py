"""The lock files (scripts/lock) pin exactly what pyproject.toml asks for, each pin with its hashes."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(text):
    """{normalized name: version} of a requirements file, and whether every pin has a hash."""
    entries = re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^ \\\n]+)((?: \\\n +--hash=sha256:[0-9a-f]{64})*)",
                         text, flags=re.M)
    return {normalize(name): version for name, version, _ in entries}, all(hashes for *_, hashes in entries)


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def wanted(requirements):
    return {normalize(re.split(r"[\[=]", r, maxsplit=1)[0]): r.split("==")[1].split()[0] for r in requirements}


def test_it_locks_the_consoles_dependencies_with_hashes_and_nothing_of_dvpsims():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked, hashed = pins((ROOT / "requirements.lock").read_text())
    assert hashed and len(locked) > 20
    for name, version in wanted(project["dependencies"]).items():
        assert locked.get(name) == version, name
    for name in ("asyncssh", "pillow", "libpass", "passlib", "pytest", "playwright"):
        assert name not in locked


def test_it_locks_the_extras_for_development_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked, hashed = pins((ROOT / "requirements-dev.lock").read_text())
    assert hashed
    extras = project["optional-dependencies"]["dvpsim"] + project["optional-dependencies"]["test"]
    for name, version in wanted(project["dependencies"] + extras).items():
        assert locked.get(name) == version, name
