"""The YAML of the user guide's `d8 k apply -f - <<EOF` blocks, read from ../shared at test time."""
import os
import re
import textwrap
from pathlib import Path

import yaml

GUIDE = Path(os.environ.get("DVP_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "dvp-user-guide.md"
START = re.compile(r"^(\s*)d8 k (apply|create) -f - <<\s*['\"]?EOF['\"]?\s*$")


def examples():
    """[(line number, verb, yaml text)] of every apply/create block in the guide ([] without the guide)."""
    if not GUIDE.exists():
        return []
    lines = GUIDE.read_text().splitlines()
    found = []
    i = 0
    while i < len(lines):
        match = START.match(lines[i])
        if not match:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i].strip() != "EOF":
            body.append(lines[i])
            i += 1
        found.append((start, match.group(2), textwrap.dedent("\n".join(body))))
        i += 1
    return found


def documents(text):
    return [d for d in yaml.safe_load_all(text) if d]
