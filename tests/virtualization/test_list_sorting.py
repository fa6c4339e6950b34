"""Lists sort by a column's value, as kubectl users expect: sizes as sizes, numbers as numbers, ages by time."""
from virtualization.generic.tables import columns_of, rows_of, sort_rows
from virtualization.registry import REGISTRY

TABLE = {
    "columnDefinitions": [
        {"name": "Name", "type": "string"}, {"name": "Capacity", "type": "string"},
        {"name": "Cores", "type": "integer"}, {"name": "Age", "type": "date"},
    ],
    "rows": [
        {"cells": ["a", "10Gi", 10, "2026-01-03T00:00:00Z"], "object": {"metadata": {"name": "a"}}},
        {"cells": ["b", "2Gi", 2, "2026-01-01T00:00:00Z"], "object": {"metadata": {"name": "b"}}},
        {"cells": ["c", "512Mi", 9, "2026-01-02T00:00:00Z"], "object": {"metadata": {"name": "c"}}},
        {"cells": ["d", "", None, "2026-01-04T00:00:00Z"], "object": {"metadata": {"name": "d"}}},
    ],
}


def names(key, descending=False):
    disks = REGISTRY["disks"]
    rows = rows_of(TABLE, disks, wide=True)
    return [r.name for r in sort_rows(rows, key, descending, disks, columns_of(TABLE, wide=True))]


def test_it_sorts_a_capacity_column_by_size_not_by_text():
    assert names("Capacity") == ["c", "b", "a", "d"]  # 512Mi, 2Gi, 10Gi; no capacity yet last
    assert names("Capacity", descending=True) == ["a", "b", "c", "d"]


def test_it_sorts_an_integer_column_by_number():
    assert names("Cores") == ["b", "c", "a", "d"]


def test_it_sorts_by_age_newest_first():
    assert names("Age") == ["d", "a", "c", "b"]
    assert names("Name", descending=True) == ["d", "c", "b", "a"]
