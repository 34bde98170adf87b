"""Follow-up SLAs on the business calendar: deadline, met or breached, escalation level.

An SLA starts at a lead milestone (MQL, handoff or SQL) and is met by the first activity of
one of its `met_by` kinds at or after the start. While unmet it is watched only as long as
the lead stays in the stage the promise belongs to: a recycled lead is no longer owed a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mappings.model import Activity, Lead, Stage
from sync.calendar import BusinessCalendar, Duration
from sync.config import Config, SlaStart

SlaState = Literal["due", "met", "breached"]

_WATCHED_WHILE: dict[SlaStart, frozenset[Stage]] = {
    "mql": frozenset({"mql"}),
    "handoff": frozenset({"mql"}),
    "sql": frozenset({"sql"}),
}
"""The stages in which an unmet SLA of each start is still owed."""


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """One SLA of one lead at one moment."""

    sla: str
    started_at: datetime
    deadline: datetime
    escalates_at: datetime | None
    met_at: datetime | None
    level: int
    """0 not breached, 1 breached (tell the owner), 2 escalated (tell the escalation list)."""
    overdue: timedelta
    """Business time past the deadline, up to the touch that met it or up to now."""
    watched: bool
    """False once the lead has left the stage this SLA belongs to without meeting it."""

    @property
    def state(self) -> SlaState:
        if self.met_at is not None and self.met_at <= self.deadline:
            return "met"
        return "breached" if self.level > 0 else "due"

    @property
    def overdue_business_hours(self) -> float:
        return round(self.overdue / timedelta(hours=1), 2)


@dataclass(frozen=True, slots=True)
class _Sla:
    name: str
    starts_at: SlaStart
    met_by: frozenset[str]
    within: Duration
    escalate_after: Duration | None


class SlaRules:
    """The SLAs of one config, evaluated on its business calendar."""

    def __init__(self, config: Config) -> None:
        self.calendar: BusinessCalendar = config.business_calendar
        self._slas = [
            _Sla(
                name=name,
                starts_at=sla.starts_at,
                met_by=frozenset(sla.met_by),
                within=config.duration(sla.within),
                escalate_after=config.duration(sla.escalate_after) if sla.escalate_after else None,
            )
            for name, sla in config.sla.items()
        ]

    @property
    def touch_kinds(self) -> frozenset[str]:
        """The activity kinds that meet some SLA: the only ones `evaluate` looks at."""
        return frozenset().union(*(sla.met_by for sla in self._slas))

    def evaluate(
        self, lead: Lead, activities: Sequence[Activity], now: datetime
    ) -> list[SlaStatus]:
        """Every SLA that has started for this lead, as it stands at `now` (`activities`: the
        lead's, oldest first; those of other kinds than `touch_kinds` change nothing)."""
        statuses = []
        for sla in self._slas:
            start = _start_time(lead, sla.starts_at)
            if start is None or start > now:
                continue
            deadline = sla.within.deadline(self.calendar, start)
            escalates = (
                sla.escalate_after.deadline(self.calendar, deadline) if sla.escalate_after else None
            )
            met_at = next(
                (
                    a.occurred_at
                    for a in activities
                    if a.kind in sla.met_by and start <= a.occurred_at <= now
                ),
                None,
            )
            watched = met_at is None and lead.stage in _WATCHED_WHILE[sla.starts_at]
            until = met_at if met_at is not None else now
            level = 0
            if until > deadline:
                level = 2 if escalates is not None and until > escalates else 1
            statuses.append(
                SlaStatus(
                    sla=sla.name,
                    started_at=start,
                    deadline=deadline,
                    escalates_at=escalates,
                    met_at=met_at,
                    level=level,
                    overdue=self.calendar.business_time_between(deadline, until),
                    watched=watched,
                )
            )
        return statuses


def _start_time(lead: Lead, starts_at: SlaStart) -> datetime | None:
    times = lead.times
    if starts_at == "mql":
        return times.mql_at
    if starts_at == "handoff":
        return times.handed_off_at
    return times.sql_at
