"""Explainable scoring: behaviour rules, fit rules, and the shipped company definition."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mappings.model import ActivityKind, Fit, Lead, Score, ScoreReason
from sync.config import ActivityFilter, Config, FitCondition
from sync.scoring import FieldTest, Scorer, compile_activity_filter, compile_field_test
from tests.sync.builders import DAY, HOUR, LEAD_KEY, NOW, activity, make_lead, make_scorer

NO_LEAD = make_lead()


def shipped_scorer(config: Config) -> Scorer:
    return Scorer(config.scoring)


class TestPointsPerKind:
    @pytest.mark.parametrize(
        ("kind", "url", "expected"),
        [
            ("content_download", None, ScoreReason("content_download", 10, 1)),
            ("webinar_attended", None, ScoreReason("webinar_attended", 15, 1)),
            ("page_view", "https://example.co.jp/pricing", ScoreReason("pricing_page", 5, 1)),
            ("inquiry", None, ScoreReason("inquiry", 20, 1)),
            ("email_open", None, ScoreReason("email_open", 5, 1)),
            ("unsubscribe", None, ScoreReason("unsubscribe", -20, 1)),
        ],
    )
    def test_one_activity_gives_its_rule_points(
        self, shipped: Config, kind: ActivityKind, url: str | None, expected: ScoreReason
    ) -> None:
        """One activity of a scored kind gives exactly its rule's points and one reason."""
        score = shipped_scorer(shipped).score(NO_LEAD, [activity(kind, NOW - DAY, url)], NOW)
        assert score == Score(expected.points, expected.points, 0, (expected,))

    @pytest.mark.parametrize("kind", ["email_click", "form_submit", "call", "demo_request"])
    def test_kind_without_a_rule_scores_nothing(self, shipped: Config, kind: ActivityKind) -> None:
        """An activity kind that no behaviour rule names adds no points and no reason."""
        score = shipped_scorer(shipped).score(NO_LEAD, [activity(kind, NOW - DAY)], NOW)
        assert score == Score()

    def test_each_activity_counts(self, shipped: Config) -> None:
        """Three downloads give three times the points, with count 3 in the reason."""
        downloads = [activity("content_download", NOW - n * DAY) for n in (3, 2, 1)]
        score = shipped_scorer(shipped).score(NO_LEAD, downloads, NOW)
        assert score.behaviour == 30
        assert score.reasons == (ScoreReason("content_download", 30, 3),)

    def test_negative_points_subtract(self, shipped: Config) -> None:
        """An unsubscribe takes 20 points off an inquiry's 20, and both reasons are listed."""
        acts = [activity("inquiry", NOW - 2 * DAY), activity("unsubscribe", NOW - DAY)]
        score = shipped_scorer(shipped).score(NO_LEAD, acts, NOW)
        assert score.total == 0
        assert score.reasons == (ScoreReason("inquiry", 20, 1), ScoreReason("unsubscribe", -20, 1))

    def test_two_rules_on_one_kind_both_fire(self) -> None:
        """A pricing page view scores both the any-page rule and the pricing rule."""
        scorer = make_scorer(
            [
                {"name": "any_page", "kind": "page_view", "points": 1},
                {"name": "pricing", "kind": "page_view", "url_contains": "/pricing", "points": 5},
            ]
        )
        acts = [activity("page_view", NOW - DAY, "/pricing"), activity("page_view", NOW, "/blog")]
        score = scorer.score(NO_LEAD, acts, NOW)
        assert score.reasons == (ScoreReason("any_page", 2, 2), ScoreReason("pricing", 5, 1))
        assert score.total == 7


