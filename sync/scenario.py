"""Simulation scenarios: JSON lines in time order, one event each, checked line by line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mappings.model import FitField, MarketingActivityKind, SalesActivityKind, Stage
from sync.exceptions import ScenarioError
from sync.lifecycle import NEEDS_REASON


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: AwareDatetime


class _LeadEvent(_Event):
    lead: Annotated[str, Field(min_length=1)]


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str | None = None
    name: str | None = None
    campaign: str | None = None


class FitEvent(_LeadEvent):
    type: Literal["fit"]
    fields: dict[Literal[FitField], str | int | None]


class ActivityEvent(_LeadEvent):
    type: Literal["activity"]
    kind: MarketingActivityKind
    detail: _Detail = _Detail()


class HandoffEvent(_LeadEvent):
    type: Literal["handoff"]


class TouchEvent(_LeadEvent):
    type: Literal["touch"]
    kind: SalesActivityKind
    detail: _Detail = _Detail()


class BantEvent(_LeadEvent):
    type: Literal["bant"]
    budget: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    timeline: bool | None = None


class AssessmentEvent(_LeadEvent):
    type: Literal["assessment"]
    problem: Literal["clear", "vague", "unorganized"] | None = None
    solution: Literal["concrete", "comparing", "not_understood"] | None = None
    decision: Literal["single", "consensus", "unknown"] | None = None
    timeline: Literal["this_term", "next_term", "undecided"] | None = None


class StatusEvent(_LeadEvent):
    type: Literal["status"]
    value: Stage
    reason: str | None = None


class OutcomeEvent(_LeadEvent):
    type: Literal["outcome"]
    won: bool
    amount: Decimal | None = None


class TickEvent(_Event):
    type: Literal["tick"]


ScenarioEvent = Annotated[
    FitEvent
    | ActivityEvent
    | HandoffEvent
    | TouchEvent
    | BantEvent
    | AssessmentEvent
    | StatusEvent
    | OutcomeEvent
    | TickEvent,
    Field(discriminator="type"),
]
EVENT_TYPES = (
    "fit",
    "activity",
    "handoff",
    "touch",
    "bant",
    "assessment",
    "status",
    "outcome",
    "tick",
)
_ADAPTER: TypeAdapter[ScenarioEvent] = TypeAdapter(ScenarioEvent)


def read_scenario(path: Path, lines: Iterable[str]) -> list[tuple[int, ScenarioEvent]]:
    """Parse and check a scenario; `ScenarioError` names the line of the first problem."""
    events: list[tuple[int, ScenarioEvent]] = []
    previous: datetime | None = None
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(path, number, f"not valid JSON ({exc.msg})") from None
        try:
            event = _ADAPTER.validate_python(raw)
        except ValidationError as exc:
            raise ScenarioError(path, number, _explain(exc)) from None
        if isinstance(event, StatusEvent) and event.value in NEEDS_REASON and not event.reason:
            raise ScenarioError(path, number, f"status {event.value} needs a reason")
        if previous is not None and event.at < previous:
            raise ScenarioError(
                path,
                number,
                f"events out of order: {event.at.isoformat()} is before the previous event"
                f" ({previous.isoformat()}); scenarios must be in time order",
            )
        previous = event.at
        events.append((number, event))
    return events


def _explain(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    if error["type"] == "union_tag_invalid":
        got = error.get("input", {}).get("type") if isinstance(error.get("input"), dict) else None
        return f"unknown event type {got!r}; allowed: {', '.join(EVENT_TYPES)}"
    if error["type"] == "union_tag_not_found":
        return f"an event needs a 'type': one of {', '.join(EVENT_TYPES)}"
    loc = [str(part) for part in error["loc"][1:]]
    where = ".".join(loc) or "event"
    if error["type"] == "timezone_aware":
        return f"{where}: the timestamp needs an offset, such as 2026-01-05T10:00:00+09:00"
    if error["type"] in ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
        return f"{where}: bad timestamp {error.get('input')!r}; use ISO 8601 with an offset"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    return f"{where}: {error['msg']}"
