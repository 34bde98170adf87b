"""Follow-up SLAs: deadlines on the JP business calendar, breach, escalation and watching."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mappings.model import Activity, ActivityKind, Lead, Stage
from sync.sla import SlaRules, SlaStatus
from tests.sync.builders import HOUR, activity, jst, make_config, make_lead

HANDOFF = jst(2026, 1, 9, 19)
"""Friday 2026-01-09 19:00 JST, after hours; Monday 1/12 is 成人の日."""
FIRST_TOUCH_DEADLINE = jst(2026, 1, 15, 18)
FIRST_TOUCH_ESCALATES = jst(2026, 1, 16, 18)

SQL_AT = jst(2026, 1, 16, 15)
"""Friday 2026-01-16 15:00 JST: a 48h promise runs out on Sunday."""
SALES_ACTION_DEADLINE = jst(2026, 1, 18, 15)
SALES_ACTION_ESCALATES = jst(2026, 1, 19, 18)


def handed_off(stage: Stage = "mql") -> Lead:
    return make_lead(stage, mql_at=jst(2026, 1, 9, 17, 30), handed_off_at=HANDOFF)


def qualified(stage: Stage = "sql") -> Lead:
    return make_lead(
        stage,
        mql_at=jst(2026, 1, 9, 17, 30),
        handed_off_at=HANDOFF,
        first_touch_at=jst(2026, 1, 13, 10),
        sql_at=SQL_AT,
    )


def status(
    rules: SlaRules, lead: Lead, activities: list[Activity], now: datetime, name: str
) -> SlaStatus:
    found = [s for s in rules.evaluate(lead, activities, now) if s.sla == name]
    assert len(found) == 1, f"expected one {name} status, got {found}"
    return found[0]


def first_touch(
    rules: SlaRules, now: datetime, activities: list[Activity] | None = None, stage: Stage = "mql"
) -> SlaStatus:
    return status(rules, handed_off(stage), activities or [], now, "first_touch")


def sales_action(
    rules: SlaRules, now: datetime, activities: list[Activity] | None = None, stage: Stage = "sql"
) -> SlaStatus:
    return status(rules, qualified(stage), activities or [], now, "sales_action")


def one_sla(**sla: Any) -> SlaRules:
    spec = {"starts_at": "handoff", "within": "3 business days", **sla}
    return SlaRules(make_config(sla={"first_touch": spec}))


def test_touch_kinds_are_every_kind_that_meets_some_sla(shipped_slas: SlaRules) -> None:
    """What the alerts job reads of a lead's history: the kinds an SLA is met by."""
    assert shipped_slas.touch_kinds == {"call", "meeting", "sales_email"}
    assert one_sla(met_by=["meeting"]).touch_kinds == {"meeting"}


class TestDeadlines:
    def test_first_touch_deadline_in_business_days(self, shipped_slas: SlaRules) -> None:
        """Friday 19:00 + 3 business days skips the weekend and 成人の日: Thursday 18:00."""
        result = first_touch(shipped_slas, jst(2026, 1, 13, 9))
        assert result == SlaStatus(
            sla="first_touch",
            started_at=HANDOFF,
            deadline=FIRST_TOUCH_DEADLINE,
            escalates_at=FIRST_TOUCH_ESCALATES,
            met_at=None,
            level=0,
            overdue=timedelta(0),
            watched=True,
        )
        assert result.state == "due"

    def test_sales_action_deadline_is_calendar_time(self, shipped_slas: SlaRules) -> None:
        """48h after a Friday 15:00 SQL is Sunday 15:00, exactly 48 hours across the weekend."""
        result = sales_action(shipped_slas, jst(2026, 1, 16, 16))
        assert result.deadline == SALES_ACTION_DEADLINE
        assert result.deadline - result.started_at == timedelta(hours=48)
        assert result.escalates_at == SALES_ACTION_ESCALATES
        assert (result.level, result.state, result.watched) == (0, "due", True)

    def test_escalation_counts_business_time_from_a_weekend_deadline(
        self, shipped_slas: SlaRules
    ) -> None:
        """One business day after a Sunday deadline is Monday's closing, 18:00."""
        assert sales_action(shipped_slas, SQL_AT).escalates_at == jst(2026, 1, 19, 18)

    def test_no_escalation_configured(self) -> None:
        """Without escalate_after an SLA has no escalation time and never reaches level 2."""
        result = first_touch(one_sla(), jst(2026, 2, 27, 12))
        assert (result.escalates_at, result.level) == (None, 1)

    def test_deadline_in_business_hours(self) -> None:
        """`8 business hours` from Friday 19:00 ends Tuesday 17:00 (Monday is a holiday)."""
        result = first_touch(one_sla(within="8 business hours"), jst(2026, 1, 13, 9))
        assert result.deadline == jst(2026, 1, 13, 17)


