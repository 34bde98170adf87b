"""Builders for the rule tests: configs, leads, activities and JST times."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mappings.model import Activity, ActivityDetail, ActivityKind, Fit, Lead, LeadTimes, Stage
from sync.config import Config, ScoringConfig
from sync.scoring import Scorer

TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SHIPPED_PATH = Path(__file__).parents[2] / "examples" / "leadloop.yaml"
LEAD_KEY = "lead-1"

BASE_CONFIG: dict[str, Any] = {"mql": {"min_score": 50}}
"""The smallest valid config; `make_config` replaces its top-level keys."""


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime on the Tokyo wall clock."""
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


NOW = jst(2026, 2, 2, 12)
"""A Monday noon used as `now` by the scoring tests."""


def make_config(**overrides: Any) -> Config:
    """A validated `Config` from the minimal one with some top-level keys replaced."""
    data = copy.deepcopy(BASE_CONFIG)
    data.update(overrides)
    return Config.model_validate(data)


def make_scorer(
    behaviour: Sequence[dict[str, Any]] = (), fit: Sequence[dict[str, Any]] = ()
) -> Scorer:
    """A scorer from plain rule dicts, as they would be written in leadloop.yaml."""
    return Scorer(ScoringConfig.model_validate({"behaviour": list(behaviour), "fit": list(fit)}))


def activity(
    kind: ActivityKind,
    at: datetime,
    url: str | None = None,
    name: str | None = None,
    lead_key: str = LEAD_KEY,
) -> Activity:
    """One activity of the test lead."""
    return Activity(lead_key, kind, at, ActivityDetail(url=url, name=name))


def make_lead(
    stage: Stage = "lead",
    *,
    industry: str | None = None,
    title: str | None = None,
    employees: int | None = None,
    **times: datetime | None,
) -> Lead:
    """The test lead in a stage, with some fit fields and milestone times."""
    fit = Fit(industry=industry, title=title, employees=employees)
    return Lead(
        LEAD_KEY, email="tanaka@example.co.jp", fit=fit, stage=stage, times=LeadTimes(**times)
    )
