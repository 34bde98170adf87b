"""Helpers for the field-map tests: writing a map file, collecting its problems, full leads."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mappings.exceptions import FieldMapError
from mappings.fieldmap import FieldMap, load_field_map
from mappings.model import (
    Assessment,
    AxisAssessment,
    Bant,
    Fit,
    Lead,
    LeadTimes,
    Outcome,
    Score,
    ScoreReason,
)

PAYLOADS = Path(__file__).parent / "payloads"
JST = timezone(timedelta(hours=9))


def payload(name: str) -> Any:
    """A recorded API answer from `payloads/`."""
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def write_map(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> FieldMap:
    return load_field_map(write_map(tmp_path, text))


def problems(tmp_path: Path, text: str) -> list[tuple[int | None, str, str]]:
    """(line, key path, message) of every problem the map has."""
    with pytest.raises(FieldMapError) as caught:
        load_field_map(write_map(tmp_path, text))
    return [(p.line, p.key_path, p.message) for p in caught.value.problems]


def full_lead() -> Lead:
    """A lead with every canonical field set, Japanese text included."""
    return Lead(
        key="lead-0001",
        email="taro.yamada@example.co.jp",
        first_name="太郎",
        last_name="山田",
        hubspot_id="51",
        salesforce_id="00Q5g00000AbCdEEAV",
        fit=Fit(
            company="株式会社サンプル製作所",
            title="情報システム部 部長",
            industry="製造業",
            employees=300,
            country="日本",
            source="ORGANIC_SEARCH",
            campaign="2026春 製造業DXウェビナー",
            owner="hanako.suzuki@example.co.jp",
        ),
        stage="recycled",
        stage_reason="来期の予算確定後に再提案",
        score=Score(
            total=65,
            behaviour=45,
            fit=20,
            reasons=(
                ScoreReason("content_download", 10, 2),
                ScoreReason("unsubscribe", -20),
                ScoreReason("決裁者の役職", 15),
            ),
        ),
        times=LeadTimes(
            first_seen=datetime(2025, 12, 1, 11, 15, tzinfo=JST),
            mql_at=datetime(2026, 1, 8, 14, 20, 11, tzinfo=JST),
            handed_off_at=datetime(2026, 1, 8, 14, 25, tzinfo=JST),
            first_touch_at=datetime(2026, 1, 9, 9, 30, tzinfo=JST),
            sql_at=datetime(2026, 1, 13, 10, 0, tzinfo=JST),
            closed_at=datetime(2026, 2, 27, 18, 0, tzinfo=JST),
            recycled_at=datetime(2026, 3, 2, 9, 0, tzinfo=JST),
        ),
        bant=Bant(budget=True, authority=True, need=None, timeline=False),
        assessment=Assessment(
            problem=AxisAssessment("clear", "vague"),
            solution=AxisAssessment("concrete", "comparing"),
            decision=AxisAssessment("single", "consensus"),
            timeline=AxisAssessment("this_term", "next_term"),
        ),
        outcome=Outcome(won=False, amount=Decimal("1200000.50")),
    )


def utc(*parts: int, ms: int = 0) -> datetime:
    """A UTC instant: year, month, day[, hour, minute, second], and milliseconds."""
    year, month, day, hour, minute, second = (*parts, 0, 0, 0)[:6]
    return datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=UTC)