class TestActivityFilters:
    @pytest.mark.parametrize(
        ("url", "counts"),
        [
            ("https://example.co.jp/pricing", True),
            ("https://example.co.jp/pricing?plan=pro", True),
            ("https://example.co.jp/ja/pricing/enterprise", True),
            ("https://example.co.jp/blog", False),
            ("https://example.co.jp/PRICING", True),
            (None, False),
        ],
    )
    def test_url_contains(self, shipped: Config, url: str | None, counts: bool) -> None:
        """url_contains is a substring test ignoring case; a missing URL never matches."""
        score = shipped_scorer(shipped).score(NO_LEAD, [activity("page_view", NOW, url)], NOW)
        assert score.total == (5 if counts else 0)

    @pytest.mark.parametrize(
        ("name", "counts"),
        [
            ("製造業向け ホワイトペーパー", True),
            ("2026 WhitePaper: DX", True),
            ("WHITEPAPER", True),
            ("導入事例集", False),
            (None, False),
        ],
    )
    def test_name_matches_is_case_insensitive_regex(self, name: str | None, counts: bool) -> None:
        """name_matches searches the asset name as a case-insensitive regular expression."""
        scorer = make_scorer(
            [
                {
                    "name": "whitepaper",
                    "kind": "content_download",
                    "name_matches": "white ?paper|ホワイトペーパー",
                    "points": 12,
                }
            ]
        )
        score = scorer.score(NO_LEAD, [activity("content_download", NOW, name=name)], NOW)
        assert score.total == (12 if counts else 0)

    @pytest.mark.parametrize(
        ("url", "name", "expected"),
        [
            ("/seminar/2026", "DX Seminar", True),
            ("/seminar/2026", "Product demo", False),
            ("/blog", "DX Seminar", False),
            (None, None, False),
        ],
    )
    def test_both_filters_must_hold(
        self, url: str | None, name: str | None, expected: bool
    ) -> None:
        """With url_contains and name_matches both set, an activity must pass both."""
        matches = compile_activity_filter(
            ActivityFilter(url_contains="/seminar", name_matches="^dx")
        )
        assert matches(activity("webinar_attended", NOW, url, name)) is expected

    def test_no_filter_matches_everything(self) -> None:
        """Without filters every activity of the kind matches, even one with no detail."""
        matches = compile_activity_filter(ActivityFilter())
        assert matches(activity("webinar_attended", NOW)) is True


class TestMaxCount:
    def test_counts_at_most_n(self, shipped: Config) -> None:
        """Six e-mail opens count as four: 20 points, count 4."""
        opens = [activity("email_open", NOW - n * HOUR) for n in range(6, 0, -1)]
        score = shipped_scorer(shipped).score(NO_LEAD, opens, NOW)
        assert score.reasons == (ScoreReason("email_open", 20, 4),)

    def test_the_most_recent_count(self) -> None:
        """With max_count 1 the newest activity counts: 8 points halved once, not twice."""
        scorer = make_scorer(
            [{"name": "open", "kind": "email_open", "points": 8, "max_count": 1, "half_life": "1d"}]
        )
        opens = [activity("email_open", NOW - 2 * DAY), activity("email_open", NOW - DAY)]
        assert scorer.score(NO_LEAD, opens, NOW).reasons == (ScoreReason("open", 4, 1),)

    def test_future_activity_does_not_use_a_slot(self) -> None:
        """An activity after now neither scores nor uses up the max_count slot."""
        scorer = make_scorer([{"name": "open", "kind": "email_open", "points": 5, "max_count": 1}])
        opens = [activity("email_open", NOW - DAY), activity("email_open", NOW + DAY)]
        assert scorer.score(NO_LEAD, opens, NOW).reasons == (ScoreReason("open", 5, 1),)


