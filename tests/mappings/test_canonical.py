"""Setting canonical values on a lead: nested fields, unchanged values, the outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings._canonical import apply_values
from mappings.model import AxisAssessment, Outcome
from tests.mappings.support import full_lead


def test_values_in_one_nested_dataclass_and_a_deeper_one_are_all_set() -> None:
    lead = full_lead()
    updated = apply_values(
        lead,
        {
            "fit.company": "株式会社例示",
            "fit.employees": 1200,
            "assessment.problem.observed": "clear",
            "email": " Taro.Yamada@Example.co.jp ",
        },
    )
    assert updated.fit.company == "株式会社例示"
    assert updated.fit.employees == 1200
    assert updated.fit.title == lead.fit.title
    assert updated.assessment.problem == AxisAssessment("clear", "clear")
    assert updated.assessment.solution == lead.assessment.solution
    assert updated.email == "taro.yamada@example.co.jp"
    assert lead.fit.company == "株式会社サンプル製作所"  # the original is not mutated


def test_values_the_lead_already_holds_change_nothing() -> None:
    lead = full_lead()
    same = apply_values(lead, {"fit.company": lead.fit.company, "bant.need": None})
    assert same is lead


def test_the_same_instant_in_another_zone_changes_nothing() -> None:
    lead = full_lead()
    assert lead.times.mql_at is not None
    assert apply_values(lead, {"times.mql_at": lead.times.mql_at.astimezone(UTC)}) is lead


def test_an_equal_value_of_another_type_is_set_as_given() -> None:
    """Decimal("300") equals 300 but is not what the lead held: it is set, not skipped."""
    updated = apply_values(full_lead(), {"fit.employees": Decimal("300")})
    assert type(updated.fit.employees) is Decimal


def test_an_amount_alone_needs_an_outcome() -> None:
    lead = full_lead()
    no_outcome = apply_values(lead, {"outcome.won": None})
    assert no_outcome.outcome is None
    assert apply_values(no_outcome, {"outcome.amount": Decimal(5)}).outcome is None
    won = apply_values(no_outcome, {"outcome.won": True, "outcome.amount": Decimal(5)})
    assert won.outcome == Outcome(won=True, amount=Decimal(5))


def test_a_write_only_link_cannot_be_read_into_a_lead() -> None:
    with pytest.raises(ValueError, match="write-only"):
        apply_values(full_lead(), {"hubspot_url": "https://app.hubspot.com/x"})


def test_a_recycle_reason_sets_the_stage_reason() -> None:
    updated = apply_values(full_lead(), {"recycle_reason": "競合に決定"})
    assert updated.stage_reason == "競合に決定"
    assert updated.times.first_seen == datetime(2025, 12, 1, 2, 15, tzinfo=UTC)
