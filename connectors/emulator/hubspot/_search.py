"""`POST /crm/v3/objects/contacts/search`: request checks, filters, one sort, paging.

Limits as HubSpot's search guide states them: at most 5 filter groups, 6 filters in a
group, 18 filters in all, `limit` up to 200, and no paging past the 10,000th result.
Filter groups are ORed, the filters in a group ANDed. Dates compare as epoch milliseconds
(a filter value may be epoch ms or ISO 8601), numbers as numbers, text case-insensitively.

`find` uses the account's sorted indexes (lastmodifieddate, createdate, hs_object_id) when
every filter group bounds one of them, as the connector's queries do (`lastmodifieddate GTE
t`, sorted by it): it reads only the contacts in range, and when the range filters are all
there is, only the page. Anything else is `run`: a scan of every contact and a sort. Both
give the same answer (tests/emulator/hubspot/test_search_index.py).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from connectors.emulator.hubspot._properties import PropertyDef
from connectors.emulator.hubspot._validation import epoch_ms
from connectors.emulator.hubspot.state import (
    INDEXED,
    Contact,
    HubSpotState,
    IdOrder,
    SortedIndex,
)

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
MAX_RESULTS = 10_000
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
_NEGATIVE = ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": operator.eq,
    "NEQ": operator.ne,
    "LT": operator.lt,
    "LTE": operator.le,
    "GT": operator.gt,
    "GTE": operator.ge,
}
_RANGE = ("EQ", "LT", "LTE", "GT", "GTE", "BETWEEN")
_QUERY_PROPERTIES = ("email", "firstname", "lastname", "company", "hs_object_id")


class SearchError(Exception):
    """A request HubSpot would refuse with 400 VALIDATION_ERROR."""


@dataclass
class SearchQuery:
    groups: list[list[dict[str, Any]]]
    sort: str
    descending: bool
    limit: int
    after: int
    properties: list[str] | None
    query: str


Key = int | float | str


def _key(defn: PropertyDef, raw: str) -> Key:
    """`raw` as what it compares as for this property's type."""
    if defn.type in ("datetime", "date"):
        ms = epoch_ms(raw)
        if ms is None:
            raise SearchError(f"{raw} is not a valid date value for property {defn.name}")
        return ms
    if defn.type == "number":
        try:
            return float(raw)
        except ValueError as exc:
            raise SearchError(f"{raw} is not a valid number for property {defn.name}") from exc
    return raw.lower()


def _parse_filter(f: Any, defs: dict[str, PropertyDef]) -> dict[str, Any]:
    if not isinstance(f, dict):
        raise SearchError("each filter must be an object")
    name, op = f.get("propertyName"), f.get("operator")
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator {op!r}; expected one of {', '.join(OPERATORS)}")
    if not isinstance(name, str) or name not in defs:
        raise SearchError(f"There is no property named {name!r} on contacts")
    defn = defs[name]
    parsed: dict[str, Any] = {"name": name, "op": op}
    if op in ("IN", "NOT_IN"):
        values = f.get("values")
        if not isinstance(values, list) or not values:
            raise SearchError(f"operator {op} requires values")
        parsed["values"] = [_key(defn, str(v)) for v in values]
    elif op == "BETWEEN":
        if f.get("value") is None or f.get("highValue") is None:
            raise SearchError("operator BETWEEN requires value and highValue")
        parsed["low"] = _key(defn, str(f["value"]))
        parsed["high"] = _key(defn, str(f["highValue"]))
    elif op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        if f.get("value") is None:
            raise SearchError(f"operator {op} requires a value")
        if op.endswith("CONTAINS_TOKEN"):
            pattern = re.escape(str(f["value"]).lower()).replace(r"\*", ".*")
            parsed["token"] = re.compile(f"^{pattern}$")
        else:
            parsed["value"] = _key(defn, str(f["value"]))
    return parsed


def _parse_sort(sorts: Any, defs: dict[str, PropertyDef]) -> tuple[str, bool]:
    if not sorts:
        return "hs_object_id", False
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise SearchError("Only one sort is supported per search request")
    sort = sorts[0]
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict):
        name = str(sort.get("propertyName"))
        direction = sort.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise SearchError(f"Unknown sort direction {direction!r}")
        descending = direction == "DESCENDING"
    else:
        raise SearchError("a sort must be a property name or {propertyName, direction}")
    if not isinstance(name, str) or name not in defs:
        raise SearchError(f"There is no property named {name!r} to sort by")
    return name, descending