class TestTimeWindows:
    @pytest.mark.parametrize(
        ("age", "expected"),
        [(0 * DAY, 10), (6 * DAY, 10), (7 * DAY, 10), (7 * DAY + HOUR, 0), (30 * DAY, 0)],
    )
    def test_within_drops_older_activity(self, age: timedelta, expected: int) -> None:
        """`within: 7d` counts an activity up to exactly 7 days old and drops older ones."""
        scorer = make_scorer(
            [{"name": "webinar", "kind": "webinar_attended", "points": 10, "within": "7d"}]
        )
        score = scorer.score(NO_LEAD, [activity("webinar_attended", NOW - age)], NOW)
        assert score.total == expected

    def test_within_keeps_recent_and_drops_old_in_one_list(self) -> None:
        """Of three downloads, only the two inside the window count."""
        scorer = make_scorer(
            [{"name": "dl", "kind": "content_download", "points": 10, "within": "30 days"}]
        )
        acts = [activity("content_download", NOW - n * DAY) for n in (45, 20, 1)]
        assert scorer.score(NO_LEAD, acts, NOW).reasons == (ScoreReason("dl", 20, 2),)

    @pytest.mark.parametrize(
        ("age", "expected"),
        [
            (0 * DAY, 16),
            (3 * DAY + 12 * HOUR, 11),  # 16 * 2 ** -0.5 = 11.31
            (5 * DAY + 6 * HOUR, 10),  # 16 * 2 ** -0.75 = 9.51
            (7 * DAY, 8),
            (14 * DAY, 4),
            (21 * DAY, 2),
            (28 * DAY, 1),
        ],
    )
    def test_half_life_decays_points(self, age: timedelta, expected: int) -> None:
        """`half_life: 7d` halves a rule's points every 7 days, rounded to whole points."""
        scorer = make_scorer(
            [{"name": "dl", "kind": "content_download", "points": 16, "half_life": "7d"}]
        )
        score = scorer.score(NO_LEAD, [activity("content_download", NOW - age)], NOW)
        assert score.reasons == (ScoreReason("dl", expected, 1),)

    def test_half_life_rounds_the_rule_sum_once(self) -> None:
        """Two half-decayed 5-point activities give 5 (2.5 + 2.5), not 4 (2 + 2)."""
        scorer = make_scorer(
            [{"name": "open", "kind": "email_open", "points": 5, "half_life": "7d"}]
        )
        opens = [activity("email_open", NOW - 7 * DAY), activity("email_open", NOW - 7 * DAY)]
        assert scorer.score(NO_LEAD, opens, NOW).reasons == (ScoreReason("open", 5, 2),)

    def test_half_life_applies_to_negative_points(self) -> None:
        """A 14-day-old unsubscribe at -20 with a 7-day half-life takes off 5."""
        scorer = make_scorer(
            [{"name": "unsub", "kind": "unsubscribe", "points": -20, "half_life": "1w"}]
        )
        score = scorer.score(NO_LEAD, [activity("unsubscribe", NOW - 14 * DAY)], NOW)
        assert score.total == -5

    @pytest.mark.parametrize(
        ("offset", "expected"),
        [(-HOUR, 20), (0 * HOUR, 20), (HOUR, 0)],
    )
    def test_activity_after_now_does_not_count(
        self, shipped: Config, offset: timedelta, expected: int
    ) -> None:
        """An inquiry at or before now scores; one after now does not."""
        score = shipped_scorer(shipped).score(NO_LEAD, [activity("inquiry", NOW + offset)], NOW)
        assert score.total == expected


