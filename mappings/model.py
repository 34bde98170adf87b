"""The canonical lead model: what leadloop knows about a lead, in no CRM's words.

Pure data. Nothing here does I/O or knows HubSpot or Salesforce field names; the field
maps translate CRM records to and from these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

Stage = Literal["lead", "mql", "sql", "opportunity", "won", "lost", "recycled", "disqualified"]
"""Where a lead stands. Handoff is an event with a time (`LeadTimes.handed_off_at`), not a stage."""

STAGES: tuple[Stage, ...] = get_args(Stage)

MarketingActivityKind = Literal[
    "email_open",
    "email_click",
    "form_submit",
    "content_download",
    "webinar_attended",
    "page_view",
    "inquiry",
    "demo_request",
    "quote_request",
    "unsubscribe",
]
SalesActivityKind = Literal["call", "meeting", "sales_email"]
ActivityKind = Literal[MarketingActivityKind, SalesActivityKind]
"""Every kind of activity leadloop understands; a closed set."""

MARKETING_ACTIVITY_KINDS: frozenset[str] = frozenset(get_args(MarketingActivityKind))
SALES_ACTIVITY_KINDS: frozenset[str] = frozenset(get_args(SalesActivityKind))
ACTIVITY_KINDS: tuple[ActivityKind, ...] = (
    *get_args(MarketingActivityKind),
    *get_args(SalesActivityKind),
)

Axis = Literal["problem", "solution", "decision", "timeline"]
"""The four axes on which sales corrects marketing's guess about a lead."""

AXES: tuple[Axis, ...] = get_args(Axis)
AXIS_VALUES: dict[Axis, tuple[str, ...]] = {
    "problem": ("clear", "vague", "unorganized"),
    "solution": ("concrete", "comparing", "not_understood"),
    "decision": ("single", "consensus", "unknown"),
    "timeline": ("this_term", "next_term", "undecided"),
}

BantItem = Literal["budget", "authority", "need", "timeline"]
BANT_ITEMS: tuple[BantItem, ...] = get_args(BantItem)

FitField = Literal[
    "email", "company", "title", "industry", "employees", "country", "source", "campaign", "owner"
]
"""Canonical fields that fit rules and hypotheses may test."""

FIT_FIELDS: tuple[FitField, ...] = get_args(FitField)


def normalize_email(email: str) -> str:
    """The form in which e-mail addresses are compared and stored: trimmed, lower case."""
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class Fit:
    """Who the lead is: the attributes fit rules score."""

    company: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None
    source: str | None = None
    campaign: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreReason:
    """One scoring rule that fired: its name, the points it gave and how many times it counted."""

    rule: str
    points: int
    count: int = 1


@dataclass(frozen=True, slots=True)
class Score:
    """A lead's score and the reasons for it, so every MQL can be checked."""

    total: int = 0
    behaviour: int = 0
    fit: int = 0
    reasons: tuple[ScoreReason, ...] = ()


@dataclass(frozen=True, slots=True)
class LeadTimes:
    """When the lead reached each milestone; None until it has."""

    first_seen: datetime | None = None
    mql_at: datetime | None = None
    handed_off_at: datetime | None = None
    first_touch_at: datetime | None = None
    sql_at: datetime | None = None
    closed_at: datetime | None = None
    recycled_at: datetime | None = None
    """When the lead last went back to nurture; it must act again after this to requalify."""


@dataclass(frozen=True, slots=True)
class Bant:
    """What sales has confirmed: None is not asked yet, False is asked and not confirmed."""

    budget: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    timeline: bool | None = None

    @property
    def confirmed(self) -> int:
        """How many of the four items are confirmed."""
        return sum(1 for item in BANT_ITEMS if getattr(self, item) is True)


@dataclass(frozen=True, slots=True)
class AxisAssessment:
    """One axis: marketing's hypothesis from digital footprints and what sales observed."""

    hypothesis: str | None = None
    observed: str | None = None

    @property
    def corrected(self) -> bool:
        """Sales observed a value different from marketing's hypothesis."""
        return self.observed is not None and self.observed != self.hypothesis


@dataclass(frozen=True, slots=True)
class Assessment:
    """The four-axis view of a lead (see `AXIS_VALUES` for the values of each axis)."""

    problem: AxisAssessment = field(default_factory=AxisAssessment)
    solution: AxisAssessment = field(default_factory=AxisAssessment)
    decision: AxisAssessment = field(default_factory=AxisAssessment)
    timeline: AxisAssessment = field(default_factory=AxisAssessment)

    def axis(self, name: Axis) -> AxisAssessment:
        """The assessment of one axis by name."""
        value: AxisAssessment = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the opportunity closed."""

    won: bool
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """A person a company is trying to sell to, as both marketing and sales see them.

    `key` is leadloop's own stable identifier; `email` is normalized (see `normalize_email`).
    """

    key: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    hubspot_id: str | None = None
    salesforce_id: str | None = None
    fit: Fit = field(default_factory=Fit)
    stage: Stage = "lead"
    stage_reason: str | None = None
    score: Score = field(default_factory=Score)
    times: LeadTimes = field(default_factory=LeadTimes)
    bant: Bant = field(default_factory=Bant)
    assessment: Assessment = field(default_factory=Assessment)
    outcome: Outcome | None = None

    def fit_value(self, name: FitField) -> str | int | None:
        """The value of a fit field, `email` included, by canonical name."""
        if name == "email":
            return self.email
        value: str | int | None = getattr(self.fit, name)
        return value


@dataclass(frozen=True, slots=True)
class ActivityDetail:
    """What an activity was about: the page, the form or asset, the campaign."""

    url: str | None = None
    name: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """Something a lead did (marketing side) or sales did with a lead (sales side).

    `dedupe_key` is stable across re-reads of the same source record, so reading it twice
    stores it once.
    """

    lead_key: str
    kind: ActivityKind
    occurred_at: datetime
    detail: ActivityDetail = field(default_factory=ActivityDetail)
    dedupe_key: str = ""

    @property
    def is_sales_touch(self) -> bool:
        """A sales-side activity: a call, a meeting or a sales e-mail."""
        return self.kind in SALES_ACTIVITY_KINDS


@dataclass(frozen=True, slots=True)
class StageChange:
    """A lead moved from one stage to another, with the reasons that moved it."""

    lead_key: str
    from_stage: Stage
    to_stage: Stage
    at: datetime
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Correction:
    """Sales observed a different value than marketing's hypothesis on one axis."""

    lead_key: str
    axis: Axis
    hypothesis: str | None
    observed: str
    at: datetime
    source: str = "sales"
