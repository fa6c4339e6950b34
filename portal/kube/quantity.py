"""Kubernetes quantities ("10Gi", "512Mi", "1e9", "500m"): the console's one parser, the client's own rules."""
import math
from decimal import Decimal

from kubernetes.utils.quantity import format_quantity, parse_quantity

BINARY_SUFFIXES = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki")


def parse(text) -> Decimal | None:
    """The value of a quantity, or None when `text` is not one."""
    if text is None or isinstance(text, bool):
        return None
    try:
        return parse_quantity(str(text).strip())
    except (ValueError, ArithmeticError):
        return None


def to_bytes(text) -> int | None:
    """Whole bytes of a size (rounded up: "0.5" is one byte), or None when it is not a quantity."""
    value = parse(text)
    return None if value is None else math.ceil(value)


def times(text, factor) -> str:
    """`text` multiplied, written with the same binary suffix where it has one ("2Gi" × 3 = "6Gi")."""
    value = parse(text)
    if value is None:
        return str(text)
    suffix = next((s for s in BINARY_SUFFIXES if str(text).strip().endswith(s)), "")
    result = value * Decimal(factor)
    if suffix:
        for smaller in BINARY_SUFFIXES[BINARY_SUFFIXES.index(suffix):]:
            if result % _unit(smaller) == 0:
                return format_quantity(Decimal(int(result)), smaller)
        return f"{math.ceil(result)}"
    return f"{result.normalize():f}"


def _unit(suffix):
    return Decimal(1024) ** (len(BINARY_SUFFIXES) - BINARY_SUFFIXES.index(suffix))
