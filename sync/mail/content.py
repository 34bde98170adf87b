"""What an alert e-mail is about, as plain typed values: the lead and the breached SLA.

The alerts job builds these from its own records; nothing here reads the state store or
talks to a CRM. `reasons` are the scoring model's own `ScoreReason`s (rule, points, count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from mappings.model import ScoreReason

Language = Literal["ja", "en"]
"""The languages the shipped templates are written in."""

LANGUAGES: tuple[Language, ...] = get_args(Language)

AlertLevel = Literal[1, 2]
"""1: breached, the owner is told. 2: escalated, the escalation list is told."""

ALERT_LEVELS: tuple[AlertLevel, ...] = get_args(AlertLevel)

ALERT_HEADER = "X-Leadloop-Alert"
"""`<sla>/<level>` on every alert e-mail."""

DIGEST_HEADER = "X-Leadloop-Digest"
"""The day (ISO date) on every digest e-mail."""


@dataclass(frozen=True, slots=True)
class AlertLead:
    """The lead an alert is about, with what the reader needs to act on it."""

    name: str
    company: str | None
    email: str | None
    score: int
    reasons: tuple[ScoreReason, ...]
    handed_off_at: datetime
    salesforce_url: str | None = None
    hubspot_url: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name must not be empty")
        _require_aware(self.handed_off_at, "handed_off_at")
        for name in ("salesforce_url", "hubspot_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL, was {url!r}")


@dataclass(frozen=True, slots=True)
class Breach:
    """One SLA of one lead past its deadline, at one escalation level."""

    lead: AlertLead
    sla: str
    """The SLA's name in `leadloop.yaml`, e.g. `first_touch`."""
    level: AlertLevel
    deadline: datetime
    overdue_business_hours: float

    def __post_init__(self) -> None:
        if not self.sla:
            raise ValueError("sla must not be empty")
        if self.level not in ALERT_LEVELS:
            raise ValueError(f"level must be 1 or 2, was {self.level!r}")
        _require_aware(self.deadline, "deadline")
        if self.overdue_business_hours < 0:
            raise ValueError(
                f"overdue_business_hours must not be negative, was {self.overdue_business_hours}"
            )


def _require_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, was {value.isoformat()}")
