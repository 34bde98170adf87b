"""E-mail events from the legacy API: one unfiltered page first, so a quiet or small window
costs a single call; a busier one read as one stream per type, 1000 a page, offset paging."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.connectors.hubspot.conftest import Harness

EVENTS = "GET /email/public/v1/events"
START = datetime(2025, 12, 1, tzinfo=UTC)
END = datetime(2025, 12, 31, tzinfo=UTC)


def test_events_page_through_each_type_in_the_window(harness: Harness) -> None:
    """2,300 opens (3 pages), 150 clicks and 2 unsubscribes in the window: more than one
    unfiltered page, so they cost that page and 5 per-type pages; other types and events
    outside the window are not returned."""
    world = harness.world
    people = [world.hubspot.add_contact({"email": f"e{n}@example.jp"}) for n in range(50)]
    for n in range(2_300):
        at = START + timedelta(minutes=n)
        world.hubspot.add_email_event(people[n % 50], "OPEN", "January newsletter", at)
    for n in range(150):
        at = START + timedelta(hours=n)
        world.hubspot.add_email_event(
            people[n % 50], "CLICK", "January newsletter", at, "https://example.jp/p"
        )
    world.hubspot.add_email_event(people[0], "UNSUBSCRIBED", "January newsletter", END)
    world.hubspot.add_email_event(people[1], "UNSUBSCRIBED", "January newsletter", START)
    world.hubspot.add_email_event(people[2], "DELIVERED", "January newsletter", START)
    world.hubspot.add_email_event(people[3], "OPEN", "January newsletter", END + timedelta(1))

    events = list(harness.connector.email_events(START, END))

    assert Counter(e["type"] for e in events) == {"OPEN": 2_300, "CLICK": 150, "STATUSCHANGE": 2}
    assert len({e["id"] for e in events}) == len(events)
    opens = [e["created"] for e in events if e["type"] == "OPEN"]
    assert opens == sorted(opens, reverse=True)  # newest first, as HubSpot gives them
    click = next(e for e in events if e["type"] == "CLICK")
    assert click["url"] == "https://example.jp/p" and "recipient" in click
    assert harness.routes()[EVENTS] == 6
    assert harness.usage.snapshot().calls == {"email.events": 6}


def test_a_quiet_window_costs_one_call_whatever_the_types(harness: Harness) -> None:
    """No events: the unfiltered page answers empty and no type is read."""
    assert list(harness.connector.email_events(START, END)) == []
    assert harness.routes()[EVENTS] == 1


def test_a_single_type_is_read_without_a_probe(harness: Harness) -> None:
    assert list(harness.connector.email_events(START, END, event_types=["OPEN"])) == []
    assert harness.routes()[EVENTS] == 1


def test_a_small_window_costs_one_call_and_keeps_only_the_wanted_types(
    harness: Harness,
) -> None:
    """Fewer than 1,000 events of any type: the one unfiltered page holds them all; the
    deliveries in it are left out."""
    world = harness.world
    person = world.hubspot.add_contact({"email": "d@example.jp"})
    for n in range(3):
        world.hubspot.add_email_event(person, "OPEN", "January newsletter", START + timedelta(n))
    world.hubspot.add_email_event(person, "CLICK", "January newsletter", START, "https://e.jp")
    world.hubspot.add_email_event(person, "DELIVERED", "January newsletter", START)
    world.hubspot.add_email_event(person, "UNSUBSCRIBED", "January newsletter", END)

    events = list(harness.connector.email_events(START, END))

    assert Counter(e["type"] for e in events) == {"OPEN": 3, "CLICK": 1, "STATUSCHANGE": 1}
    assert harness.routes()[EVENTS] == 1
