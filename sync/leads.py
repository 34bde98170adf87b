"""What happens to a lead when something happens to it: the decisions the jobs and the
simulator share. Pure functions of (rules, lead, activities, time); nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mappings.model import (
    AXES,
    BANT_ITEMS,
    Activity,
    Assessment,
    Axis,
    AxisAssessment,
    Bant,
    Correction,
    Lead,
    Outcome,
    Stage,
    StageChange,
)
from sync.definitions import LeadRules
from sync.lifecycle import move


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A lead after rescoring and applying the MQL and SQL definitions."""

    lead: Lead
    score_changed: bool
    changes: tuple[StageChange, ...]


def evaluate(
    rules: LeadRules, lead: Lead, activities: Sequence[Activity], now: datetime
) -> Evaluation:
    """Rescore the lead and move it to MQL or SQL when the agreed definition is met.

    `activities` are in time order; those after `now` do not count yet. At MQL, marketing's
    hypotheses on the four axes are set from activity and fit. A lead becomes SQL only after
    it has been handed off to sales.
    """
    if activities and activities[-1].occurred_at > now:
        activities = [a for a in activities if a.occurred_at <= now]
    score = rules.score(lead, activities, now)
    score_changed = score != lead.score
    lead = dataclasses.replace(lead, score=score)
    changes: list[StageChange] = []
    if lead.stage in ("lead", "recycled"):
        since = lead.times.recycled_at if lead.stage == "recycled" else None
        verdict = rules.mql(lead, score, activities, since)
        if verdict.met:
            lead, change = move(lead, "mql", now, verdict.reasons)
            guesses = rules.hypotheses(lead, activities, now)
            lead = dataclasses.replace(lead, assessment=_with_hypotheses(lead.assessment, guesses))
            changes.append(change)
    if lead.stage == "mql" and lead.times.handed_off_at is not None:
        verdict = rules.sql(lead, activities)
        if verdict.met:
            lead, change = move(lead, "sql", now, verdict.reasons)
            changes.append(change)
    return Evaluation(lead, score_changed, tuple(changes))


def _with_hypotheses(assessment: Assessment, guesses: Mapping[Axis, str | None]) -> Assessment:
    axes = {
        axis: AxisAssessment(guesses.get(axis), assessment.axis(axis).observed) for axis in AXES
    }
    return Assessment(**axes)


def hand_off(lead: Lead, at: datetime) -> Lead:
    """The lead handed to sales at `at`: the follow-up SLA clock starts here."""
    if lead.stage != "mql":
        raise ValueError(f"only an MQL can be handed off; this lead is {lead.stage}")
    return dataclasses.replace(lead, times=dataclasses.replace(lead.times, handed_off_at=at))


def record_touch(lead: Lead, touch: Activity) -> Lead:
    """Note the first sales touch after handoff."""
    times = lead.times
    if (
        touch.is_sales_touch
        and times.handed_off_at is not None
        and times.first_touch_at is None
        and touch.occurred_at >= times.handed_off_at
    ):
        times = dataclasses.replace(times, first_touch_at=touch.occurred_at)
    return dataclasses.replace(lead, times=times)


def set_bant(lead: Lead, bant: Bant) -> Lead:
    """The lead with what sales confirmed; items left None keep their previous value."""
    merged = Bant(
        **{
            item: getattr(bant, item)
            if getattr(bant, item) is not None
            else getattr(lead.bant, item)
            for item in BANT_ITEMS
        }
    )
    return dataclasses.replace(lead, bant=merged)


def observe(
    lead: Lead, observed: Mapping[Axis, str], at: datetime, source: str = "sales"
) -> tuple[Lead, list[Correction]]:
    """Record what sales observed on some axes.

    A correction is recorded for each axis whose new observation differs from marketing's
    hypothesis (also when marketing had none); repeating an observation records nothing.
    """
    corrections: list[Correction] = []
    axes: dict[str, AxisAssessment] = {}
    for axis in AXES:
        current = lead.assessment.axis(axis)
        value = observed.get(axis)
        if value is None or value == current.observed:
            axes[axis] = current
            continue
        axes[axis] = AxisAssessment(current.hypothesis, value)
        if value != current.hypothesis:
            corrections.append(Correction(lead.key, axis, current.hypothesis, value, at, source))
    return dataclasses.replace(lead, assessment=Assessment(**axes)), corrections


def close(
    lead: Lead, won: bool, amount: Decimal | None, at: datetime
) -> tuple[Lead, list[StageChange]]:
    """Close the lead's opportunity won or lost; an SQL passes through `opportunity` first."""
    changes: list[StageChange] = []
    if lead.stage == "sql":
        lead, change = move(lead, "opportunity", at, ("opportunity created",))
        changes.append(change)
    outcome: Stage = "won" if won else "lost"
    reason = f"{outcome}, amount {amount}" if amount is not None else outcome
    lead, change = move(lead, outcome, at, (reason,))
    changes.append(change)
    return dataclasses.replace(lead, outcome=Outcome(won, amount)), changes