class TestReasons:
    def test_behaviour_in_config_order_then_fit(self, shipped: Config) -> None:
        """Reasons follow the config order of rules, not the order of the activities."""
        lead = make_lead(industry="製造業", title="部長", employees=300)
        acts = [
            activity("unsubscribe", NOW - 5 * DAY),
            activity("email_open", NOW - 4 * DAY),
            activity("inquiry", NOW - 3 * DAY),
            activity("page_view", NOW - 2 * DAY, "/pricing"),
            activity("webinar_attended", NOW - DAY),
            activity("content_download", NOW - HOUR),
        ]
        score = shipped_scorer(shipped).score(lead, acts, NOW)
        assert score.reasons == (
            ScoreReason("content_download", 10, 1),
            ScoreReason("webinar_attended", 15, 1),
            ScoreReason("pricing_page", 5, 1),
            ScoreReason("inquiry", 20, 1),
            ScoreReason("email_open", 5, 1),
            ScoreReason("unsubscribe", -20, 1),
            ScoreReason("target_industry", 10, 1),
            ScoreReason("decision_maker_title", 15, 1),
            ScoreReason("target_company_size", 10, 1),
        )

    def test_total_is_behaviour_plus_fit(self, shipped: Config) -> None:
        """The total is the behaviour sum plus the fit sum, each reported separately."""
        lead = make_lead(industry="IT", title="CTO", employees=4000)
        acts = [activity("webinar_attended", NOW - DAY), activity("inquiry", NOW - HOUR)]
        score = shipped_scorer(shipped).score(lead, acts, NOW)
        assert (score.total, score.behaviour, score.fit) == (70, 35, 35)

    def test_rules_that_did_not_fire_are_not_listed(self, shipped: Config) -> None:
        """Only fired rules are reasons: one download and a matching industry give two."""
        lead = make_lead(industry="製造業", title="担当", employees=20)
        score = shipped_scorer(shipped).score(lead, [activity("content_download", NOW)], NOW)
        assert score.reasons == (
            ScoreReason("content_download", 10, 1),
            ScoreReason("target_industry", 10, 1),
        )


def field_test(**spec: Any) -> FieldTest:
    return compile_field_test(FitCondition.model_validate({"field": "industry", **spec}))


class TestFieldTests:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("Manufacturing", True),
            ("manufacturing", True),
            ("  MANUFACTURING  ", True),
            ("Manufacturing Co.", False),
            ("", False),
            (None, False),
        ],
    )
    def test_equals_ignores_case_and_surrounding_spaces(
        self, value: str | None, expected: bool
    ) -> None:
        """`equals` compares trimmed, case-folded text and never matches a missing value."""
        assert field_test(equals="Manufacturing")(value) is expected

    @pytest.mark.parametrize(("value", "expected"), [(100, True), ("100", True), (101, False)])
    def test_equals_a_number(self, value: str | int, expected: bool) -> None:
        """`equals: 100` matches the number 100 and the text "100"."""
        assert field_test(equals=100)(value) is expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("製造業", True), (" 製造業 ", True), ("it", True), ("IT ", True), ("情報通信業", False)],
    )
    def test_in_matches_any_option(self, value: str, expected: bool) -> None:
        """`in` matches any listed option, trimmed and ignoring case."""
        assert field_test(**{"in": ["製造業", "IT"]})(value) is expected

    def test_in_never_matches_missing(self) -> None:
        """`in` does not match a missing value."""
        assert field_test(**{"in": ["製造業", "IT"]})(None) is False

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("営業本部 部長", True),
            ("director of sales", True),
            ("Sales DIRECTOR", True),
            ("担当者", False),
            (None, False),
        ],
    )
    def test_regex_searches_ignoring_case(self, value: str | None, expected: bool) -> None:
        """`regex` searches anywhere in the value, ignoring case."""
        assert field_test(regex="部長|Director")(value) is expected

    def test_regex_on_a_number(self) -> None:
        """`regex` tests a number by its decimal text."""
        test = field_test(regex=r"^1\d\d$")
        assert (test(150), test(1500)) == (True, False)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (99, False),
            (100, True),
            (300, True),
            (5000, True),
            (5001, False),
            ("1,200", True),
            (" 2,500 ", True),
            ("5,001", False),
            ("約1000名", False),
            ("", False),
            (None, False),
        ],
    )
    def test_range_is_inclusive_at_both_ends(self, value: str | int | None, expected: bool) -> None:
        """min 100 max 5000 includes 100 and 5000; numeric text with commas is read as a number."""
        assert field_test(min=100, max=5000)(value) is expected

    @pytest.mark.parametrize(
        ("value", "expected"), [(99, False), (100, True), (1_000_000, True), ("10,000", True)]
    )
    def test_range_with_min_only(self, value: str | int, expected: bool) -> None:
        """A range with only `min` has no upper bound."""
        assert field_test(min=100)(value) is expected

    @pytest.mark.parametrize(("value", "expected"), [(0, True), (50, True), (51, False)])
    def test_range_with_max_only(self, value: int, expected: bool) -> None:
        """A range with only `max` has no lower bound."""
        assert field_test(max=50)(value) is expected

    def test_missing_field_never_scores(self) -> None:
        """A lead with no fit values fires no fit rule of any test type."""
        scorer = make_scorer(
            fit=[
                {"name": "eq", "field": "country", "equals": "JP", "points": 1},
                {"name": "in", "field": "industry", "in": ["IT"], "points": 2},
                {"name": "re", "field": "title", "regex": ".*", "points": 4},
                {"name": "size", "field": "employees", "max": 10**9, "points": 8},
            ]
        )
        assert scorer.score(Lead(LEAD_KEY), [], NOW) == Score()

    def test_fit_rule_can_test_email(self) -> None:
        """A fit rule on `email` tests the lead's address."""
        scorer = make_scorer(
            fit=[{"name": "jp", "field": "email", "regex": r"\.co\.jp$", "points": 3}]
        )
        lead = Lead(LEAD_KEY, email="tanaka@example.co.jp", fit=Fit())
        assert scorer.score(lead, [], NOW).reasons == (ScoreReason("jp", 3, 1),)


