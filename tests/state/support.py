"""Builders shared by the state tests: a settable clock, times, and fully populated values."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from mappings.model import (
    Activity,
    ActivityDetail,
    ActivityKind,
    Assessment,
    AxisAssessment,
    Bant,
    Fit,
    Lead,
    LeadTimes,
    Outcome,
    Score,
    ScoreReason,
)

JST = timezone(timedelta(hours=9), "JST")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""A Monday morning, UTC: the fake clock's starting time."""


class FakeClock:
    """A clock the test sets and moves; the store stamps bookkeeping times with it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        self.now += delta
        return self.now


def at(minutes: int) -> datetime:
    """`START` plus some minutes, aware UTC."""
    return START + timedelta(minutes=minutes)


def full_lead(key: str = "lead-1", **changes: Any) -> Lead:
    """A lead with every field set to a non-default value, times given in JST."""
    jst = START.astimezone(JST)
    lead = Lead(
        key=key,
        email=f"{key}@example.co.jp",
        first_name="太郎",
        last_name="山田",
        hubspot_id=f"hs-{key}",
        salesforce_id=f"00Q{key}",
        fit=Fit(
            company="株式会社サンプル",
            title="情報システム部長",
            industry="manufacturing",
            employees=1200,
            country="JP",
            source="webinar",
            campaign="2026-q1-dx",
            owner="005-owner",
        ),
        stage="sql",
        stage_reason="BANT 3/4",
        score=Score(
            total=85,
            behaviour=60,
            fit=25,
            reasons=(ScoreReason("webinar", 15, 2), ScoreReason("pricing_page", 5, 6)),
        ),
        times=LeadTimes(
            **{f.name: jst + timedelta(hours=i + 1) for i, f in enumerate(fields(LeadTimes))}
        ),
        bant=Bant(budget=True, authority=False, need=True, timeline=True),
        assessment=Assessment(
            problem=AxisAssessment("clear", "vague"),
            solution=AxisAssessment("concrete", "comparing"),
            decision=AxisAssessment("single", "consensus"),
            timeline=AxisAssessment("this_term", "next_term"),
        ),
        outcome=Outcome(won=True, amount=Decimal("1234567.89")),
    )
    return replace(lead, **changes)


def unset_fields(value: object, path: str = "") -> list[str]:
    """The fields of a (nested) dataclass value still at None or their default: none for
    `full_lead()`, so a field added to the model shows up here until the tests set it."""
    found: list[str] = []
    assert is_dataclass(value)
    for f in fields(value):
        current = getattr(value, f.name)
        name = f"{path}{f.name}"
        if is_dataclass(current):
            found += unset_fields(current, name + ".")
        elif current is None or current == f.default or current in ((), ""):
            found.append(name)
    return found


def activity(
    dedupe_key: str,
    minutes: int = 0,
    lead_key: str = "lead-1",
    kind: ActivityKind = "page_view",
    url: str | None = "https://example.com/pricing",
) -> Activity:
    """An activity `minutes` after `START`."""
    return Activity(
        lead_key=lead_key,
        kind=kind,
        occurred_at=at(minutes),
        detail=ActivityDetail(url=url, name="Pricing", campaign="2026-q1-dx"),
        dedupe_key=dedupe_key,
    )
