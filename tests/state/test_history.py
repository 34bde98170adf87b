"""Tests for activities, stage history and corrections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from mappings.model import Activity, Correction, Lead, StageChange
from state import Store
from state._history import ACTIVITY_COLUMNS
from state.tables import ActivityRow
from tests.state.support import JST, activity, at


class TestActivities:
    def test_rows_are_read_in_the_order_of_the_table(self) -> None:
        """Activities are unpacked by position: the table must keep its column order."""
        assert tuple(c.name for c in inspect(ActivityRow).columns) == ACTIVITY_COLUMNS

    def test_duplicates_in_one_call_are_stored_once(self, store: Store) -> None:
        """The same dedupe key twice in one call counts and stores one activity."""
        with store.transaction() as repo:
            new = repo.add_activities([activity("e1"), activity("e1", 5), activity("e2", 1)])
            stored = repo.activities_for("lead-1")
        assert new == 2
        assert [a.dedupe_key for a in stored] == ["e1", "e2"]
        assert stored[0] == activity("e1")

    def test_duplicates_across_calls_are_skipped_without_error(self, store: Store) -> None:
        """Re-reading stored activities adds only the new ones, in the same transaction."""
        with store.transaction() as repo:
            assert repo.add_activities([activity("e1"), activity("e2", 1)]) == 2
            assert repo.add_activities([activity("e2", 1), activity("e3", 2)]) == 1
        with store.transaction() as repo:
            assert repo.add_activities([activity("e1"), activity("e3", 2)]) == 0
            assert repo.add_activities([]) == 0
            keys = [a.dedupe_key for a in repo.activities_for("lead-1")]
        assert keys == ["e1", "e2", "e3"]

    def test_known_dedupe_keys_tell_what_is_stored_already(self, store: Store) -> None:
        """A reader asks which activities it has before paying for their details."""
        with store.transaction() as repo:
            repo.add_activities([activity("e1"), activity("e2", 1)])
        with store.transaction() as repo:
            assert repo.known_dedupe_keys(["e2", "e9", "e1", "e2"]) == {"e1", "e2"}
            assert repo.known_dedupe_keys([]) == set()

    def test_a_duplicate_does_not_abort_the_transaction(self, store: Store) -> None:
        """After a skipped duplicate the same transaction still writes and commits."""
        with store.transaction() as repo:
            repo.add_activities([activity("e1")])
        with store.transaction() as repo:
            repo.add_activities([activity("e1")])
            repo.add_activities([activity("e2", 1)])
        with store.transaction() as repo:
            assert len(repo.activities_for("lead-1")) == 2

    def test_large_batches_count_every_new_row(self, store: Store) -> None:
        """More activities than one INSERT batch are all stored and counted."""
        many = [activity(f"e{n}", n % 60) for n in range(1234)]
        with store.transaction() as repo:
            assert repo.add_activities(many) == 1234
            assert repo.add_activities([*many[1000:], activity("new")]) == 1

    def test_activities_come_back_in_time_order_in_utc(self, store: Store) -> None:
        """Activities are ordered by when they happened; times are aware UTC."""
        tokyo = Activity(
            "lead-1", "email_open", datetime(2026, 1, 5, 18, 30, tzinfo=JST), dedupe_key="t"
        )
        with store.transaction() as repo:
            repo.add_activities([activity("late", 120), tokyo, activity("early", -30)])
        with store.transaction() as repo:
            stored = repo.activities_for("lead-1")
        assert [a.dedupe_key for a in stored] == ["early", "t", "late"]
        assert stored[1].occurred_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
        assert all(a.occurred_at.tzinfo is UTC for a in stored)

    def test_activities_for_many_groups_by_lead(self, store: Store) -> None:
        """One call returns each lead's activities, with an empty list for leads with none."""
        with store.transaction() as repo:
            repo.add_activities(
                [activity("b2", 2, "b"), activity("a1", 1, "a"), activity("b1", 1, "b")]
            )
            found = repo.activities_for_many(["a", "b", "nobody"])
        assert {k: [a.dedupe_key for a in v] for k, v in found.items()} == {
            "a": ["a1"],
            "b": ["b1", "b2"],
            "nobody": [],
        }

    def test_activities_for_many_can_keep_only_some_kinds(self, store: Store) -> None:
        """With `kinds`, other kinds are left out; every key is still in the result."""
        with store.transaction() as repo:
            repo.add_activities(
                [
                    activity("a-view", 1, "a"),
                    activity("a-call", 2, "a", kind="call"),
                    activity("b-view", 1, "b"),
                ]
            )
            found = repo.activities_for_many(["a", "b"], kinds={"call", "meeting"})
        assert {k: [a.dedupe_key for a in v] for k, v in found.items()} == {
            "a": ["a-call"],
            "b": [],
        }

    def test_latest_page_views_are_the_last_page_view_of_each_contacts_lead(
        self, store: Store
    ) -> None:
        """By time, not by insertion; other kinds do not count; a contact whose lead has no
        page view, or with no linked lead, gets None."""
        with store.transaction() as repo:
            repo.save_leads([Lead("a", hubspot_id="51"), Lead("b", hubspot_id="52"), Lead("c")])
            repo.add_activities(
                [
                    activity("a-late", 5, "a", url="https://example.com/case"),
                    activity("a-early", 1, "a", url="https://example.com/pricing"),
                    activity("a-form", 9, "a", kind="form_submit", url="https://example.com/x"),
                    activity("b-form", 1, "b", kind="form_submit"),
                    activity("c-view", 1, "c"),
                ]
            )
            found = repo.latest_page_views(["51", "52", "53"])
        assert found == {"51": "https://example.com/case", "52": None, "53": None}

    def test_an_activity_without_dedupe_key_gets_a_stable_derived_one(self, store: Store) -> None:
        """Without a source id, the same content read twice is still stored once."""
        first = Activity("lead-1", "form_submit", at(0))
        with store.transaction() as repo:
            assert repo.add_activities([first, Activity("lead-1", "form_submit", at(1))]) == 2
            assert repo.add_activities([Activity("lead-1", "form_submit", at(0))]) == 0
            stored = repo.activities_for("lead-1")
        assert stored[0].dedupe_key.startswith("sha256:")
        assert len({a.dedupe_key for a in stored}) == 2

    def test_a_naive_activity_time_is_refused(self, store: Store) -> None:
        """An activity with a naive time raises ValueError and stores nothing."""
        naive = Activity("lead-1", "page_view", datetime(2026, 1, 5, 9), dedupe_key="n")
        with store.transaction() as repo:
            with pytest.raises(ValueError, match="naive"):
                repo.add_activities([activity("ok"), naive])
            assert repo.activities_for("lead-1") == []


