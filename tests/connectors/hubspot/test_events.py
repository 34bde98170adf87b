"""E-mail events from the legacy API: one stream per type, 1000 a page, offset paging, and
one probe call first so a quiet window costs a single call."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.connectors.hubspot.conftest import Harness

EVENTS = "GET /email/public/v1/events"
START = datetime(2025, 12, 1, tzinfo=UTC)
END = datetime(2025, 12, 31, tzinfo=UTC)


def test_events_page_through_each_type_in_the_window(harness: Harness) -> None:
    """2,300 opens (3 pages), 150 clicks and 2 unsubscribes in the window cost the probe and
    5 pages; other types and events outside the window are not read."""
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
    """No events: the probe answers empty and no type is read."""
    assert list(harness.connector.email_events(START, END)) == []
    assert harness.routes()[EVENTS] == 1


def test_a_single_type_is_read_without_a_probe(harness: Harness) -> None:
    assert list(harness.connector.email_events(START, END, event_types=["OPEN"])) == []
    assert harness.routes()[EVENTS] == 1


def test_events_of_other_types_only_cost_the_probe_and_one_call_per_type(
    harness: Harness,
) -> None:
    """Only deliveries in the window: the probe sees one, so each counted type is asked once
    and nothing is returned."""
    person = harness.world.hubspot.add_contact({"email": "d@example.jp"})
    harness.world.hubspot.add_email_event(person, "DELIVERED", "January newsletter", START)

    assert list(harness.connector.email_events(START, END)) == []
    assert harness.routes()[EVENTS] == 1 + 3
