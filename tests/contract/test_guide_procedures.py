"""Every "in the web interface" procedure of the user and admin guides has its browser test.

README's "The guides, procedure by procedure" maps each procedure (by its line in ../shared's guide) to the tests
that follow it word for word. A procedure the table does not cover, or a test it names that does not exist, fails
here, so a guide that grows a procedure, or a renamed test, is noticed."""
import re
from pathlib import Path

import pytest

from tests.contract.conftest import CRDS

ROOT = Path(__file__).resolve().parents[2]
SHARED = CRDS.parent
GUIDES = {"User guide:": "dvp-user-guide.md", "Admin guide:": "dvp-admin-guide.md"}


def procedure_lines(guide):
    """The lines that start a web-interface procedure ("How to ... in the web interface ...:")."""
    lines = (SHARED / guide).read_text().splitlines()
    return [number for number, line in enumerate(lines, 1)
            if "in the web interface" in line and line.rstrip().endswith(":")]


def readme_rows(heading):
    """[(first line, last line, tests cell)] of the README table under `heading`."""
    section = (ROOT / "README.md").read_text().split("## The guides, procedure by procedure", 1)[1]
    table = section.split(heading, 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        first, _, last = cells[0].partition("–")
        rows.append((int(first), int(last or first), cells[2]))
    return rows


@pytest.mark.parametrize("heading", sorted(GUIDES))
def test_it_has_a_browser_test_for_every_procedure_of_the_guide(heading):
    rows = readme_rows(heading)
    uncovered = [number for number in procedure_lines(GUIDES[heading])
                 if not any(first <= number <= last for first, last, _ in rows)]
    assert procedure_lines(GUIDES[heading]) and not uncovered, f"procedures without a test row: {uncovered}"


@pytest.mark.parametrize("heading", sorted(GUIDES))
def test_it_names_only_tests_that_exist(heading):
    missing = []
    for _, _, cell in readme_rows(heading):
        module = None
        for name in re.findall(r"`([^`]+)`", cell):
            if "::" in name or name.endswith(".py"):
                module, _, name = name.partition("::")
            source = (ROOT / "tests" / "e2e" / module).read_text()
            if name and f"def {name}(" not in source:
                missing.append(f"{module}::{name}")
    assert not missing