class TestStageHistory:
    def test_changes_come_back_in_order_with_their_reasons(self, store: Store) -> None:
        """Stage changes are kept per lead, oldest first, with reasons as a tuple."""
        to_mql = StageChange("lead-1", "lead", "mql", at(0), ("score 85 >= 50", "webinar"))
        to_sql = StageChange("lead-1", "mql", "sql", at(60), ("BANT 3/4",))
        with store.transaction() as repo:
            repo.record_stage_change(to_sql, "feedback")
            repo.record_stage_change(to_mql, "score")
            repo.record_stage_change(StageChange("other", "lead", "mql", at(0)), "score")
        with store.transaction() as repo:
            assert repo.stage_history("lead-1") == [to_mql, to_sql]
            assert repo.stage_history("nobody") == []

    def test_a_naive_change_time_is_refused(self, store: Store) -> None:
        """A stage change with a naive time raises ValueError."""
        with store.transaction() as repo, pytest.raises(ValueError, match=r"StageChange\.at"):
            repo.record_stage_change(
                StageChange("lead-1", "lead", "mql", datetime(2026, 1, 5)), "score"
            )


class TestCorrections:
    def test_corrections_per_lead_and_all(self, store: Store) -> None:
        """Corrections are kept oldest first, for one lead or for all."""
        a = Correction("a", "solution", "concrete", "comparing", at(5))
        b = Correction("b", "timeline", None, "next_term", at(1), source="salesforce")
        with store.transaction() as repo:
            repo.record_correction(a)
            repo.record_correction(b)
        with store.transaction() as repo:
            assert repo.corrections("a") == [a]
            assert repo.corrections() == [b, a]

    def test_counts_group_by_axis_hypothesis_and_observed(self, store: Store) -> None:
        """The aggregate says how often each correction happened, None hypotheses included."""
        with store.transaction() as repo:
            for n, key in enumerate(["a", "b", "c"]):
                repo.record_correction(Correction(key, "solution", "concrete", "comparing", at(n)))
            repo.record_correction(Correction("d", "timeline", None, "next_term", at(9)))
            repo.record_correction(Correction("e", "timeline", None, "next_term", at(9)))
            repo.record_correction(Correction("f", "timeline", "this_term", "next_term", at(9)))
            counts = repo.correction_counts()
        assert counts == {
            ("solution", "concrete", "comparing"): 3,
            ("timeline", None, "next_term"): 2,
            ("timeline", "this_term", "next_term"): 1,
        }
