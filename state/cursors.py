"""Incremental read cursors: where a stream stands, as data, and the pure rules that move it.

A cursor holds the highest replication value read so far (`value`) and the ids of the
records already seen AT that value (`boundary_keys`). APIs filter with ">=" on the last
value so that records sharing the boundary value are not lost; the boundary keys let the
reader drop the ones it already has (the same approach as dlt's incremental state).

Values are compared as strings. The caller must therefore use strings that sort like the
values they stand for, always in one format: ISO-8601 in UTC with a fixed number of
fractional digits (``2026-01-05T09:00:00.000Z``) or zero-padded epoch milliseconds.
Mixing formats or offsets (``+09:00`` next to ``Z``) makes the comparison wrong.

Nothing here does I/O; `Repository.get_cursor` and `Repository.save_cursor` persist cursors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cursor:
    """A stream's position: the last value read and the record ids seen at that value.

    `value` is None before the first read (read everything).
    """

    stream: str
    value: str | None = None
    boundary_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.value is None and self.boundary_keys:
            raise ValueError(f"cursor {self.stream!r}: boundary keys without a value")


def is_new(cursor: Cursor, record_id: str, value: str) -> bool:
    """Whether a record read at `value` has not been taken into account by `cursor` yet.

    False for a record below the cursor value, or at the cursor value and already among
    its boundary keys; True otherwise. See the module docstring about sortable values.
    """
    if cursor.value is None or value > cursor.value:
        return True
    if value < cursor.value:
        return False
    return record_id not in cursor.boundary_keys


def advance(cursor: Cursor, records: Iterable[tuple[str, str]]) -> Cursor:
    """The cursor after reading `records`, (record_id, value) pairs in ascending value order.

    The new value is the highest value read; the boundary keys are the ids read at that
    value, merged with the previous boundary keys when the value did not move. A read with
    nothing at or above the cursor value (an empty read, or a re-read of older records)
    leaves the cursor where it was: a cursor never moves back.
    """
    top = cursor.value
    at_top: set[str] = set(cursor.boundary_keys)
    for record_id, value in records:
        if top is None or value > top:
            top = value
            at_top = {record_id}
        elif value == top:
            at_top.add(record_id)
    if top is None:
        return cursor
    return Cursor(cursor.stream, top, frozenset(at_top))