class TestBreachAndEscalation:
    @pytest.mark.parametrize(
        ("now", "level", "overdue_hours"),
        [
            (jst(2026, 1, 15, 17, 59), 0, 0.0),
            (jst(2026, 1, 15, 18), 0, 0.0),
            (jst(2026, 1, 15, 22), 1, 0.0),
            (jst(2026, 1, 16, 10), 1, 1.0),
            (jst(2026, 1, 16, 18), 1, 9.0),
            (jst(2026, 1, 16, 18, 1), 2, 9.0),
            (jst(2026, 1, 17, 12), 2, 9.0),
            (jst(2026, 1, 19, 10), 2, 10.0),
            (jst(2026, 1, 19, 10, 30), 2, 10.5),
        ],
    )
    def test_first_touch_levels(
        self, shipped_slas: SlaRules, now: datetime, level: int, overdue_hours: float
    ) -> None:
        """Level 1 after the deadline, 2 after one more business day; overdue in business hours."""
        result = first_touch(shipped_slas, now)
        assert (result.level, result.overdue_business_hours) == (level, overdue_hours)
        assert result.state == ("breached" if level else "due")
        assert result.watched is True

    @pytest.mark.parametrize(
        ("now", "level", "overdue_hours"),
        [
            (jst(2026, 1, 18, 15), 0, 0.0),
            (jst(2026, 1, 18, 23), 1, 0.0),
            (jst(2026, 1, 19, 10), 1, 1.0),
            (jst(2026, 1, 19, 18), 1, 9.0),
            (jst(2026, 1, 19, 18, 30), 2, 9.0),
            (jst(2026, 1, 20, 9, 30), 2, 9.5),
        ],
    )
    def test_sales_action_levels(
        self, shipped_slas: SlaRules, now: datetime, level: int, overdue_hours: float
    ) -> None:
        """A calendar-time SLA breaches on Sunday but is overdue only in business hours."""
        result = sales_action(shipped_slas, now)
        assert (result.level, result.overdue_business_hours) == (level, overdue_hours)

    def test_overdue_exact_timedelta(self, shipped_slas: SlaRules) -> None:
        """Overdue is Friday's nine hours plus Monday 09:00-11:15, nights and weekend excluded."""
        result = first_touch(shipped_slas, jst(2026, 1, 19, 11, 15))
        assert result.overdue == timedelta(hours=11, minutes=15)


class TestMeetingTheSla:
    @pytest.mark.parametrize(
        "touched", [jst(2026, 1, 13, 9), jst(2026, 1, 15, 17, 59), FIRST_TOUCH_DEADLINE]
    )
    def test_touch_at_or_before_deadline_is_on_time(
        self, shipped_slas: SlaRules, touched: datetime
    ) -> None:
        """A call at or before the deadline meets the SLA and it stays met later on."""
        result = first_touch(shipped_slas, jst(2026, 1, 20, 12), [activity("call", touched)])
        assert (result.met_at, result.level, result.state) == (touched, 0, "met")
        assert (result.overdue, result.watched) == (timedelta(0), False)

    @pytest.mark.parametrize("kind", ["call", "meeting", "sales_email"])
    def test_every_sales_touch_kind_meets_it(
        self, shipped_slas: SlaRules, kind: ActivityKind
    ) -> None:
        """Any of call, meeting and sales e-mail meets the shipped first-touch SLA."""
        touched = jst(2026, 1, 14, 11)
        result = first_touch(shipped_slas, jst(2026, 1, 14, 12), [activity(kind, touched)])
        assert result.met_at == touched

    def test_late_touch_meets_it_late(self, shipped_slas: SlaRules) -> None:
        """A call on Monday 11:00 is breached and escalated, 11 business hours overdue."""
        touched = jst(2026, 1, 19, 11)
        result = first_touch(shipped_slas, jst(2026, 1, 22, 12), [activity("call", touched)])
        assert (result.met_at, result.level, result.state) == (touched, 2, "breached")
        assert (result.overdue_business_hours, result.watched) == (11.0, False)

    def test_late_touch_before_escalation_stays_level_one(self, shipped_slas: SlaRules) -> None:
        """A call on Friday 1/16 at 15:00 is late but not escalated: level 1, 6 hours."""
        touched = jst(2026, 1, 16, 15)
        result = first_touch(shipped_slas, jst(2026, 1, 22, 12), [activity("call", touched)])
        assert (result.level, result.overdue_business_hours) == (1, 6.0)

    @pytest.mark.parametrize(
        "kind", ["email_open", "inquiry", "demo_request", "content_download", "page_view"]
    )
    def test_marketing_activity_does_not_meet_it(
        self, shipped_slas: SlaRules, kind: ActivityKind
    ) -> None:
        """A lead's own activity is not a sales touch and leaves the SLA unmet."""
        result = first_touch(
            shipped_slas, jst(2026, 1, 16, 10), [activity(kind, jst(2026, 1, 13, 10))]
        )
        assert (result.met_at, result.level) == (None, 1)

    def test_only_configured_kinds_meet_it(self) -> None:
        """With met_by [meeting], a call does not meet the SLA and a meeting does."""
        rules = one_sla(met_by=["meeting"])
        call = activity("call", jst(2026, 1, 13, 10))
        meeting = activity("meeting", jst(2026, 1, 14, 10))
        assert first_touch(rules, jst(2026, 1, 13, 12), [call]).met_at is None
        assert first_touch(rules, jst(2026, 1, 14, 12), [call, meeting]).met_at == jst(
            2026, 1, 14, 10
        )

    @pytest.mark.parametrize(
        ("touched", "met"),
        [(jst(2026, 1, 9, 18), False), (HANDOFF - timedelta(seconds=1), False), (HANDOFF, True)],
    )
    def test_touch_before_start_does_not_meet_it(
        self, shipped_slas: SlaRules, touched: datetime, met: bool
    ) -> None:
        """A call before the handoff does not meet the SLA; one at the handoff instant does."""
        result = first_touch(shipped_slas, jst(2026, 1, 13, 9), [activity("call", touched)])
        assert result.met_at == (touched if met else None)

    def test_touch_after_now_is_not_yet_seen(self, shipped_slas: SlaRules) -> None:
        """A call recorded for later than now does not meet the SLA yet."""
        result = first_touch(
            shipped_slas, jst(2026, 1, 16, 10), [activity("call", jst(2026, 1, 16, 11))]
        )
        assert (result.met_at, result.level) == (None, 1)

    def test_first_qualifying_touch_is_the_one(self, shipped_slas: SlaRules) -> None:
        """With several calls, the first one at or after the start meets the SLA."""
        calls = [
            activity("call", jst(2026, 1, 8, 10)),
            activity("sales_email", jst(2026, 1, 13, 10)),
            activity("call", jst(2026, 1, 14, 10)),
        ]
        result = first_touch(shipped_slas, jst(2026, 1, 20, 12), calls)
        assert result.met_at == jst(2026, 1, 13, 10)