def parse(body: Any, defs: dict[str, PropertyDef]) -> SearchQuery:
    """Check a search request the way HubSpot does; raise SearchError if it would refuse it."""
    if not isinstance(body, dict):
        raise SearchError("Invalid input JSON: the search request must be an object")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise SearchError("filterGroups must be a list")
    if len(raw_groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups ({len(raw_groups)}). The limit is {MAX_GROUPS}.")
    groups: list[list[dict[str, Any]]] = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("each filter group needs a filters list")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group ({len(filters)}). The limit is "
                f"{MAX_FILTERS_PER_GROUP}."
            )
        groups.append([_parse_filter(f, defs) for f in filters])
    total = sum(len(g) for g in groups)
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters ({total}). The limit is {MAX_FILTERS} in total.")
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 0 and {MAX_LIMIT}, was {limit}")
    after_raw = body.get("after") or "0"
    if not str(after_raw).isdigit():
        raise SearchError(f"Invalid after value {after_raw!r}")
    after = int(str(after_raw))
    if after >= MAX_RESULTS or after + limit > MAX_RESULTS:
        raise SearchError(
            f"Cannot page past {MAX_RESULTS} results (after={after}, limit={limit}). "
            "Narrow the search (for example on lastmodifieddate) and start again."
        )
    properties = body.get("properties")
    if properties is not None and not isinstance(properties, list):
        raise SearchError("properties must be a list of property names")
    sort, descending = _parse_sort(body.get("sorts"), defs)
    query = body.get("query") or ""
    return SearchQuery(groups, sort, descending, limit, after, properties, str(query).lower())


