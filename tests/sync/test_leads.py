"""What happens to a lead: evaluation, handoff, touches, BANT, sales observations, closing."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

import pytest

from mappings.model import (
    Activity,
    Assessment,
    Axis,
    AxisAssessment,
    Bant,
    Correction,
    Lead,
    LeadTimes,
    Outcome,
    Score,
    ScoreReason,
    Stage,
    StageChange,
)
from sync.definitions import LeadRules
from sync.exceptions import TransitionError
from sync.leads import close, evaluate, hand_off, observe, record_touch, set_bant
from tests.sync.builders import DAY, HOUR, LEAD_KEY, activity, jst, make_lead

NOW = jst(2026, 1, 9, 17, 30)
HANDOFF = jst(2026, 1, 9, 19)
ALL_BANT = Bant(budget=True, authority=True, need=True, timeline=True)


def target_lead(stage: Stage = "lead", **times: datetime | None) -> Lead:
    """製造業 部長 300名: 35 fit points under the shipped definition."""
    return make_lead(stage, industry="製造業", title="情報システム部 部長", employees=300, **times)


DOWNLOAD_AND_PRICING = [
    activity("content_download", jst(2026, 1, 6, 10), name="生産管理 資料"),
    activity("page_view", jst(2026, 1, 8, 10), url="https://example.co.jp/pricing"),
]
"""15 behaviour points with a required action: 50 with the target lead's fit."""


def assessment(**axes: tuple[str | None, str | None]) -> Assessment:
    return Assessment(**{axis: AxisAssessment(*pair) for axis, pair in axes.items()})


class TestEvaluateMql:
    def test_lead_becomes_mql_with_reasons(self, shipped_rules: LeadRules) -> None:
        """50 points and a download move lead -> mql at now, with the verdict as reasons."""
        result = evaluate(shipped_rules, target_lead(), DOWNLOAD_AND_PRICING, NOW)
        assert result.lead.stage == "mql"
        assert result.lead.times.mql_at == NOW
        assert result.changes == (
            StageChange(
                LEAD_KEY,
                "lead",
                "mql",
                NOW,
                ("score 50 >= 50", "required activity: content_download"),
            ),
        )
        assert result.score_changed is True
        assert result.lead.score == Score(
            50,
            15,
            35,
            (
                ScoreReason("content_download", 10),
                ScoreReason("pricing_page", 5),
                ScoreReason("target_industry", 10),
                ScoreReason("decision_maker_title", 15),
                ScoreReason("target_company_size", 10),
            ),
        )

    def test_mql_sets_the_four_hypotheses(self, shipped_rules: LeadRules) -> None:
        """At MQL the four axes get marketing's guesses, with nothing observed yet."""
        result = evaluate(shipped_rules, target_lead(), DOWNLOAD_AND_PRICING, NOW)
        assert result.lead.assessment == assessment(
            problem=("clear", None),
            solution=("concrete", None),
            decision=("single", None),
            timeline=("this_term", None),
        )

    def test_below_threshold_stays_lead(self, shipped_rules: LeadRules) -> None:
        """49 points keep the lead a lead; the new score is still stored."""
        acts = [activity("content_download", jst(2026, 1, 6, 10))]
        lead = make_lead(industry="製造業", title="部長", employees=50)  # fit 25
        result = evaluate(shipped_rules, lead, [*acts, activity("email_open", NOW - HOUR)], NOW)
        assert (result.lead.stage, result.lead.score.total, result.changes) == ("lead", 40, ())
        assert result.lead.assessment == Assessment()

    def test_high_score_without_required_action_stays_lead(self, shipped_rules: LeadRules) -> None:
        """Inquiries and pricing views alone never make an MQL, whatever the score."""
        acts = [activity("inquiry", NOW - n * DAY) for n in (3, 2, 1)]
        result = evaluate(shipped_rules, target_lead(), acts, NOW)
        assert (result.lead.stage, result.lead.score.total) == ("lead", 95)

    def test_score_changed_only_when_it_changed(self, shipped_rules: LeadRules) -> None:
        """Re-evaluating with the same activities reports no score change and no move."""
        first = evaluate(shipped_rules, target_lead(), DOWNLOAD_AND_PRICING, NOW)
        again = evaluate(shipped_rules, first.lead, DOWNLOAD_AND_PRICING, NOW + HOUR)
        assert (again.score_changed, again.changes) == (False, ())
        assert again.lead == first.lead

    def test_recycled_lead_needs_a_new_required_action(self, shipped_rules: LeadRules) -> None:
        """A recycled lead re-enters mql only after a required action after the recycle."""
        recycled_at = jst(2026, 1, 20, 10)
        lead = target_lead("recycled", recycled_at=recycled_at, handed_off_at=HANDOFF)
        old = evaluate(shipped_rules, lead, DOWNLOAD_AND_PRICING, jst(2026, 1, 25, 10))
        assert (old.lead.stage, old.changes) == ("recycled", ())
        acts = [*DOWNLOAD_AND_PRICING, activity("webinar_attended", jst(2026, 1, 26, 10))]
        new = evaluate(shipped_rules, lead, acts, jst(2026, 1, 26, 12))
        assert new.lead.stage == "mql"
        assert new.changes[0].reasons == (
            "score 65 >= 50",
            "required activity after recycle: webinar_attended",
        )
        assert (new.lead.times.mql_at, new.lead.times.handed_off_at) == (
            jst(2026, 1, 26, 12),
            None,
        )

    def test_requalifying_keeps_sales_observations(self, shipped_rules: LeadRules) -> None:
        """Re-entering mql resets hypotheses but keeps what sales observed."""
        lead = dataclasses.replace(
            target_lead("recycled", recycled_at=jst(2026, 1, 20, 10)),
            assessment=assessment(problem=(None, "vague"), timeline=("next_term", "next_term")),
        )
        acts = [*DOWNLOAD_AND_PRICING, activity("webinar_attended", jst(2026, 1, 26, 10))]
        result = evaluate(shipped_rules, lead, acts, jst(2026, 1, 26, 12))
        assert result.lead.assessment == assessment(
            problem=("clear", "vague"),
            solution=("concrete", None),
            decision=("single", None),
            timeline=("this_term", "next_term"),
        )


