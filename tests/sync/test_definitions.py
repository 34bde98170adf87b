"""The agreed MQL and SQL definitions and marketing's four-axis hypotheses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mappings.model import Activity, ActivityKind, Bant, Lead, Score
from sync.definitions import LeadRules, Verdict
from tests.sync.builders import DAY, HOUR, activity, jst, make_config, make_lead

T = jst(2026, 1, 13, 10)
"""Tuesday 10:00 JST: the moment of handoff or recycle in these tests."""

REQUIRED = ["content_download", "webinar_attended"]


def mql_rules(**mql: Any) -> LeadRules:
    return LeadRules(make_config(mql={"min_score": 50, **mql}))


def sql_rules(**sql: Any) -> LeadRules:
    return LeadRules(make_config(sql=sql))


def hypothesis_rules(**axes: Any) -> LeadRules:
    return LeadRules(make_config(hypotheses=axes))


class TestMqlScore:
    @pytest.mark.parametrize(
        ("total", "met", "reason"),
        [(49, False, "score 49 < 50"), (50, True, "score 50 >= 50"), (51, True, "score 51 >= 50")],
    )
    def test_threshold_is_inclusive(self, total: int, met: bool, reason: str) -> None:
        """A score exactly at min_score qualifies; one point below does not."""
        verdict = mql_rules().mql(make_lead(), Score(total=total), [])
        assert verdict == Verdict(met, (reason,))

    def test_shipped_threshold(self, shipped_rules: LeadRules) -> None:
        """The shipped definition wants 50 points and a download or webinar."""
        acts = [activity("webinar_attended", T)]
        verdict = shipped_rules.mql(make_lead(), Score(total=50), acts)
        assert verdict == Verdict(True, ("score 50 >= 50", "required activity: webinar_attended"))


class TestMqlRequiredActivity:
    @pytest.mark.parametrize(
        ("kinds", "listed"),
        [
            (["content_download"], "content_download"),
            (["webinar_attended"], "webinar_attended"),
            (["webinar_attended", "content_download"], "content_download, webinar_attended"),
            (["content_download", "content_download", "inquiry"], "content_download"),
        ],
    )
    def test_any_one_required_activity_is_enough(
        self, kinds: list[ActivityKind], listed: str
    ) -> None:
        """Any of the required kinds qualifies; the reason lists the kinds seen, sorted, once."""
        acts = [activity(kind, T + n * HOUR) for n, kind in enumerate(kinds)]
        verdict = mql_rules(required_activity=REQUIRED).mql(make_lead(), Score(total=60), acts)
        assert verdict == Verdict(True, ("score 60 >= 50", f"required activity: {listed}"))

    def test_high_score_without_required_activity_is_not_mql(self) -> None:
        """500 points from inquiries and pricing views is not an MQL without a required action."""
        acts = [activity("inquiry", T), activity("page_view", T, "/pricing")]
        verdict = mql_rules(required_activity=REQUIRED).mql(make_lead(), Score(total=500), acts)
        assert verdict == Verdict(
            False,
            ("score 500 >= 50", "no required activity (content_download or webinar_attended)"),
        )

    def test_required_activity_does_not_rescue_a_low_score(self) -> None:
        """A download does not make up for a score under the threshold."""
        acts = [activity("content_download", T)]
        verdict = mql_rules(required_activity=REQUIRED).mql(make_lead(), Score(total=10), acts)
        assert verdict == Verdict(False, ("score 10 < 50", "required activity: content_download"))

    def test_no_required_activity_configured(self) -> None:
        """Without required_activity the score alone decides and no activity reason is given."""
        verdict = mql_rules().mql(make_lead(), Score(total=50), [])
        assert verdict == Verdict(True, ("score 50 >= 50",))


class TestMqlAfterRecycle:
    @pytest.mark.parametrize(
        ("offset", "met"),
        [(-DAY, False), (0 * DAY, False), (timedelta(minutes=1), True), (30 * DAY, True)],
    )
    def test_required_action_must_follow_the_recycle(self, offset: timedelta, met: bool) -> None:
        """A recycled lead needs a required action strictly after the recycle time."""
        acts = [activity("content_download", T + offset)]
        verdict = mql_rules(required_activity=REQUIRED).mql(make_lead(), Score(total=80), acts, T)
        assert verdict.met is met

    def test_reasons_say_after_recycle(self) -> None:
        """The reasons name the recycle: what was seen after it, or what was wanted."""
        rules = mql_rules(required_activity=REQUIRED)
        before = [activity("content_download", T - DAY)]
        after = [*before, activity("webinar_attended", T + DAY)]
        assert rules.mql(make_lead(), Score(total=80), before, T).reasons == (
            "score 80 >= 50",
            "no required activity after recycle (content_download or webinar_attended)",
        )
        assert rules.mql(make_lead(), Score(total=80), after, T).reasons == (
            "score 80 >= 50",
            "required activity after recycle: webinar_attended",
        )


class TestMqlFit:
    FIT = (
        {"field": "industry", "in": ["製造業", "IT"]},
        {"field": "employees", "min": 100},
    )

    def test_all_fit_conditions_hold(self) -> None:
        """A lead meeting every fit condition qualifies, each condition named in the reasons."""
        lead = make_lead(industry="製造業", employees=300)
        verdict = mql_rules(fit=list(self.FIT)).mql(lead, Score(total=50), [])
        assert verdict == Verdict(
            True, ("score 50 >= 50", "fit industry in [製造業, IT]", "fit 100 <= employees")
        )

    @pytest.mark.parametrize(
        ("industry", "employees", "failed"),
        [
            ("小売業", 300, ["fit not met: industry in [製造業, IT]", "fit 100 <= employees"]),
            ("IT", 99, ["fit industry in [製造業, IT]", "fit not met: 100 <= employees"]),
            ("IT", None, ["fit industry in [製造業, IT]", "fit not met: 100 <= employees"]),
        ],
    )
    def test_one_failing_condition_fails_the_mql(
        self, industry: str, employees: int | None, failed: list[str]
    ) -> None:
        """One failed fit condition (a missing value included) blocks the MQL despite the score."""
        lead = make_lead(industry=industry, employees=employees)
        verdict = mql_rules(fit=list(self.FIT)).mql(lead, Score(total=90), [])
        assert verdict == Verdict(False, ("score 90 >= 50", *failed))

    @pytest.mark.parametrize(
        ("condition", "text"),
        [
            ({"field": "industry", "equals": "IT"}, "industry = IT"),
            ({"field": "title", "regex": "部長|CEO"}, "title matches /部長|CEO/"),
            ({"field": "employees", "min": 100, "max": 5000}, "100 <= employees <= 5000"),
            ({"field": "employees", "max": 5000}, "employees <= 5000"),
            ({"field": "employees", "min": 0.5}, "0.5 <= employees"),
        ],
    )
    def test_condition_descriptions(self, condition: dict[str, Any], text: str) -> None:
        """Each fit condition is described in plain words in the reasons."""
        verdict = mql_rules(fit=[condition]).mql(Lead("x"), Score(total=50), [])
        assert verdict.reasons == ("score 50 >= 50", f"fit not met: {text}")


def with_bant(**items: bool | None) -> Lead:
    return Lead("lead-1", stage="mql", bant=Bant(**items))


class TestSqlBant:
    @pytest.mark.parametrize(
        ("bant_min", "items", "met", "reason"),
        [
            (3, {}, False, "BANT 0 of 4 confirmed < 3"),
            (
                3,
                {"budget": True, "timeline": True},
                False,
                "BANT 2 of 4 confirmed (budget, timeline) < 3",
            ),
            (
                3,
                {"budget": True, "authority": True, "need": True},
                True,
                "BANT 3 of 4 confirmed (budget, authority, need) >= 3",
            ),
            (
                3,
                {"budget": True, "authority": True, "need": True, "timeline": True},
                True,
                "BANT 4 of 4 confirmed (budget, authority, need, timeline) >= 3",
            ),
            (
                3,
                {"budget": True, "authority": True, "need": False, "timeline": False},
                False,
                "BANT 2 of 4 confirmed (budget, authority) < 3",
            ),
            (2, {"need": True}, False, "BANT 1 of 4 confirmed (need) < 2"),
            (
                2,
                {"need": True, "timeline": True},
                True,
                "BANT 2 of 4 confirmed (need, timeline) >= 2",
            ),
            (
                4,
                {"budget": True, "authority": True, "need": True},
                False,
                "BANT 3 of 4 confirmed (budget, authority, need) < 4",
            ),
        ],
    )
    def test_k_of_four(self, bant_min: int, items: dict[str, bool], met: bool, reason: str) -> None:
        """SQL needs at least bant_min items confirmed True; False and unasked do not count."""
        verdict = sql_rules(bant_min=bant_min).sql(with_bant(**items), [])
        assert verdict == Verdict(met, (reason,))

    def test_default_is_three_of_four(self) -> None:
        """Without bant_min the definition wants three of four."""
        verdict = LeadRules(make_config()).sql(with_bant(budget=True, need=True), [])
        assert verdict == Verdict(False, ("BANT 2 of 4 confirmed (budget, need) < 3",))


class TestSqlBuyingSignal:
    SIGNALS = ("demo_request", "quote_request")

    def handed_off(self) -> Lead:
        return make_lead("mql", handed_off_at=T)

    @pytest.mark.parametrize(
        ("offset", "met"), [(-HOUR, False), (0 * HOUR, True), (HOUR, True), (10 * DAY, True)]
    )
    def test_signal_counts_only_after_handoff(self, offset: timedelta, met: bool) -> None:
        """A demo request at or after handoff qualifies; one before handoff does not."""
        rules = sql_rules(buying_signals=list(self.SIGNALS))
        verdict = rules.sql(self.handed_off(), [activity("demo_request", T + offset)])
        assert verdict.met is met

    def test_reasons_name_the_signals(self) -> None:
        """The reasons name each signal kind seen after handoff, sorted, after the BANT line."""
        rules = sql_rules(buying_signals=list(self.SIGNALS))
        acts = [
            activity("demo_request", T - DAY),
            activity("quote_request", T + HOUR),
            activity("demo_request", T + DAY),
        ]
        assert rules.sql(self.handed_off(), acts) == Verdict(
            True,
            (
                "BANT 0 of 4 confirmed < 3",
                "buying signal after handoff: demo_request, quote_request",
            ),
        )

    def test_no_signal_before_any_handoff(self) -> None:
        """Without a handoff no activity is a buying signal."""
        rules = sql_rules(buying_signals=list(self.SIGNALS))
        verdict = rules.sql(make_lead("mql"), [activity("quote_request", T)])
        assert verdict == Verdict(False, ("BANT 0 of 4 confirmed < 3",))

    def test_other_kinds_are_not_signals(self) -> None:
        """An inquiry after handoff is not a buying signal unless configured as one."""
        rules = sql_rules(buying_signals=list(self.SIGNALS))
        assert rules.sql(self.handed_off(), [activity("inquiry", T + HOUR)]).met is False

    def test_shipped_signal(self, shipped_rules: LeadRules) -> None:
        """The shipped definition: a quote request after handoff makes an SQL with 0 BANT."""
        verdict = shipped_rules.sql(self.handed_off(), [activity("quote_request", T + DAY)])
        assert verdict == Verdict(
            True, ("BANT 0 of 4 confirmed < 3", "buying signal after handoff: quote_request")
        )


MQL_AT = jst(2026, 2, 2, 12)


def first_activity_days_before_mql(days: int) -> list[Activity]:
    return [activity("email_open", MQL_AT - days * DAY)]


class TestHypotheses:
    def test_activity_seen(self) -> None:
        """A rule on an activity kind holds once the lead has done that kind of thing."""
        rules = hypothesis_rules(
            problem=[{"when": {"activity": "content_download"}, "value": "clear"}]
        )
        lead = make_lead()
        assert rules.hypotheses(lead, [activity("content_download", T)], None)["problem"] == "clear"
        assert rules.hypotheses(lead, [activity("webinar_attended", T)], None)["problem"] is None

    @pytest.mark.parametrize(
        ("url", "name", "expected"),
        [
            ("/pricing", "料金", "concrete"),
            ("/pricing", None, "concrete"),
            ("/features", None, None),
            (None, None, None),
        ],
    )
    def test_activity_with_url_filter(
        self, url: str | None, name: str | None, expected: str | None
    ) -> None:
        """An activity rule with url_contains holds only for a matching page."""
        rules = hypothesis_rules(
            solution=[
                {"when": {"activity": "page_view", "url_contains": "/pricing"}, "value": "concrete"}
            ]
        )
        acts = [activity("page_view", T, url, name)]
        assert rules.hypotheses(make_lead(), acts, None)["solution"] == expected

    def test_activity_with_name_filter(self) -> None:
        """An activity rule with name_matches tests the asset name, ignoring case."""
        rules = hypothesis_rules(
            problem=[
                {
                    "when": {"activity": "content_download", "name_matches": "checklist"},
                    "value": "unorganized",
                }
            ]
        )
        hit = [activity("content_download", T, name="DX Checklist")]
        miss = [activity("content_download", T, name="Case studies")]
        assert rules.hypotheses(make_lead(), hit, None)["problem"] == "unorganized"
        assert rules.hypotheses(make_lead(), miss, None)["problem"] is None

    @pytest.mark.parametrize(
        ("when", "lead", "expected"),
        [
            ({"field": "title", "regex": "部長|CEO"}, make_lead(title="営業部長"), "single"),
            ({"field": "title", "regex": "部長|CEO"}, make_lead(title="主任"), None),
            ({"field": "title", "regex": "部長|CEO"}, make_lead(), None),
            ({"field": "industry", "equals": "it"}, make_lead(industry=" IT "), "single"),
            ({"field": "industry", "in": ["製造業", "IT"]}, make_lead(industry="製造業"), "single"),
            ({"field": "industry", "in": ["製造業", "IT"]}, make_lead(industry="小売業"), None),
            ({"field": "employees", "max": 50}, make_lead(employees=50), "single"),
            ({"field": "employees", "max": 50}, make_lead(employees=51), None),
            ({"field": "employees", "min": 100, "max": 300}, make_lead(employees=100), "single"),
        ],
    )
    def test_fit_field(self, when: dict[str, Any], lead: Lead, expected: str | None) -> None:
        """A rule on a fit field uses the same tests as fit scoring."""
        rules = hypothesis_rules(decision=[{"when": when, "value": "single"}])
        assert rules.hypotheses(lead, [], None)["decision"] == expected

    @pytest.mark.parametrize(
        ("days", "expected"),
        [(0, "this_term"), (29, "this_term"), (30, "this_term"), (31, "next_term")],
    )
    def test_mql_within(self, days: int, expected: str) -> None:
        """`mql_within: 30 days` holds when MQL came at most 30 days after the first activity."""
        rules = hypothesis_rules(
            timeline=[
                {"when": {"mql_within": "30 days"}, "value": "this_term"},
                {"value": "next_term"},
            ]
        )
        acts = first_activity_days_before_mql(days)
        assert rules.hypotheses(make_lead(), acts, MQL_AT)["timeline"] == expected

    def test_mql_within_counts_from_first_marketing_activity(self) -> None:
        """A sales call before the first marketing activity does not start the mql_within clock."""
        rules = hypothesis_rules(timeline=[{"when": {"mql_within": "7d"}, "value": "this_term"}])
        acts = [activity("call", MQL_AT - 60 * DAY), activity("email_open", MQL_AT - 3 * DAY)]
        assert rules.hypotheses(make_lead(), acts, MQL_AT)["timeline"] == "this_term"

    @pytest.mark.parametrize(
        ("acts", "mql_at"),
        [
            ([], MQL_AT),
            ([activity("email_open", MQL_AT - DAY)], None),
            ([activity("call", MQL_AT)], MQL_AT),
        ],
    )
    def test_mql_within_needs_an_mql_and_an_activity(
        self, acts: list[Activity], mql_at: datetime | None
    ) -> None:
        """Without an MQL time or any marketing activity, mql_within does not hold."""
        rules = hypothesis_rules(timeline=[{"when": {"mql_within": "30d"}, "value": "this_term"}])
        assert rules.hypotheses(make_lead(), acts, mql_at)["timeline"] is None

    def test_default_rule_always_holds(self) -> None:
        """A rule without `when` gives its value when nothing before it held."""
        rules = hypothesis_rules(decision=[{"value": "unknown"}])
        assert rules.hypotheses(make_lead(), [], None)["decision"] == "unknown"

    @pytest.mark.parametrize(
        ("title", "expected"),
        [("代表取締役社長", "single"), ("営業部長", "consensus"), ("主任", "unknown")],
    )
    def test_first_matching_rule_wins(self, title: str, expected: str) -> None:
        """Rules are tried in order and the first that holds gives the value."""
        rules = hypothesis_rules(
            decision=[
                {"when": {"field": "title", "regex": "社長|CEO"}, "value": "single"},
                {"when": {"field": "title", "regex": "部長|社長"}, "value": "consensus"},
                {"value": "unknown"},
            ]
        )
        assert rules.hypotheses(make_lead(title=title), [], None)["decision"] == expected

    def test_no_rules_gives_none_on_every_axis(self) -> None:
        """With no hypothesis rules every axis is None."""
        guesses = hypothesis_rules().hypotheses(make_lead(title="CEO"), [], MQL_AT)
        assert guesses == {"problem": None, "solution": None, "decision": None, "timeline": None}

    def test_shipped_hypotheses_for_an_engaged_decision_maker(
        self, shipped_rules: LeadRules
    ) -> None:
        """Download, pricing page, 部長 and a quick MQL give clear/concrete/single/this_term."""
        lead = make_lead(title="情報システム部 部長")
        acts = [
            activity("content_download", MQL_AT - 10 * DAY),
            activity("page_view", MQL_AT - DAY, "https://example.co.jp/pricing"),
        ]
        assert shipped_rules.hypotheses(lead, acts, MQL_AT) == {
            "problem": "clear",
            "solution": "concrete",
            "decision": "single",
            "timeline": "this_term",
        }

    def test_shipped_hypotheses_for_a_slow_lead(self, shipped_rules: LeadRules) -> None:
        """A webinar-only lead that took 60 days gets only the default timeline, next_term."""
        lead = make_lead(title="担当")
        acts = [activity("webinar_attended", MQL_AT - 60 * DAY)]
        assert shipped_rules.hypotheses(lead, acts, MQL_AT) == {
            "problem": None,
            "solution": None,
            "decision": None,
            "timeline": "next_term",
        }
