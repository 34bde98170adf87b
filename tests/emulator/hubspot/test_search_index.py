"""Search from the sorted indexes gives what a scan of every contact gives.

`_search.find` reads the lastmodifieddate / createdate / hs_object_id indexes that
`HubSpotState.write` keeps; `_search.run` is the plain scan and sort. After interleaved
writes (ones that move lastmodifieddate, change or clear createdate, archive contacts) both
must answer every search the same: the same page, total and next `after`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, PublicObjectSearchRequest

from connectors.emulator._control import Clock
from connectors.emulator.hubspot import HubSpotState, _search
from connectors.emulator.hubspot._properties import iso
from connectors.emulator.hubspot._validation import epoch_ms
from connectors.emulator.hubspot.state import SortedKeys
from tests.emulator.hubspot.conftest import Emulator

START = datetime(2026, 1, 9, 10, tzinfo=UTC)
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "customer")


class TestSortedKeys:
    @pytest.mark.parametrize("seed", range(5))
    def test_matches_a_sorted_list(self, seed: int) -> None:
        """Adds and removes in blocks of a few keys (splits, merges) keep order, rank and
        position ranges those of one sorted list."""
        rng = random.Random(seed)
        keys = SortedKeys()
        keys.LOAD = 4  # tiny blocks: every few operations split or merge one
        reference: list[int] = []
        for _ in range(2_000):
            if reference and rng.random() < 0.45:
                key = rng.choice(reference)
                reference.remove(key)
                keys.remove(key)
            else:
                key = rng.randrange(-500, 500)
                if key in reference:
                    continue
                reference.append(key)
                reference.sort()
                keys.add(key)
            assert len(keys) == len(reference)
        assert list(keys) == reference
        for probe in range(-510, 510, 7):
            assert keys.rank(probe) == sum(1 for k in reference if k < probe)
        for _ in range(200):
            start, stop = sorted(rng.randrange(-2, len(reference) + 3) for _ in range(2))
            expected = reference[max(start, 0) : max(stop, 0)]
            assert list(keys.between(start, stop)) == expected
            assert list(keys.between(start, stop, reverse=True)) == expected[::-1]

    def test_removing_a_missing_key_is_a_key_error(self) -> None:
        """Removing a key that is not there fails loudly (the index would be corrupt)."""
        keys = SortedKeys()
        keys.add(3)
        with pytest.raises(KeyError):
            keys.remove(4)


def _world(seed: int, contacts: int = 150) -> tuple[HubSpotState, random.Random, list[int]]:
    """Contacts created over a day, then interleaved writes; the instants used, in ms."""
    rng = random.Random(seed)
    clock = Clock(START, frozen=True)
    state = HubSpotState(clock)
    for n in range(contacts):
        values: dict[str, Any] = {"email": f"c{n}@example.jp", "lifecyclestage": rng.choice(STAGES)}
        if rng.random() < 0.3:
            values["firstname"] = rng.choice(("Aiko", "Ben", "Chie"))
        state.add_contact(values, at=clock.now())
        clock.advance(timedelta(milliseconds=rng.choice((0, 1, 999, 60_000))))
    for _ in range(contacts * 2):
        contact = state.contacts[str(rng.randrange(1, contacts + 1))]
        roll = rng.random()
        if roll < 0.6:  # moves lastmodifieddate (to now, or not at all if already later)
            state.write(contact, {"jobtitle": f"t{rng.random()}"}, "INTEGRATION", clock.now())
        elif roll < 0.75:  # createdate changed, or cleared
            when = START + timedelta(milliseconds=rng.randrange(-(10**9), 10**9))
            value = "" if rng.random() < 0.2 else iso(when)
            state.write(contact, {"createdate": value}, "INTEGRATION", clock.now())
        elif roll < 0.8 and seed % 2:  # odd seeds only: even ones keep the exact path
            contact.archived = not contact.archived
        elif roll < 0.9:  # a write in the past does not move lastmodifieddate back
            past = clock.now() - timedelta(hours=rng.randrange(1, 48))
            state.write(contact, {"lifecyclestage": rng.choice(STAGES)}, "IMPORT", past)
        clock.advance(timedelta(milliseconds=rng.choice((0, 1, 500))))
    instants = sorted(
        {
            epoch_ms(c.properties[name]) or 0
            for c in state.contacts.values()
            for name in ("lastmodifieddate", "createdate")
            if c.properties.get(name)
        }
    )
    return state, rng, instants


def _value(rng: random.Random, name: str, instants: list[int], contacts: int) -> str:
    if name == "hs_object_id":
        return str(rng.choice((rng.randrange(-2, contacts + 3), rng.randrange(contacts) + 0.5)))
    ms = rng.choice(instants) + rng.choice((0, 0, 0, -1, 1, -1000, 3_600_000))
    return str(ms) if rng.random() < 0.7 else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _filter(rng: random.Random, instants: list[int], contacts: int) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.7:
        name = rng.choice(("lastmodifieddate", "createdate", "hs_object_id"))
        op = rng.choice(("GT", "GTE", "LT", "LTE", "EQ", "BETWEEN", "NEQ"))
        f: dict[str, Any] = {"propertyName": name, "operator": op}
        f["value"] = _value(rng, name, instants, contacts)
        if op == "BETWEEN":
            f["highValue"] = _value(rng, name, instants, contacts)
        return f
    if roll < 0.85:
        return {"propertyName": "lifecyclestage", "operator": "EQ", "value": rng.choice(STAGES)}
    return {
        "propertyName": "firstname",
        "operator": rng.choice(("HAS_PROPERTY", "NOT_HAS_PROPERTY")),
    }


def _body(rng: random.Random, instants: list[int], contacts: int) -> dict[str, Any]:
    groups = [
        {"filters": [_filter(rng, instants, contacts) for _ in range(rng.randint(1, 3))]}
        for _ in range(rng.choice((1, 1, 1, 2, 3)))
    ]
    body: dict[str, Any] = {
        "filterGroups": groups if rng.random() < 0.95 else [],
        "limit": rng.choice((0, 1, 7, 50, 200)),
        "after": str(rng.choice((0, 0, 3, 10, 60))),
    }
    sort = rng.choice(("lastmodifieddate", "createdate", "hs_object_id", "email", None))
    if sort is not None:
        direction = rng.choice(("ASCENDING", "DESCENDING"))
        body["sorts"] = [{"propertyName": sort, "direction": direction}]
    if rng.random() < 0.1:
        body["query"] = rng.choice(("c1", "aiko", "example"))
    return body


@pytest.mark.parametrize("seed", range(8))
def test_index_answers_as_the_scan_after_interleaved_writes(seed: int) -> None:
    """Random searches over a world of interleaved writes: `find` equals the scan."""
    state, rng, instants = _world(seed)
    checked = 0
    for _ in range(400):
        body = _body(rng, instants, len(state.contacts))
        try:
            query = _search.parse(body, state.properties)
        except _search.SearchError:
            continue
        scanned = _search.run(query, list(state.contacts.values()), state.properties)
        indexed = _search.find(query, state)
        assert [c.id for c in indexed[0]] == [c.id for c in scanned[0]], body
        assert indexed[1:] == scanned[1:], body
        checked += 1
    assert checked > 300


def test_the_connectors_queries_are_answered_from_the_index() -> None:
    """The incremental query (GTE t sorted by lastmodifieddate) and the one-instant query
    (GTE and LTE t, hs_object_id GT n, sorted by id) match the scan, page after page."""
    state, _, instants = _world(99, contacts=400)
    since = instants[len(instants) // 3]
    incremental: dict[str, Any] = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 25,
    }
    instant = epoch_ms(state.contacts["7"].properties["lastmodifieddate"])
    one_instant: dict[str, Any] = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": instant},
                    {"propertyName": "lastmodifieddate", "operator": "LTE", "value": instant},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": "0"},
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "limit": 2,
    }
    for body in (incremental, one_instant):
        after = "0"
        while True:
            query = _search.parse({**body, "after": after}, state.properties)
            scanned = _search.run(query, list(state.contacts.values()), state.properties)
            indexed = _search.find(query, state)
            assert [c.id for c in indexed[0]] == [c.id for c in scanned[0]]
            assert indexed[1:] == scanned[1:]
            if indexed[2] is None:
                break
            after = indexed[2]


def test_epoch_ms_filters_compare_to_the_millisecond(emu: Emulator) -> None:
    """An epoch-ms filter value is that millisecond exactly (no float rounding)."""
    created = datetime(2026, 1, 9, 10, 0, 0, 1000, tzinfo=UTC)  # .001 s
    contact_id = emu.state.add_contact({"email": "ms@example.jp"}, at=created)
    ms = epoch_ms("2026-01-09T10:00:00.001Z")
    assert ms is not None and ms % 1000 == 1

    def found(op: str, value: int) -> list[str]:
        body = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "createdate", "operator": op, "value": str(value)}]}
            ]
        )
        return [c.id for c in emu.client.crm.contacts.search_api.do_search(body).results]

    assert found("EQ", ms) == [contact_id]
    assert found("GTE", ms) == [contact_id]
    assert found("GT", ms) == []
    assert found("LT", ms) == []
    assert found("LT", ms + 1) == [contact_id]


def test_search_after_api_writes_follows_the_new_lastmodifieddate(emu: Emulator) -> None:
    """Batch updates move contacts to the end of the lastmodifieddate order; a search
    through the SDK pages them in that order."""
    ids = []
    for i in range(30):
        ids.append(emu.state.add_contact({"email": f"w{i}@example.jp"}))
        emu.clock.advance(timedelta(seconds=1))
    moved = ids[::3]
    inputs = [{"id": i, "properties": {"firstname": "Moved"}} for i in reversed(moved)]
    emu.client.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
    since = epoch_ms(emu.state.contacts[ids[1]].properties["lastmodifieddate"])
    seen: list[str] = []
    after = None
    while True:
        page = emu.client.crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    {
                        "filters": [
                            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}
                        ]
                    }
                ],
                sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                limit=4,
                after=after,
            )
        )
        seen += [c.id for c in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    untouched = [i for i in ids[1:] if i not in moved]
    # the moved ones share one instant: by id among themselves
    assert seen == untouched + sorted(moved, key=int)