class TestRequalifying:
    def test_a_lost_lead_requalified_starts_a_new_cycle(self, shipped_rules: LeadRules) -> None:
        """lost -> recycled -> mql clears the old close time and outcome for the new cycle."""
        lost = dataclasses.replace(
            target_lead("recycled", closed_at=NOW - 30 * DAY, recycled_at=NOW - 20 * DAY),
            outcome=Outcome(won=False),
        )
        acts = [*DOWNLOAD_AND_PRICING, activity("webinar_attended", NOW)]
        result = evaluate(shipped_rules, lost, acts, NOW)
        assert result.lead.stage == "mql"
        assert (result.lead.times.closed_at, result.lead.outcome) == (None, None)

    def test_timeline_guess_counts_from_the_new_cycle(self, shipped_rules: LeadRules) -> None:
        """mql_within counts from the first activity after the recycle, not the first ever."""
        recycled = target_lead("recycled", recycled_at=jst(2026, 1, 10))
        acts = [
            *DOWNLOAD_AND_PRICING,  # January: long before the requalification
            activity("email_open", jst(2026, 3, 2, 10)),
            activity("webinar_attended", jst(2026, 3, 20, 10)),
        ]
        result = evaluate(shipped_rules, recycled, acts, jst(2026, 3, 20, 10))
        assert result.lead.stage == "mql"
        assert result.lead.assessment.timeline.hypothesis == "this_term"


