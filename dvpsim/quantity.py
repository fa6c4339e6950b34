"""Kubernetes quantities and the size strings DVP shows in its status fields."""

import math
import re

_SUFFIXES = {
    "": 1,
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6,
    "n": 10**-9, "u": 10**-6, "m": 10**-3,
    "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}

QUANTITY_RE = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def is_quantity(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(QUANTITY_RE.match(value))


def parse(value) -> float:
    """The numeric value of a quantity ("1Gi" -> 1073741824, "500m" -> 0.5)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not is_quantity(value):
        raise ValueError(f"quantities must match the regular expression: {value!r}")
    match = re.match(r"^([+-]?[0-9.]+)(.*)$", value)
    number, suffix = match.group(1), match.group(2)
    if suffix[:1] in ("e", "E"):
        return float(value)
    return float(number) * _SUFFIXES[suffix]


def parse_bytes(value) -> int:
    return int(math.ceil(parse(value)))


def to_binary_quantity(n_bytes: int) -> str:
    """Canonical Kubernetes form of a byte count: "10Gi", "2590Mi", "512Ki", "1000"."""
    n_bytes = int(n_bytes)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIXES[suffix]
        if n_bytes and n_bytes % unit == 0:
            return f"{n_bytes // unit}{suffix}"
    return str(n_bytes)


def round_up(n_bytes: int, unit: int = 1024**2) -> int:
    return -(-int(n_bytes) // unit) * unit


def humanize(n_bytes: int) -> str:
    """DVP's size strings ("285.9Mi", "2.5Gi", "200Mi"): one decimal, a trailing .0 dropped."""
    n = float(n_bytes)
    units = ["B", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    text = f"{round(n, 1):.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text}{units[i]}"
