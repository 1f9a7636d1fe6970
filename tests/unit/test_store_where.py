"""The one builder of equality filters the store's queries share."""

from __future__ import annotations

from nodes.store.db import where_equal


def test_optional_filters_count_only_when_given_and_required_ones_always() -> None:
    assert where_equal([], [("a", None), ("b", "")]) == ("", [])
    assert where_equal([], [("a", "1"), ("b", None), ("c", "3")]) == (
        " WHERE a = ? AND c = ?",
        ["1", "3"],
    )
    # an empty required value still filters: it matches nothing rather than everything
    assert where_equal([("holder", "")], [("type", "T")]) == (
        " WHERE holder = ? AND type = ?",
        ["", "T"],
    )