class TestEvaluateSql:
    def test_no_sql_before_handoff(self, shipped_rules: LeadRules) -> None:
        """An MQL with all four BANT items stays mql until it is handed off."""
        lead = dataclasses.replace(target_lead("mql", mql_at=NOW), bant=ALL_BANT)
        result = evaluate(shipped_rules, lead, DOWNLOAD_AND_PRICING, NOW + HOUR)
        assert (result.lead.stage, result.changes) == ("mql", ())

    def test_new_mql_does_not_become_sql_in_the_same_pass(self, shipped_rules: LeadRules) -> None:
        """A lead meeting MQL with full BANT and an old handoff time stops at mql."""
        lead = dataclasses.replace(target_lead(handed_off_at=HANDOFF - DAY), bant=ALL_BANT)
        result = evaluate(shipped_rules, lead, DOWNLOAD_AND_PRICING, NOW)
        assert [c.to_stage for c in result.changes] == ["mql"]
        assert result.lead.times.handed_off_at is None

    def test_sql_by_bant_after_handoff(self, shipped_rules: LeadRules) -> None:
        """After handoff, three BANT items move mql -> sql with the BANT reason."""
        lead = dataclasses.replace(
            target_lead("mql", mql_at=NOW, handed_off_at=HANDOFF),
            bant=Bant(budget=True, authority=True, need=True, timeline=False),
        )
        at = jst(2026, 1, 14, 15)
        result = evaluate(shipped_rules, lead, DOWNLOAD_AND_PRICING, at)
        assert result.lead.stage == "sql"
        assert result.lead.times.sql_at == at
        assert result.changes == (
            StageChange(
                LEAD_KEY,
                "mql",
                "sql",
                at,
                ("BANT 3 of 4 confirmed (budget, authority, need) >= 3",),
            ),
        )

    def test_two_bant_items_are_not_enough(self, shipped_rules: LeadRules) -> None:
        """Two confirmed BANT items keep a handed-off lead mql under the shipped 3-of-4 rule."""
        lead = dataclasses.replace(
            target_lead("mql", mql_at=NOW, handed_off_at=HANDOFF),
            bant=Bant(budget=True, need=True),
        )
        result = evaluate(shipped_rules, lead, DOWNLOAD_AND_PRICING, jst(2026, 1, 14, 15))
        assert result.lead.stage == "mql"

    @pytest.mark.parametrize(
        ("requested_at", "stage"),
        [(HANDOFF - HOUR, "mql"), (HANDOFF + DAY, "sql")],
    )
    def test_demo_request_counts_only_after_handoff(
        self, shipped_rules: LeadRules, requested_at: datetime, stage: Stage
    ) -> None:
        """A demo request before handoff does not make an SQL; one after it does."""
        lead = target_lead("mql", mql_at=NOW, handed_off_at=HANDOFF)
        acts = [*DOWNLOAD_AND_PRICING, activity("demo_request", requested_at)]
        result = evaluate(shipped_rules, lead, acts, jst(2026, 1, 14, 15))
        assert result.lead.stage == stage


class TestEvaluateAsOfNow:
    def test_future_required_action_does_not_make_an_mql(self, shipped_rules: LeadRules) -> None:
        """A webinar after now neither scores nor counts as the required action at now."""
        acts = [
            activity("inquiry", NOW - DAY),
            activity("webinar_attended", NOW + 2 * DAY),
        ]
        result = evaluate(shipped_rules, target_lead(), acts, NOW)
        assert result.lead.score.total == 55
        assert (result.lead.stage, result.changes) == ("lead", ())

    def test_future_buying_signal_does_not_make_an_sql(self, shipped_rules: LeadRules) -> None:
        """A demo request after now is not yet a buying signal at now."""
        lead = target_lead("mql", mql_at=NOW, handed_off_at=HANDOFF)
        acts = [*DOWNLOAD_AND_PRICING, activity("demo_request", jst(2026, 1, 14, 10))]
        result = evaluate(shipped_rules, lead, acts, jst(2026, 1, 13, 10))
        assert result.lead.stage == "mql"


class TestHandOff:
    def test_stamps_the_handoff_time(self) -> None:
        """Handing off an MQL sets handed_off_at and keeps its stage and other times."""
        lead = hand_off(make_lead("mql", mql_at=NOW), HANDOFF)
        assert (lead.stage, lead.times) == ("mql", LeadTimes(mql_at=NOW, handed_off_at=HANDOFF))

    @pytest.mark.parametrize("stage", ["lead", "sql", "recycled", "opportunity", "won"])
    def test_refuses_a_non_mql(self, stage: Stage) -> None:
        """Only an MQL can be handed off; anything else raises ValueError naming its stage."""
        with pytest.raises(
            ValueError, match=f"^only an MQL can be handed off; this lead is {stage}$"
        ):
            hand_off(make_lead(stage), HANDOFF)