class TestWatching:
    @pytest.mark.parametrize(
        ("stage", "watched"),
        [("mql", True), ("recycled", False), ("disqualified", False), ("sql", False)],
    )
    def test_first_touch_watched_only_while_mql(
        self, shipped_slas: SlaRules, stage: Stage, watched: bool
    ) -> None:
        """An unmet handoff SLA stops being watched once the lead leaves the mql stage."""
        result = first_touch(shipped_slas, jst(2026, 1, 16, 10), stage=stage)
        assert (result.watched, result.met_at) == (watched, None)

    @pytest.mark.parametrize(
        ("stage", "watched"), [("sql", True), ("recycled", False), ("opportunity", False)]
    )
    def test_sales_action_watched_only_while_sql(
        self, shipped_slas: SlaRules, stage: Stage, watched: bool
    ) -> None:
        """An unmet sales-action SLA is watched while the lead is SQL, and not after recycling."""
        assert sales_action(shipped_slas, jst(2026, 1, 19, 10), stage=stage).watched is watched

    def test_mql_start_sla(self) -> None:
        """An SLA starting at MQL runs from mql_at and is watched while the lead is MQL."""
        rules = one_sla(starts_at="mql", within="24h")
        result = first_touch(rules, jst(2026, 1, 10, 18))
        assert (result.started_at, result.deadline, result.level) == (
            jst(2026, 1, 9, 17, 30),
            jst(2026, 1, 10, 17, 30),
            1,
        )
        assert result.watched is True


class TestWhenSlasStart:
    def test_no_sla_before_handoff(self, shipped_slas: SlaRules) -> None:
        """An MQL not yet handed off owes nothing."""
        lead = make_lead("mql", mql_at=jst(2026, 1, 9, 17, 30))
        assert shipped_slas.evaluate(lead, [], jst(2026, 1, 20, 12)) == []

    def test_sales_action_only_starts_at_sql(self, shipped_slas: SlaRules) -> None:
        """A handed-off MQL has only the first-touch SLA; an SQL has the sales-action one too."""
        now = jst(2026, 1, 19, 12)
        before = shipped_slas.evaluate(handed_off(), [], now)
        after = shipped_slas.evaluate(qualified(), [], now)
        assert [s.sla for s in before] == ["first_touch"]
        assert [(s.sla, s.started_at) for s in after] == [
            ("first_touch", HANDOFF),
            ("sales_action", SQL_AT),
        ]

    def test_sla_starting_after_now_is_not_listed(self, shipped_slas: SlaRules) -> None:
        """An evaluation before the handoff instant lists no SLA."""
        assert shipped_slas.evaluate(handed_off(), [], HANDOFF - HOUR) == []

    def test_sales_action_met_by_a_call_after_sql(self, shipped_slas: SlaRules) -> None:
        """The first-touch call before SQL does not meet the sales-action SLA; a later call does."""
        calls = [activity("call", jst(2026, 1, 13, 10)), activity("meeting", jst(2026, 1, 17, 11))]
        result = sales_action(shipped_slas, jst(2026, 1, 19, 12), calls)
        assert (result.met_at, result.state, result.watched) == (jst(2026, 1, 17, 11), "met", False)
