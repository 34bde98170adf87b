"""The agreed MQL and SQL definitions and marketing's four-axis hypotheses, as verdicts.

Each evaluation returns a `Verdict` whose reasons say, in plain words, why a lead did or did
not qualify, so that every MQL and SQL can be checked by the people who agreed the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mappings.model import AXES, BANT_ITEMS, Activity, Axis, FitField, Lead, Score
from sync.calendar import parse_duration
from sync.config import Config, FitCondition, HypothesisWhen
from sync.scoring import FieldTest, Scorer, compile_activity_filter, compile_field_test


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a definition is met, and the reasons (the conditions that held or failed)."""

    met: bool
    reasons: tuple[str, ...]


def _describe(condition: FitCondition) -> str:
    if condition.equals is not None:
        return f"{condition.field} = {condition.equals}"
    if condition.in_ is not None:
        return f"{condition.field} in [{', '.join(map(str, condition.in_))}]"
    if condition.regex is not None:
        return f"{condition.field} matches /{condition.regex}/"
    low = "" if condition.min is None else f"{condition.min:g} <= "
    high = "" if condition.max is None else f" <= {condition.max:g}"
    return f"{low}{condition.field}{high}"


@dataclass(frozen=True, slots=True)
class _FitCheck:
    field: FitField
    text: str
    test: FieldTest

    @classmethod
    def compile(cls, condition: FitCondition) -> _FitCheck:
        return cls(condition.field, _describe(condition), compile_field_test(condition))


HypothesisTest = Callable[[Lead, Sequence[Activity], datetime | None], bool]


def _compile_when(when: HypothesisWhen | None) -> HypothesisTest:
    if when is None:
        return lambda lead, activities, mql_at: True
    if when.activity is not None:
        kind = when.activity
        matches = compile_activity_filter(when)
        return lambda lead, activities, mql_at: any(
            a.kind == kind and matches(a) for a in activities
        )
    condition = when.fit_condition()
    if condition is not None:
        test = compile_field_test(condition)
        field = condition.field
        return lambda lead, activities, mql_at: test(lead.fit_value(field))
    assert when.mql_within is not None
    limit = parse_duration(when.mql_within).amount

    def mql_soon(lead: Lead, activities: Sequence[Activity], mql_at: datetime | None) -> bool:
        since = lead.times.recycled_at  # a requalified lead: count from its new activity
        first = next(
            (
                a.occurred_at
                for a in activities
                if not a.is_sales_touch and (since is None or a.occurred_at > since)
            ),
            None,
        )
        return mql_at is not None and first is not None and mql_at - first <= limit

    return mql_soon


class LeadRules:
    """Every decision rule of one config, compiled once: scoring, MQL, SQL, hypotheses."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.scorer = Scorer(config.scoring)
        self._min_score = config.mql.min_score
        self._required = frozenset(config.mql.required_activity)
        self._mql_fit = [_FitCheck.compile(condition) for condition in config.mql.fit]
        self._bant_min = config.sql.bant_min
        self._signals = frozenset(config.sql.buying_signals)
        self._hypotheses: dict[Axis, list[tuple[HypothesisTest, str]]] = {
            axis: [(_compile_when(rule.when), rule.value) for rule in rules]
            for axis in AXES
            for rules in [config.hypotheses.rules(axis)]
        }

    def score(self, lead: Lead, activities: Sequence[Activity], now: datetime) -> Score:
        return self.scorer.score(lead, activities, now)

    def mql(
        self,
        lead: Lead,
        score: Score,
        activities: Sequence[Activity],
        since: datetime | None = None,
    ) -> Verdict:
        """Score at least the threshold AND a required activity (after `since`) AND every fit test.

        `since` is set for a recycled lead: it must show a required action again after the
        recycle before it qualifies again.
        """
        reasons: list[str] = []
        met = score.total >= self._min_score
        relation = ">=" if met else "<"
        reasons.append(f"score {score.total} {relation} {self._min_score}")
        if self._required:
            seen = sorted(
                {
                    a.kind
                    for a in activities
                    if a.kind in self._required and (since is None or a.occurred_at > since)
                }
            )
            after = " after recycle" if since is not None else ""
            if seen:
                reasons.append(f"required activity{after}: {', '.join(seen)}")
            else:
                met = False
                wanted = " or ".join(sorted(self._required))
                reasons.append(f"no required activity{after} ({wanted})")
        for check in self._mql_fit:
            holds = check.test(lead.fit_value(check.field))
            met = met and holds
            reasons.append(f"fit {check.text}" if holds else f"fit not met: {check.text}")
        return Verdict(met, tuple(reasons))

    def sql(self, lead: Lead, activities: Sequence[Activity]) -> Verdict:
        """BANT at least k of 4, OR a buying-signal activity after handoff."""
        handed_off = lead.times.handed_off_at
        signals = sorted(
            {
                a.kind
                for a in activities
                if a.kind in self._signals
                and handed_off is not None
                and a.occurred_at >= handed_off
            }
        )
        confirmed = [item for item in BANT_ITEMS if getattr(lead.bant, item) is True]
        reasons: list[str] = []
        by_bant = len(confirmed) >= self._bant_min
        relation = ">=" if by_bant else "<"
        listed = f" ({', '.join(confirmed)})" if confirmed else ""
        reasons.append(f"BANT {len(confirmed)} of 4 confirmed{listed} {relation} {self._bant_min}")
        if signals:
            reasons.append(f"buying signal after handoff: {', '.join(signals)}")
        return Verdict(by_bant or bool(signals), tuple(reasons))

    def hypotheses(
        self, lead: Lead, activities: Sequence[Activity], mql_at: datetime | None
    ) -> dict[Axis, str | None]:
        """Marketing's guess on each axis: the value of the first rule that holds, or None."""
        guesses: dict[Axis, str | None] = {}
        for axis, rules in self._hypotheses.items():
            guesses[axis] = next(
                (value for test, value in rules if test(lead, activities, mql_at)), None
            )
        return guesses