class TestRecordTouch:
    def handed_off(self) -> Lead:
        return make_lead("mql", mql_at=NOW, handed_off_at=HANDOFF)

    def test_first_touch_after_handoff_is_recorded(self) -> None:
        """The first call after handoff sets first_touch_at to its time."""
        touched = jst(2026, 1, 13, 10)
        lead = record_touch(self.handed_off(), activity("call", touched))
        assert lead.times.first_touch_at == touched

    def test_touch_at_the_handoff_instant_counts(self) -> None:
        """A sales e-mail sent at the handoff instant is the first touch."""
        lead = record_touch(self.handed_off(), activity("sales_email", HANDOFF))
        assert lead.times.first_touch_at == HANDOFF

    def test_later_touches_keep_the_first(self) -> None:
        """A second touch does not move first_touch_at."""
        first = jst(2026, 1, 13, 10)
        lead = record_touch(self.handed_off(), activity("call", first))
        lead = record_touch(lead, activity("meeting", jst(2026, 1, 14, 10)))
        assert lead.times.first_touch_at == first

    @pytest.mark.parametrize(
        "touch",
        [
            activity("call", HANDOFF - HOUR),
            activity("inquiry", jst(2026, 1, 13, 10)),
            activity("demo_request", jst(2026, 1, 13, 10)),
        ],
        ids=["call-before-handoff", "inquiry", "demo-request"],
    )
    def test_non_touches_are_ignored(self, touch: Activity) -> None:
        """A touch before handoff or a lead's own activity is not a first touch."""
        assert record_touch(self.handed_off(), touch).times.first_touch_at is None

    def test_no_first_touch_without_handoff(self) -> None:
        """A call to an MQL that was never handed off is not a first touch."""
        lead = record_touch(make_lead("mql", mql_at=NOW), activity("call", NOW + DAY))
        assert lead.times.first_touch_at is None


class TestSetBant:
    @pytest.mark.parametrize(
        ("before", "update", "after"),
        [
            (Bant(), Bant(budget=True), Bant(budget=True)),
            (Bant(budget=True), Bant(need=True), Bant(budget=True, need=True)),
            (Bant(budget=True, need=True), Bant(budget=False), Bant(budget=False, need=True)),
            (Bant(authority=False), Bant(authority=True), Bant(authority=True)),
            (ALL_BANT, Bant(), ALL_BANT),
        ],
    )
    def test_merges_items(self, before: Bant, update: Bant, after: Bant) -> None:
        """Given items replace the old ones; items left None keep their previous value."""
        lead = dataclasses.replace(make_lead("mql"), bant=before)
        assert set_bant(lead, update).bant == after

    def test_confirmed_count_after_merge(self) -> None:
        """Two updates of two items each add up to four confirmed."""
        lead = set_bant(make_lead("mql"), Bant(budget=True, authority=True))
        lead = set_bant(lead, Bant(need=True, timeline=True))
        assert lead.bant.confirmed == 4