class TestShippedDefinition:
    @pytest.mark.parametrize(
        ("industry", "title", "employees", "fit", "fired"),
        [
            ("製造業", "情報システム部 部長", 300, 35, ["industry", "title", "size"]),
            ("Manufacturing", "Head of IT", 100, 35, ["industry", "title", "size"]),
            ("it", "CTO", 5000, 35, ["industry", "title", "size"]),
            ("情報通信業", "代表取締役社長", 5001, 25, ["industry", "title"]),
            ("小売業", "営業本部長", 99, 15, ["title"]),
            ("小売業", "担当", 1200, 10, ["size"]),
            ("製造業", "課長", 50, 10, ["industry"]),
            (None, None, None, 0, []),
        ],
    )
    def test_fit_points_of_concrete_leads(
        self,
        shipped: Config,
        industry: str | None,
        title: str | None,
        employees: int | None,
        fit: int,
        fired: list[str],
    ) -> None:
        """Industry +10, decision-maker title +15, 100-5000 employees +10, as agreed."""
        names = {
            "industry": ScoreReason("target_industry", 10, 1),
            "title": ScoreReason("decision_maker_title", 15, 1),
            "size": ScoreReason("target_company_size", 10, 1),
        }
        lead = make_lead(industry=industry, title=title, employees=employees)
        score = shipped_scorer(shipped).score(lead, [], NOW)
        assert score == Score(fit, 0, fit, tuple(names[name] for name in fired))

    def test_a_full_lead(self, shipped: Config) -> None:
        """製造業 部長 300名 with a download, a webinar, pricing and six opens scores 35 + 50."""
        lead = make_lead(industry="製造業", title="部長", employees=300)
        acts = [
            *(activity("email_open", NOW - n * DAY) for n in range(10, 4, -1)),
            activity("content_download", NOW - 4 * DAY),
            activity("page_view", NOW - 3 * DAY, "https://example.co.jp/pricing"),
            activity("page_view", NOW - 2 * DAY, "https://example.co.jp/blog"),
            activity("webinar_attended", NOW - DAY),
        ]
        score = shipped_scorer(shipped).score(lead, acts, NOW)
        assert (score.total, score.behaviour, score.fit) == (85, 50, 35)
        assert score.reasons[:4] == (
            ScoreReason("content_download", 10, 1),
            ScoreReason("webinar_attended", 15, 1),
            ScoreReason("pricing_page", 5, 1),
            ScoreReason("email_open", 20, 4),
        )
