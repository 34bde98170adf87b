"""`leadloop simulate`: replay a scenario through the real rules and print the timeline.

A scenario is JSON lines in time order, one event each (see `EVENT_TYPES`). The same
scoring, definition, lifecycle and SLA code as the daemon runs on a simulated clock with an
in-memory store; the output is JSON lines with `at`, `lead` and `event`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mappings.model import AXES, Activity, ActivityDetail, Bant, Lead, normalize_email
from sync.config import Config
from sync.definitions import LeadRules
from sync.exceptions import TransitionError
from sync.leads import close, evaluate, hand_off, observe, record_touch, set_bant
from sync.lifecycle import first_seen, move
from sync.scenario import (
    ActivityEvent,
    AssessmentEvent,
    BantEvent,
    FitEvent,
    HandoffEvent,
    OutcomeEvent,
    ScenarioEvent,
    StatusEvent,
    TickEvent,
    TouchEvent,
)
from sync.sla import SlaRules, SlaStatus

Record = dict[str, Any]


@dataclass(slots=True)
class _LeadState:
    lead: Lead
    activities: list[Activity] = field(default_factory=list)
    reported: set[tuple[str, datetime, str]] = field(default_factory=set)


class Simulation:
    """Replays scenario events on one config; `run` yields the timeline records."""

    def __init__(self, config: Config, events: list[tuple[int, ScenarioEvent]]) -> None:
        self.rules = LeadRules(config)
        self.slas = SlaRules(config)
        self.tz: ZoneInfo = config.tz
        self._events = events
        self._leads: dict[str, _LeadState] = {}
        self._explicit_handoff = {e.lead for _, e in events if isinstance(e, HandoffEvent)}

    def run(self) -> Iterator[Record]:
        for line, event in self._events:
            now = event.at
            for state in self._leads.values():
                yield from self._check_slas(state, now)
            if isinstance(event, TickEvent):
                continue
            state = self._state(event.lead, now)
            yield from self._apply(state, event, line)
            yield from self._check_slas(state, now)
        for state in self._leads.values():
            yield self._summary(state)

    def _state(self, key: str, now: datetime) -> _LeadState:
        state = self._leads.get(key)
        if state is None:
            email = normalize_email(key) if "@" in key else None
            state = _LeadState(Lead(key=key, email=email))
            self._leads[key] = state
        state.lead = dataclasses.replace(state.lead, times=first_seen(state.lead.times, now))
        return state

    def _record(self, at: datetime, lead: str | None, event: str, **fields: Any) -> Record:
        return {"at": self._time(at), "lead": lead, "event": event, **fields}

    def _time(self, at: datetime | None) -> str | None:
        return at.astimezone(self.tz).isoformat() if at is not None else None

    def _apply(self, state: _LeadState, event: ScenarioEvent, line: int) -> Iterator[Record]:
        now = event.at
        lead = state.lead
        try:
            if isinstance(event, FitEvent):
                state.lead = _with_fit(lead, event)
            elif isinstance(event, ActivityEvent | TouchEvent):
                detail = ActivityDetail(event.detail.url, event.detail.name, event.detail.campaign)
                activity = Activity(lead.key, event.kind, now, detail, f"scenario:{line}")
                state.activities.append(activity)
                state.lead = record_touch(lead, activity)
            elif isinstance(event, HandoffEvent):
                state.lead = hand_off(lead, now)
                yield self._record(now, lead.key, "handoff")
            elif isinstance(event, BantEvent):
                bant = Bant(event.budget, event.authority, event.need, event.timeline)
                state.lead = set_bant(lead, bant)
            elif isinstance(event, AssessmentEvent):
                observed = {axis: getattr(event, axis) for axis in AXES if getattr(event, axis)}
                state.lead, corrections = observe(lead, observed, now)
                for c in corrections:
                    yield self._record(
                        now,
                        lead.key,
                        "correction",
                        axis=c.axis,
                        hypothesis=c.hypothesis,
                        observed=c.observed,
                    )
            elif isinstance(event, StatusEvent):
                reasons = (event.reason,) if event.reason else (f"set to {event.value} by sales",)
                state.lead, change = move(lead, event.value, now, reasons)
                yield self._stage(
                    change.at, lead.key, change.from_stage, change.to_stage, change.reasons
                )
            elif isinstance(event, OutcomeEvent):
                state.lead, changes = close(lead, event.won, event.amount, now)
                for change in changes:
                    yield self._stage(
                        now, lead.key, change.from_stage, change.to_stage, change.reasons
                    )
        except (TransitionError, ValueError) as exc:
            yield self._record(now, lead.key, "rejected", type=event.type, reason=str(exc))
            return
        yield from self._evaluate(state, now)

    def _evaluate(self, state: _LeadState, now: datetime) -> Iterator[Record]:
        result = evaluate(self.rules, state.lead, state.activities, now)
        state.lead = result.lead
        if result.score_changed:
            score = result.lead.score
            yield self._record(
                now,
                state.lead.key,
                "scored",
                total=score.total,
                behaviour=score.behaviour,
                fit=score.fit,
                reasons=[dataclasses.asdict(reason) for reason in score.reasons],
            )
        for change in result.changes:
            yield self._stage(
                now, change.lead_key, change.from_stage, change.to_stage, change.reasons
            )
            if change.to_stage == "mql" and state.lead.key not in self._explicit_handoff:
                state.lead = hand_off(state.lead, now)
                yield self._record(now, state.lead.key, "handoff")

    def _stage(
        self, at: datetime, lead: str, from_stage: str, to_stage: str, reasons: tuple[str, ...]
    ) -> Record:
        return self._record(
            at, lead, "stage", **{"from": from_stage, "to": to_stage}, reasons=list(reasons)
        )

    def _check_slas(self, state: _LeadState, now: datetime) -> Iterator[Record]:
        for status in self.slas.evaluate(state.lead, state.activities, now):
            yield from self._sla_records(state, status, now)

    def _sla_records(self, state: _LeadState, status: SlaStatus, now: datetime) -> Iterator[Record]:
        key = state.lead.key

        def first_time(what: str) -> bool:
            mark = (status.sla, status.started_at, what)
            if mark in state.reported:
                return False
            state.reported.add(mark)
            return True

        if (status.sla, status.started_at, "dropped") in state.reported:
            return  # the lead left the stage unmet: nothing more is owed or reported
        if not status.watched and status.met_at is None:
            first_time("dropped")
        if first_time("due"):
            yield self._record(
                now, key, "sla_due", sla=status.sla, deadline=self._time(status.deadline)
            )
        if status.watched or status.met_at is not None:
            for level in range(1, status.level + 1):
                if first_time(f"breached:{level}"):
                    yield self._record(
                        now,
                        key,
                        "sla_breached",
                        sla=status.sla,
                        deadline=self._time(status.deadline),
                        overdue_business_hours=status.overdue_business_hours,
                        level=level,
                    )
        if status.met_at is not None and first_time("met"):
            yield self._record(
                status.met_at, key, "sla_met", sla=status.sla, on_time=status.state == "met"
            )

    def _summary(self, state: _LeadState) -> Record:
        lead = state.lead
        times = {name: self._time(value) for name, value in dataclasses.asdict(lead.times).items()}
        outcome = None
        if lead.outcome is not None:
            outcome = {"won": lead.outcome.won, "amount": _amount(lead.outcome.amount)}
        return {
            "at": self._time(self._events[-1][1].at) if self._events else None,
            "lead": lead.key,
            "event": "summary",
            "stage": lead.stage,
            "stage_reason": lead.stage_reason,
            "score": lead.score.total,
            "bant_confirmed": lead.bant.confirmed,
            "outcome": outcome,
            **times,
        }


def _with_fit(lead: Lead, event: FitEvent) -> Lead:
    fields: dict[str, str | int | None] = {
        name: None if value is None else str(value) for name, value in event.fields.items()
    }
    email = fields.pop("email", None)
    employees = fields.get("employees")
    if employees is not None:
        try:
            fields["employees"] = int(str(employees).replace(",", ""))
        except ValueError:
            raise ValueError(f"employees must be a whole number, got {employees!r}") from None
    fit = dataclasses.replace(lead.fit, **fields)  # type: ignore[arg-type]
    if email is not None:
        return dataclasses.replace(lead, fit=fit, email=normalize_email(str(email)))
    return dataclasses.replace(lead, fit=fit)


def _amount(amount: Decimal | None) -> int | str | None:
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else str(amount)