def _tokens(value: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", value.lower()) if t]


def _matches(f: dict[str, Any], contact: Contact, defs: dict[str, PropertyDef]) -> bool:
    op = f["op"]
    raw = contact.properties.get(f["name"], "")
    if op == "HAS_PROPERTY":
        return raw != ""
    if op == "NOT_HAS_PROPERTY":
        return raw == ""
    if raw == "":
        return op in _NEGATIVE
    if op.endswith("CONTAINS_TOKEN"):
        whole = raw.lower()
        found = bool(f["token"].match(whole)) or any(f["token"].match(t) for t in _tokens(raw))
        return found if op == "CONTAINS_TOKEN" else not found
    key = _key(defs[f["name"]], raw)
    if op in ("IN", "NOT_IN"):
        return bool((key in f["values"]) == (op == "IN"))
    if op == "BETWEEN":
        return bool(f["low"] <= key <= f["high"])
    return bool(_COMPARE[op](key, f["value"]))


def _query_matches(query: str, contact: Contact) -> bool:
    for name in _QUERY_PROPERTIES:
        value = contact.properties.get(name, "").lower()
        if query in value or any(t.startswith(query) for t in _tokens(value)):
            return True
    return False


def run(
    q: SearchQuery, contacts: list[Contact], defs: dict[str, PropertyDef]
) -> tuple[list[Contact], int, str | None]:
    """The page of matches, the total matched and the next `after` (None on the last page)."""
    found = [
        c
        for c in contacts
        if not c.archived
        and (not q.groups or any(all(_matches(f, c, defs) for f in g) for g in q.groups))
        and (not q.query or _query_matches(q.query, c))
    ]
    defn = defs[q.sort]

    def order(c: Contact) -> tuple[int, Key, int]:
        raw = c.properties.get(q.sort, "")
        return (0, _key(defn, raw), int(c.id)) if raw else (1, "", int(c.id))

    present = sorted((c for c in found if c.properties.get(q.sort)), key=order)
    missing = sorted((c for c in found if not c.properties.get(q.sort)), key=lambda c: int(c.id))
    if q.descending:
        present.reverse()
    ordered = present + missing
    page = ordered[q.after : q.after + q.limit]
    end = q.after + q.limit
    return page, len(ordered), str(end) if end < len(ordered) and q.limit else None


def _bounds(f: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """The whole numbers [low, high) a range filter lets through (None: unbounded), or None
    if the filter is not a finite range."""
    op = f["op"]
    low_raw, high_raw = (f["low"], f["high"]) if op == "BETWEEN" else (f["value"], f["value"])
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (low_raw, high_raw)):
        return None
    low = math.ceil(low_raw) if op in ("EQ", "GTE", "BETWEEN") else math.floor(low_raw) + 1
    high = math.ceil(high_raw) if op == "LT" else math.floor(high_raw) + 1
    if op in ("GT", "GTE"):
        return low, None
    if op in ("LT", "LTE"):
        return None, high
    return low, high


def _group_range(group: list[dict[str, Any]], name: str) -> tuple[int | None, int | None, bool]:
    """The range of property `name` a filter group allows, and whether its range filters
    on `name` are all it has (then the range is exactly the group's matches). LookupError
    if no filter of the group bounds `name`."""
    low: int | None = None
    high: int | None = None
    exact, bounded = True, False
    for f in group:
        span = _bounds(f) if f["name"] == name and f["op"] in _RANGE else None
        if span is None:
            exact = False
            continue
        bounded = True
        if span[0] is not None:
            low = span[0] if low is None else max(low, span[0])
        if span[1] is not None:
            high = span[1] if high is None else min(high, span[1])
    if not bounded:
        raise LookupError(name)
    return low, high, exact


@dataclass
class _Candidates:
    """The contacts an index can narrow a search to: positions in the order of `name`."""

    name: str
    order: SortedIndex | IdOrder
    spans: list[tuple[int, int]]  # ascending, disjoint
    exact: bool  # every contact in the spans matches (no other filter to check)

    def count(self) -> int:
        return sum(stop - start for start, stop in self.spans)


def _candidates(q: SearchQuery, state: HubSpotState, name: str) -> _Candidates | None:
    """Where the index of property `name` narrows the search, if every group bounds it."""
    order = state.order_for(name)
    if order is None or not q.groups:
        return None
    try:
        ranges = [_group_range(group, name) for group in q.groups]
    except LookupError:
        return None
    spans = []
    for low, high, _ in ranges:
        start = 0 if low is None else order.position(low)
        stop = len(order) if high is None else order.position(high)
        if start < stop:
            spans.append((start, stop))
    exact = all(e for _, _, e in ranges) and not q.query and not state.archived_ids
    return _Candidates(name, order, _merged(spans), exact)


def find(q: SearchQuery, state: HubSpotState) -> tuple[list[Contact], int, str | None]:
    """What `run` answers over every contact of `state`, reading as few as an index allows.

    Every contact a search can match lies in the spans of an index that all filter groups
    bound. When the sort property has such an index, its order is the answer's order: the
    page is read off it (when the range is the only filter, without looking at the others),
    else the contacts in range are checked in order. When only another property's index
    narrows the search (the connector reads one instant by id: lastmodifieddate GTE and LTE
    t, hs_object_id GT n, sorted by id), or it narrows it more, `run` scans the contacts in
    its spans. Otherwise `run` scans every contact.
    """
    found = [c for c in (_candidates(q, state, n) for n in (*INDEXED, "hs_object_id")) if c]
    by_sort = next((c for c in found if c.name == q.sort), None)
    fewest = min(found, key=_Candidates.count, default=None)
    if fewest is None:
        return run(q, list(state.contacts.values()), state.properties)
    if by_sort is None or (not by_sort.exact and fewest.count() < by_sort.count()):
        contacts = state.contacts
        within = [
            contacts[contact_id]
            for start, stop in fewest.spans
            for contact_id in fewest.order.ids(start, stop)
        ]
        return run(q, within, state.properties)
    return _in_order(q, state, by_sort)


def _in_order(
    q: SearchQuery, state: HubSpotState, found: _Candidates
) -> tuple[list[Contact], int, str | None]:
    """The page read in the order of the sort property's index."""
    order, contacts, end = found.order, state.contacts, q.after + q.limit
    spans = list(reversed(found.spans)) if q.descending else found.spans
    if found.exact:  # every contact in the spans matches: count them, read only the page
        total = found.count()
        page: list[Contact] = []
        skip = q.after
        for start, stop in spans:
            if len(page) >= q.limit:
                break
            if skip >= stop - start:
                skip -= stop - start
                continue
            if q.descending:
                ids = order.ids(start, stop - skip, reverse=True)
            else:
                ids = order.ids(start + skip, stop)
            skip = 0
            page += [contacts[i] for i in islice(ids, q.limit - len(page))]
        return page, total, str(end) if end < total and q.limit else None
    page, total = [], 0
    for start, stop in spans:
        for contact_id in order.ids(start, stop, reverse=q.descending):
            contact = contacts[contact_id]
            if (
                not contact.archived
                and any(all(_matches(f, contact, state.properties) for f in g) for g in q.groups)
                and (not q.query or _query_matches(q.query, contact))
            ):
                if q.after <= total < end:
                    page.append(contact)
                total += 1
    return page, total, str(end) if end < total and q.limit else None


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping position ranges joined, in ascending order."""
    joined: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], stop))
        else:
            joined.append((start, stop))
    return joined
