"""Tests for state.cursors: the pure rules that move an incremental cursor (no database)."""

from __future__ import annotations

import pytest

from state import Cursor, advance, is_new

T1 = "2026-01-05T09:00:00.000Z"
T2 = "2026-01-05T09:00:01.000Z"
T3 = "2026-01-05T09:00:02.000Z"


class TestAdvance:
    def test_first_read_moves_to_the_max_value_with_the_ids_read_at_it(self) -> None:
        """From an empty cursor, the value becomes the max and the boundary its ids."""
        moved = advance(Cursor("contacts"), [("a", T1), ("b", T2), ("c", T3)])
        assert moved == Cursor("contacts", T3, frozenset({"c"}))

    def test_several_records_at_the_max_value_are_all_boundary_keys(self) -> None:
        """Every record sharing the highest value is remembered at the boundary."""
        moved = advance(Cursor("contacts"), [("a", T1), ("b", T3), ("c", T3), ("d", T3)])
        assert moved.value == T3
        assert moved.boundary_keys == {"b", "c", "d"}

    def test_boundary_keys_merge_when_the_max_does_not_move(self) -> None:
        """Reading more records at the same value adds them to the previous boundary."""
        cursor = Cursor("contacts", T2, frozenset({"a", "b"}))
        moved = advance(cursor, [("b", T2), ("c", T2)])
        assert moved == Cursor("contacts", T2, frozenset({"a", "b", "c"}))

    def test_boundary_keys_are_replaced_when_the_max_moves(self) -> None:
        """A higher value starts a new boundary: the old ids are below it now."""
        cursor = Cursor("contacts", T1, frozenset({"a"}))
        moved = advance(cursor, [("a", T1), ("b", T2), ("c", T2)])
        assert moved == Cursor("contacts", T2, frozenset({"b", "c"}))

    def test_an_empty_read_keeps_the_cursor(self) -> None:
        """Nothing read leaves value and boundary exactly as they were."""
        cursor = Cursor("contacts", T2, frozenset({"a"}))
        assert advance(cursor, []) == cursor
        assert advance(Cursor("contacts"), []) == Cursor("contacts")

    def test_a_re_read_of_older_records_never_moves_the_cursor_back(self) -> None:
        """Records below the cursor (a lag window re-read) leave it unchanged."""
        cursor = Cursor("contacts", T3, frozenset({"z"}))
        assert advance(cursor, [("a", T1), ("b", T2)]) == cursor

    def test_accepts_a_generator(self) -> None:
        """Records may be any iterable, consumed once."""
        moved = advance(Cursor("s"), ((str(n), f"{n:013d}") for n in range(5)))
        assert moved == Cursor("s", "0000000000004", frozenset({"4"}))


class TestIsNew:
    def test_everything_is_new_for_an_empty_cursor(self) -> None:
        """Before the first read, no record has been seen."""
        assert is_new(Cursor("contacts"), "a", T1)

    def test_a_boundary_record_already_seen_is_not_new(self) -> None:
        """At the cursor value, the ids in the boundary keys were taken already."""
        cursor = Cursor("contacts", T2, frozenset({"a", "b"}))
        assert not is_new(cursor, "a", T2)
        assert not is_new(cursor, "b", T2)

    def test_another_record_at_the_boundary_value_is_new(self) -> None:
        """A record at the cursor value that is not in the boundary keys was not seen."""
        assert is_new(Cursor("contacts", T2, frozenset({"a"})), "c", T2)

    def test_records_below_the_cursor_are_not_new_and_above_are(self) -> None:
        """Values compare as strings of one sortable format."""
        cursor = Cursor("contacts", T2, frozenset({"a"}))
        assert not is_new(cursor, "x", T1)
        assert is_new(cursor, "a", T3)

    def test_advance_then_is_new_drops_exactly_the_records_read(self) -> None:
        """Re-reading from the cursor with ">=" yields only the records not read before."""
        first = [("a", T1), ("b", T2), ("c", T2)]
        cursor = advance(Cursor("contacts"), first)
        second = [("b", T2), ("c", T2), ("d", T2), ("e", T3)]
        assert [r for r, v in second if is_new(cursor, r, v)] == ["d", "e"]


class TestCursorValue:
    def test_boundary_keys_without_a_value_are_refused(self) -> None:
        """An empty cursor cannot claim to have seen records."""
        with pytest.raises(ValueError, match="boundary keys without a value"):
            Cursor("contacts", None, frozenset({"a"}))
