"""Changed contacts through the search, re-anchored past every cap, and property history."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.emulator.runtime import Emulators
from tests.connectors.hubspot.conftest import Harness

SEARCH = "POST /crm/v3/objects/contacts/search"
BATCH_READ = "POST /crm/v3/objects/contacts/batch/read"
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)


def add(world: Emulators, count: int, at: datetime, start: int = 0, **props: str) -> list[str]:
    """`count` contacts all last modified at `at`."""
    return [
        world.hubspot.add_contact({"email": f"c{start + n}@example.jp", **props}, at=at)
        for n in range(count)
    ]


def pull(harness: Harness, since: datetime | None, properties: list[str]) -> list[dict[str, Any]]:
    pages = list(harness.connector.changed_contacts(since, properties))
    assert all(pages), "no page is empty"
    return [record for page in pages for record in page]


def modified(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["properties"]["lastmodifieddate"])


class TestChangedContacts:
    def test_pages_come_oldest_first_as_raw_records(self, harness: Harness) -> None:
        """450 contacts come in pages of at most 200, ascending, in HubSpot's own shape."""
        world = harness.world
        ids = [
            world.hubspot.add_contact(
                {"email": f"p{n}@example.jp"}, at=EPOCH + timedelta(seconds=n)
            )
            for n in range(450)
        ]
        pages = list(harness.connector.changed_contacts(None, ["email", "lifecyclestage"]))
        assert [len(p) for p in pages] == [200, 199, 51]
        records = [r for p in pages for r in p]
        assert [r["id"] for r in records] == ids
        first = records[0]
        assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
        assert first["createdAt"] == "2025-06-01T00:00:00.000Z"
        assert {"email", "lifecyclestage", "lastmodifieddate"} <= set(first["properties"])
        assert harness.routes()[SEARCH] == 3
        assert harness.usage.snapshot().calls == {"contacts.search": 3}

    def test_since_keeps_contacts_modified_at_or_after_it(self, harness: Harness) -> None:
        """`since` is inclusive: a contact modified exactly then is read, one before is not."""
        world = harness.world
        add(world, 3, EPOCH - timedelta(milliseconds=1), start=0)
        at_since = add(world, 2, EPOCH, start=10)
        later = add(world, 2, EPOCH + timedelta(days=1), start=20)
        records = pull(harness, EPOCH, ["email"])
        assert [r["id"] for r in records] == at_since + later

    def test_no_since_reads_everything(self, harness: Harness) -> None:
        """since=None reads every contact, however old."""
        ids = add(harness.world, 5, datetime(2001, 1, 1, tzinfo=UTC))
        ids += add(harness.world, 5, EPOCH, start=5)
        assert [r["id"] for r in pull(harness, None, [])] == ids

    def test_nothing_changed_costs_one_call(self, harness: Harness) -> None:
        """An empty result is one search and no page."""
        assert list(harness.connector.changed_contacts(EPOCH, ["email"])) == []
        assert harness.routes()[SEARCH] == 1

    def test_a_contact_changed_during_the_pull_is_neither_lost_nor_repeated(
        self, harness: Harness
    ) -> None:
        """A contact modified between pages moves to the end: every other contact still
        comes once, and the moved one comes again with its new lastmodifieddate."""
        world = harness.world
        ids = [
            world.hubspot.add_contact(
                {"email": f"m{n}@example.jp"}, at=EPOCH + timedelta(seconds=n)
            )
            for n in range(400)
        ]
        pages = harness.connector.changed_contacts(EPOCH, ["email"])
        seen = [r["id"] for r in next(pages)]
        contact = world.hubspot.contacts[ids[5]]
        world.hubspot.write(contact, {"firstname": "Moved"}, "INTEGRATION", world.clock.now())
        seen += [r["id"] for page in pages for r in page]
        assert Counter(seen) == Counter({**dict.fromkeys(ids, 1), ids[5]: 2})

    def test_25000_contacts_cross_the_10000_cap(self, harness: Harness) -> None:
        """25,000 changed contacts (distinct instants, small crowds, and 10,500 sharing one
        instant, more than a whole 10,000-result window) each come exactly once, in
        lastmodifieddate order, for close to the minimum of 125 calls."""
        world = harness.world
        ids: list[str] = []
        at = EPOCH
        for n in range(8_000):  # one per second
            ids += add(world, 1, at + timedelta(seconds=n), start=len(ids))
        at += timedelta(days=1)
        for n in range(1_000):  # crowds of three at one millisecond
            ids += add(world, 3, at + timedelta(milliseconds=n), start=len(ids))
        at += timedelta(days=1)
        ids += add(world, 10_500, at, start=len(ids))  # one crowded instant
        at += timedelta(days=1)
        for n in range(500):  # crowds of seven
            ids += add(world, 7, at + timedelta(milliseconds=n), start=len(ids))
        assert len(ids) == 25_000

        records = pull(harness, EPOCH, ["email"])

        assert Counter(r["id"] for r in records) == Counter(ids)
        instants = [modified(r) for r in records]
        assert instants == sorted(instants)
        calls = harness.routes()[SEARCH]
        assert calls == harness.usage.snapshot().calls["contacts.search"]
        assert math.ceil(25_000 / 200) <= calls <= math.ceil(25_000 / 200) + 8

    def test_more_than_200_at_one_instant_across_a_reanchor(self, harness: Harness) -> None:
        """450 contacts sharing one lastmodifieddate, straddling page boundaries, are read
        by id once the timestamp cannot move, each once, with the later ones after."""
        world = harness.world
        before = add(world, 150, EPOCH - timedelta(seconds=1))
        crowd = add(world, 450, EPOCH, start=1_000)
        after = add(world, 120, EPOCH + timedelta(seconds=1), start=2_000)
        records = pull(harness, EPOCH - timedelta(seconds=1), ["email"])
        assert Counter(r["id"] for r in records) == Counter(before + crowd + after)
        assert [r["id"] for r in records][-120:] == after
        assert harness.routes()[SEARCH] <= math.ceil(720 / 200) + 3


class TestPropertyHistory:
    def test_120_ids_take_3_calls_newest_first(self, harness: Harness) -> None:
        """History comes 50 ids a call, each property's entries newest first."""
        world = harness.world
        ids = add(world, 120, EPOCH, lifecyclestage="subscriber")
        later = EPOCH + timedelta(days=2)
        world.hubspot.write(
            world.hubspot.contacts[ids[7]], {"lifecyclestage": "lead"}, "FORM", later
        )

        history = harness.connector.property_history(ids, ["lifecyclestage", "email"])

        assert harness.routes()[BATCH_READ] == 3
        assert harness.usage.snapshot().calls == {"contacts.batch_read_history": 3}
        assert set(history) == set(ids)
        entries = history[ids[7]]["lifecyclestage"]
        assert [(e["value"], e["sourceType"]) for e in entries] == [
            ("lead", "FORM"),
            ("subscriber", "IMPORT"),
        ]
        assert entries[0]["timestamp"] == "2025-06-03T00:00:00.000Z"
        assert history[ids[0]]["email"][0]["value"] == "c0@example.jp"

    def test_unknown_ids_are_left_out(self, harness: Harness) -> None:
        """An id HubSpot does not know is missing from the answer, the rest is there."""
        known = add(harness.world, 2, EPOCH)
        history = harness.connector.property_history([*known, "999999"], ["email"])
        assert set(history) == set(known)

    def test_nothing_asked_costs_nothing(self, harness: Harness) -> None:
        """No ids, no call."""
        assert harness.connector.property_history([], ["email"]) == {}
        assert harness.usage.snapshot().total_calls == 0
