"""The demo population: deterministic, Japanese B2B, with a plausible funnel."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.emulator.seed import generate

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


class TestPopulation:
    def test_same_seed_same_world(self) -> None:
        """The same seed number gives the same people and history; another gives another."""
        assert generate(300, 7, NOW) == generate(300, 7, NOW)
        assert generate(300, 7, NOW) != generate(300, 8, NOW)

    def test_emails_are_unique(self) -> None:
        """Every person has their own e-mail address (HubSpot's contact key)."""
        people = generate(2000, 1, NOW).people
        assert len({person.email for person in people}) == 2000

    def test_most_never_reach_sales_and_most_handed_over_are_called(self) -> None:
        """Under half are handed over; of those, most were called and a few neglected."""
        people = generate(3000, 3, NOW).people
        handed = [p.sales for p in people if p.sales is not None]
        called = [s for s in handed if s.touches]
        assert 0.1 < len(handed) / len(people) < 0.5
        assert 0.6 < len(called) / len(handed) < 0.95
        assert {s.opportunity for s in handed} >= {"won", "lost", "open", None}
        assert all(s.reason for s in handed if s.status in ("recycled", "disqualified"))

    def test_history_lies_in_the_recent_weeks_and_in_order(self) -> None:
        """Activity happens between the person's creation and now, in time order."""
        for person in generate(500, 5, NOW).people:
            times = [activity.at for activity in person.activities]
            assert times == sorted(times)
            assert all(person.created_at <= at <= NOW for at in times)
            if person.sales is not None:
                assert all(
                    person.sales.handed_off_at <= at <= NOW for _, at in person.sales.touches
                )

    def test_people_look_like_japanese_b2b_contacts(self) -> None:
        """Names, companies and industries are Japanese; titles mix Japanese and English."""
        people = generate(1000, 11, NOW).people
        assert any(p.industry == "製造業" for p in people)
        assert any("部長" in p.title for p in people) and any("Director" in p.title for p in people)
        assert all(p.email.endswith(".example.co.jp") for p in people)
