"""The lead lifecycle: which stage changes are allowed, and what each one records.

Moving back (sql -> recycled, lost -> recycled) is normal and recorded like any other move;
a move the lifecycle does not allow raises `TransitionError` naming the moves that are.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from mappings.model import Lead, LeadTimes, Stage, StageChange
from sync.exceptions import TransitionError

ALLOWED: dict[Stage, tuple[Stage, ...]] = {
    "lead": ("mql", "disqualified"),
    "mql": ("sql", "recycled", "disqualified"),
    "sql": ("opportunity", "recycled", "disqualified"),
    "opportunity": ("won", "lost", "recycled"),
    "won": (),
    "lost": ("recycled",),
    "recycled": ("mql", "disqualified"),
    "disqualified": ("recycled",),
}
"""From each stage, the stages a lead may move to."""

NEEDS_REASON: frozenset[Stage] = frozenset({"recycled", "disqualified"})
"""Stages a lead only enters with a reason (sales feedback, never a silent drop)."""

CLOSED: frozenset[Stage] = frozenset({"won", "lost"})


def can_move(from_stage: Stage, to_stage: Stage) -> bool:
    """Whether the lifecycle allows this move."""
    return to_stage in ALLOWED[from_stage]


def move(
    lead: Lead, to_stage: Stage, at: datetime, reasons: tuple[str, ...]
) -> tuple[Lead, StageChange]:
    """The lead after moving to `to_stage` at `at`, and the stage-history entry for the move.

    Entering mql, sql, recycled or a closed stage stamps its time. Re-entering mql after a
    recycle starts a new cycle: the previous handoff, first touch, SQL and close times and
    the previous outcome are cleared (the stage history keeps them).
    """
    if not can_move(lead.stage, to_stage):
        raise TransitionError(lead.stage, to_stage, ALLOWED[lead.stage])
    if to_stage in NEEDS_REASON and not any(reason.strip() for reason in reasons):
        raise ValueError(f"moving a lead to {to_stage} needs a reason")
    times = lead.times
    if to_stage == "mql":
        times = dataclasses.replace(
            times, mql_at=at, handed_off_at=None, first_touch_at=None, sql_at=None, closed_at=None
        )
    elif to_stage == "sql":
        times = dataclasses.replace(times, sql_at=at)
    elif to_stage in CLOSED:
        times = dataclasses.replace(times, closed_at=at)
    elif to_stage == "recycled":
        times = dataclasses.replace(times, recycled_at=at)
    reason = reasons[0] if to_stage in NEEDS_REASON else None
    outcome = None if to_stage == "mql" else lead.outcome
    moved = dataclasses.replace(
        lead, stage=to_stage, stage_reason=reason, times=times, outcome=outcome
    )
    return moved, StageChange(lead.key, lead.stage, to_stage, at, reasons)


def first_seen(times: LeadTimes, at: datetime) -> LeadTimes:
    """Times with `first_seen` set, unless it already was."""
    if times.first_seen is not None:
        return times
    return dataclasses.replace(times, first_seen=at)


def moves_back(lead: Lead) -> bool:
    """Whether the lead's lifecycle stage moves back in HubSpot (it was recycled, or sales
    sent it back), which HubSpot only allows by clearing the stage before setting it."""
    return lead.times.recycled_at is not None or lead.stage in ("recycled", "disqualified")