class TestObserve:
    AT = jst(2026, 1, 14, 16)

    def hypothesised(self) -> Lead:
        return dataclasses.replace(
            make_lead("sql"),
            assessment=assessment(
                problem=("clear", None),
                solution=("concrete", None),
                decision=(None, None),
                timeline=("this_term", None),
            ),
        )

    def test_different_observation_is_a_correction(self) -> None:
        """Observing vague where marketing guessed clear records one correction."""
        lead, corrections = observe(self.hypothesised(), {"problem": "vague"}, self.AT)
        assert corrections == [Correction(LEAD_KEY, "problem", "clear", "vague", self.AT, "sales")]
        assert lead.assessment.problem == AxisAssessment("clear", "vague")
        assert lead.assessment.problem.corrected is True

    def test_confirming_observation_is_not_a_correction(self) -> None:
        """Observing what marketing guessed stores it without a correction."""
        lead, corrections = observe(self.hypothesised(), {"solution": "concrete"}, self.AT)
        assert corrections == []
        assert lead.assessment.solution == AxisAssessment("concrete", "concrete")
        assert lead.assessment.solution.corrected is False

    def test_observation_without_hypothesis_is_a_correction(self) -> None:
        """An observation on an axis marketing had no guess for is recorded as a correction."""
        _, corrections = observe(self.hypothesised(), {"decision": "consensus"}, self.AT)
        assert corrections == [Correction(LEAD_KEY, "decision", None, "consensus", self.AT)]

    def test_repeated_observation_records_nothing(self) -> None:
        """Repeating the same observation records no second correction and changes nothing."""
        lead, _ = observe(self.hypothesised(), {"timeline": "next_term"}, self.AT)
        again, corrections = observe(lead, {"timeline": "next_term"}, self.AT + DAY)
        assert (corrections, again) == ([], lead)

    def test_changed_observation_is_a_new_correction(self) -> None:
        """A new, different observation on a corrected axis records another correction."""
        lead, _ = observe(self.hypothesised(), {"timeline": "next_term"}, self.AT)
        _, corrections = observe(lead, {"timeline": "undecided"}, self.AT + DAY)
        assert corrections == [
            Correction(LEAD_KEY, "timeline", "this_term", "undecided", self.AT + DAY)
        ]

    def test_all_four_axes_in_axis_order(self) -> None:
        """Corrections on several axes come in axis order, each with its source."""
        observed: dict[Axis, str] = {
            "timeline": "next_term",
            "decision": "consensus",
            "solution": "comparing",
            "problem": "unorganized",
        }
        lead, corrections = observe(self.hypothesised(), observed, self.AT, source="field_sales")
        assert corrections == [
            Correction(LEAD_KEY, "problem", "clear", "unorganized", self.AT, "field_sales"),
            Correction(LEAD_KEY, "solution", "concrete", "comparing", self.AT, "field_sales"),
            Correction(LEAD_KEY, "decision", None, "consensus", self.AT, "field_sales"),
            Correction(LEAD_KEY, "timeline", "this_term", "next_term", self.AT, "field_sales"),
        ]
        assert [lead.assessment.axis(axis).observed for axis in observed] == [
            "next_term",
            "consensus",
            "comparing",
            "unorganized",
        ]

    def test_unobserved_axes_are_untouched(self) -> None:
        """Axes not in the observation keep their hypothesis and observation."""
        lead, _ = observe(self.hypothesised(), {"problem": "vague"}, self.AT)
        before = self.hypothesised().assessment
        assert (lead.assessment.solution, lead.assessment.decision, lead.assessment.timeline) == (
            before.solution,
            before.decision,
            before.timeline,
        )


class TestClose:
    AT = jst(2026, 3, 31, 17)

    def test_sql_passes_through_opportunity_to_won(self) -> None:
        """Closing an SQL won moves sql -> opportunity -> won and records the amount."""
        lead = make_lead("sql", sql_at=HANDOFF + DAY)
        closed, changes = close(lead, True, Decimal("1200000"), self.AT)
        assert changes == [
            StageChange(LEAD_KEY, "sql", "opportunity", self.AT, ("opportunity created",)),
            StageChange(LEAD_KEY, "opportunity", "won", self.AT, ("won, amount 1200000",)),
        ]
        assert (closed.stage, closed.outcome) == ("won", Outcome(True, Decimal("1200000")))
        assert closed.times == LeadTimes(sql_at=HANDOFF + DAY, closed_at=self.AT)

    def test_opportunity_lost_without_amount(self) -> None:
        """Closing an opportunity lost is a single move with the reason "lost"."""
        closed, changes = close(make_lead("opportunity"), False, None, self.AT)
        assert changes == [StageChange(LEAD_KEY, "opportunity", "lost", self.AT, ("lost",))]
        assert (closed.stage, closed.outcome, closed.times.closed_at) == (
            "lost",
            Outcome(False, None),
            self.AT,
        )

    @pytest.mark.parametrize("stage", ["lead", "mql", "recycled", "won", "lost"])
    def test_refuses_from_other_stages(self, stage: Stage) -> None:
        """Only an SQL or an opportunity can be closed; others raise TransitionError."""
        with pytest.raises(TransitionError, match=f"from {stage} to won;"):
            close(make_lead(stage), True, None, self.AT)
