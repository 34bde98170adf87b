"""Explainable lead scoring: behaviour points plus fit points, with every rule that fired.

Rules are compiled once from the config (`Scorer(config.scoring)`); scoring a lead is then a
single pass over its activities that looks only at the rules for each activity's kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mappings.model import Activity, FitField, Lead, Score, ScoreReason
from sync.calendar import parse_duration
from sync.config import ActivityFilter, BehaviourRule, FitCondition, ScoringConfig

FieldTest = Callable[[str | int | None], bool]


def compile_activity_filter(spec: ActivityFilter) -> Callable[[Activity], bool]:
    """A predicate for the optional URL and name filters of a rule (always true without them).

    Both ignore case: `/pricing` matches `/Pricing/`.
    """
    url_part = spec.url_contains.casefold() if spec.url_contains else None
    name_re = re.compile(spec.name_matches, re.IGNORECASE) if spec.name_matches else None
    if url_part is None and name_re is None:
        return lambda activity: True

    def matches(activity: Activity) -> bool:
        detail = activity.detail
        if url_part is not None and (detail.url is None or url_part not in detail.url.casefold()):
            return False
        return name_re is None or (detail.name is not None and bool(name_re.search(detail.name)))

    return matches


def compile_field_test(condition: FitCondition) -> FieldTest:
    """A predicate on one field value; text compares ignore case and surrounding spaces."""
    if condition.equals is not None:
        wanted = _fold(condition.equals)
        return lambda value: value is not None and _fold(value) == wanted
    if condition.in_ is not None:
        options = frozenset(_fold(option) for option in condition.in_)
        return lambda value: value is not None and _fold(value) in options
    if condition.regex is not None:
        pattern = re.compile(condition.regex, re.IGNORECASE)
        return lambda value: value is not None and pattern.search(str(value)) is not None
    low = condition.min if condition.min is not None else float("-inf")
    high = condition.max if condition.max is not None else float("inf")

    def in_range(value: str | int | None) -> bool:
        number = _number(value)
        return number is not None and low <= number <= high

    return in_range


def _fold(value: str | int) -> str:
    return str(value).strip().casefold()


def _number(value: str | int | None) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value.replace(",", "").strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Behaviour:
    name: str
    points: int
    matches: Callable[[Activity], bool]
    max_count: int | None
    within: timedelta | None
    half_life: timedelta | None

    @classmethod
    def compile(cls, rule: BehaviourRule) -> _Behaviour:
        return cls(
            name=rule.name,
            points=rule.points,
            matches=compile_activity_filter(rule),
            max_count=rule.max_count,
            within=parse_duration(rule.within).amount if rule.within else None,
            half_life=parse_duration(rule.half_life).amount if rule.half_life else None,
        )


@dataclass(frozen=True, slots=True)
class _FitRule:
    name: str
    field: FitField
    points: int
    test: FieldTest


class Scorer:
    """Scores leads by the behaviour and fit rules of one config."""

    def __init__(self, config: ScoringConfig) -> None:
        self._order = {rule.name: index for index, rule in enumerate(config.behaviour)}
        self._by_kind: dict[str, list[_Behaviour]] = {}
        for rule in config.behaviour:
            self._by_kind.setdefault(rule.kind, []).append(_Behaviour.compile(rule))
        self._fit = [
            _FitRule(rule.name, rule.field, rule.points, compile_field_test(rule))
            for rule in config.fit
        ]

    def score(self, lead: Lead, activities: Sequence[Activity], now: datetime) -> Score:
        """The lead's score at `now` from its activities (in time order) and its fit.

        Activities after `now` do not count. With `max_count`, the most recent activities count.
        """
        by_kind = self._by_kind
        counts: dict[str, int] = {}
        points: dict[str, float] = {}
        for activity in reversed(activities):
            rules = by_kind.get(activity.kind)
            if rules is None or activity.occurred_at > now:
                continue
            for rule in rules:
                if not rule.matches(activity):
                    continue
                seen = counts.get(rule.name, 0)
                if rule.max_count is not None and seen >= rule.max_count:
                    continue
                age = now - activity.occurred_at
                if rule.within is not None and age > rule.within:
                    continue
                counts[rule.name] = seen + 1
                value: float = rule.points
                if rule.half_life is not None:
                    value *= 0.5 ** (age / rule.half_life)
                points[rule.name] = points.get(rule.name, 0.0) + value
        reasons = [
            ScoreReason(name, round(points[name]), counts[name])
            for name in sorted(counts, key=self._order.__getitem__)
        ]
        behaviour = sum(reason.points for reason in reasons)
        fit = 0
        for fit_rule in self._fit:
            if fit_rule.test(lead.fit_value(fit_rule.field)):
                reasons.append(ScoreReason(fit_rule.name, fit_rule.points))
                fit += fit_rule.points
        return Score(total=behaviour + fit, behaviour=behaviour, fit=fit, reasons=tuple(reasons))
