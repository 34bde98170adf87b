"""Tests for the lead queries: full round trip, look-ups, iteration and counts."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from mappings.model import STAGES, Lead, LeadTimes, Outcome
from state import Store
from state._leads import changed_columns, lead_columns
from state.tables import LeadRow
from tests.state.support import FakeClock, activity, full_lead, unset_fields


class TestRoundTrip:
    def test_the_full_lead_sets_every_field(self) -> None:
        """The test lead leaves no field at its default (a new model field must be added)."""
        assert unset_fields(full_lead()) == []

    def test_every_field_of_the_lead_has_a_column(self) -> None:
        """Each canonical field maps to a column of the leads table, and nothing else does."""
        stored = set(lead_columns(full_lead())) | {"created_at", "updated_at"}
        assert stored == set(LeadRow.model_fields)

    def test_every_field_comes_back_equal(self, store: Store) -> None:
        """A lead saved and read in a later transaction equals the one saved."""
        lead = full_lead()
        with store.transaction() as repo:
            repo.save_lead(lead)
        with store.transaction() as repo:
            assert repo.get_lead(lead.key) == lead

    def test_datetimes_come_back_aware_in_utc(self, store: Store) -> None:
        """Times saved with a +09:00 offset come back as the same instants in UTC."""
        lead = full_lead()
        with store.transaction() as repo:
            repo.save_lead(lead)
        with store.transaction() as repo:
            loaded = repo.get_lead(lead.key)
        assert loaded is not None
        for f in fields(LeadTimes):
            value = getattr(loaded.times, f.name)
            assert value.tzinfo is UTC, f.name
            assert value == getattr(lead.times, f.name)
        assert loaded.times.first_seen == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

    @pytest.mark.parametrize("amount", ["0.01", "98765432.10", "12345678901234.56"])
    def test_amount_comes_back_as_an_exact_decimal(self, store: Store, amount: str) -> None:
        """The opportunity amount is a Decimal with its cents, not a float."""
        with store.transaction() as repo:
            repo.save_lead(full_lead(outcome=Outcome(won=False, amount=Decimal(amount))))
        with store.transaction() as repo:
            loaded = repo.get_lead("lead-1")
        assert loaded is not None and loaded.outcome is not None
        assert isinstance(loaded.outcome.amount, Decimal)
        assert str(loaded.outcome.amount) == amount
        assert loaded.outcome.won is False

    def test_a_bare_lead_comes_back_with_its_defaults(self, store: Store) -> None:
        """Nones, empty reasons and no outcome survive the round trip as such."""
        with store.transaction() as repo:
            repo.save_lead(Lead("bare"))
        with store.transaction() as repo:
            assert repo.get_lead("bare") == Lead("bare")

    def test_saving_again_updates_every_field(self, store: Store) -> None:
        """Saving a lead with the same key replaces what was stored, nulls included."""
        with store.transaction() as repo:
            repo.save_lead(full_lead())
        changed = Lead("lead-1", email="new@example.com", stage="recycled")
        with store.transaction() as repo:
            repo.save_lead(changed)
        with store.transaction() as repo:
            assert repo.get_lead("lead-1") == changed

    def test_an_update_to_every_field_comes_back_equal(self, store: Store) -> None:
        """Bare leads updated, in one call, to every field set (times in JST, an exact
        amount, score reasons) read back equal to what was saved."""
        keys = ["a", "b", "c"]
        with store.transaction() as repo:
            repo.save_leads([Lead(key) for key in keys])
        won = Outcome(won=True, amount=Decimal("12345678901234.56"))
        full = {key: full_lead(key, outcome=won) for key in keys}
        with store.transaction() as repo:
            repo.save_leads(full.values(), as_read=repo.leads_by_key(keys))
        with store.transaction() as repo:
            assert repo.leads_by_key(keys) == full

    def test_email_is_stored_normalized(self, store: Store) -> None:
        """An e-mail with capitals and spaces is stored trimmed and lower case."""
        with store.transaction() as repo:
            repo.save_lead(Lead("k", email="  Taro.Yamada@Example.CO.JP "))
        with store.transaction() as repo:
            loaded = repo.get_lead("k")
        assert loaded is not None and loaded.email == "taro.yamada@example.co.jp"

    def test_a_naive_datetime_is_refused_and_the_transaction_stays_usable(
        self, store: Store
    ) -> None:
        """A naive time raises ValueError before any SQL, so the transaction can go on."""
        naive = replace(full_lead(), times=LeadTimes(mql_at=datetime(2026, 1, 5, 9, 0)))
        with store.transaction() as repo:
            with pytest.raises(ValueError, match=r"leads\.mql_at is the naive datetime"):
                repo.save_lead(naive)
            repo.save_lead(Lead("other"))
        with store.transaction() as repo:
            assert repo.get_lead("lead-1") is None
            assert repo.get_lead("other") == Lead("other")


class TestBookkeeping:
    def test_created_and_updated_at_come_from_the_clock(
        self, store: Store, clock: FakeClock
    ) -> None:
        """created_at stays; updated_at moves only when a field changed."""
        start = clock.now
        with store.transaction() as repo:
            repo.save_lead(full_lead("k"))
        clock.advance(timedelta(hours=1))
        with store.transaction() as repo:
            repo.save_lead(full_lead("k"))
        with store.transaction() as repo:
            row = repo._session.get(LeadRow, "k")
            assert row is not None
            assert (row.created_at, row.updated_at) == (start, start)
        clock.advance(timedelta(hours=1))
        with store.transaction() as repo:
            repo.save_lead(full_lead("k", stage="opportunity"))
        with store.transaction() as repo:
            row = repo._session.get(LeadRow, "k")
            assert row is not None
            assert (row.created_at, row.updated_at) == (start, clock.now)

    def test_leads_as_read_are_compared_without_reading_them_again(
        self, store: Store, clock: FakeClock
    ) -> None:
        """With `as_read`, a lead equal to how it was read is left alone, a changed one is
        updated and stamped, and a key not read is inserted or compared as usual."""
        start = clock.now
        with store.transaction() as repo:
            repo.save_leads([full_lead("a"), full_lead("b"), full_lead("c")])
        clock.advance(timedelta(hours=1))
        with store.transaction() as repo:
            read = repo.leads_by_key(["a", "b"])
            moved = replace(read["b"], stage="opportunity")
            same_c = full_lead("c")
            repo.save_leads([read["a"], moved, same_c, full_lead("d")], as_read=read)
            assert repo.leads_by_key(["a", "b", "c", "d"]) == {
                "a": read["a"],
                "b": moved,
                "c": same_c,
                "d": full_lead("d"),
            }
        with store.transaction() as repo:
            rows = {row.key: row for row in repo._session.exec(select(LeadRow))}
        assert {k: row.updated_at for k, row in rows.items()} == {
            "a": start,
            "b": clock.now,
            "c": start,
            "d": clock.now,
        }

    def test_an_update_writes_only_the_columns_that_changed(self, store: Store) -> None:
        """Leads with the same changes share one UPDATE that sets those columns and
        updated_at, nothing else."""
        with store.transaction() as repo:
            repo.save_leads([full_lead("a"), full_lead("b"), full_lead("c")])
        updates: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("UPDATE leads"):
                updates.append(statement)

        event.listen(store.engine, "before_cursor_execute", record)
        try:
            with store.transaction() as repo:
                read = repo.leads_by_key(["a", "b", "c"])
                titled = [replace(read[k], fit=replace(read[k].fit, title="CTO")) for k in "ab"]
                repo.save_leads([*titled, replace(read["c"], stage="opportunity")], as_read=read)
        finally:
            event.remove(store.engine, "before_cursor_execute", record)
        assert len(updates) == 2
        columns_set = sorted(
            [part.split("=")[0] for part in _set_clause(u).split(", ")] for u in updates
        )
        assert columns_set == [["stage", "updated_at"], ["title", "updated_at"]]

    def test_a_mixed_batch_moves_updated_at_of_changed_rows_only(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Across batches, new leads are inserted, changed ones updated and stamped, unchanged
        ones left alone; what is read back in the same transaction is what was saved."""
        start = clock.now
        first = [full_lead(f"k{n:04d}") for n in range(0, 1100, 2)]
        with store.transaction() as repo:
            repo.save_leads(first)
        clock.advance(timedelta(hours=1))
        again = [full_lead(f"k{n:04d}") for n in range(1100)]
        again[10] = replace(again[10], stage="mql", email="moved@example.com")
        again[11] = replace(again[11], stage="mql")
        with store.transaction() as repo:
            repo.save_leads(again)
            assert repo.leads_by_key(lead.key for lead in again) == {x.key: x for x in again}
            assert repo.find_lead(email="moved@example.com") == again[10]
        with store.transaction() as repo:
            rows = {row.key: row for row in repo._session.exec(select(LeadRow))}
        changed = {again[10].key, *(lead.key for lead in again[1::2])}
        assert len(rows) == 1100
        assert {k for k, row in rows.items() if row.updated_at == clock.now} == changed
        assert {k for k, row in rows.items() if row.created_at == start} == {
            lead.key for lead in first
        }


class TestFindLead:
    @pytest.fixture(autouse=True)
    def _leads(self, store: Store) -> None:
        with store.transaction() as repo:
            repo.save_leads([full_lead("a"), full_lead("b"), Lead("c", email="a@example.co.jp")])

    def test_by_each_identity(self, store: Store) -> None:
        """A lead is found by its HubSpot id, its Salesforce id or its e-mail."""
        with store.transaction() as repo:
            by_hubspot = repo.find_lead(hubspot_id="hs-b")
            by_salesforce = repo.find_lead(salesforce_id="00Qb")
            by_email = repo.find_lead(email=" B@Example.co.jp")
        assert [x.key if x else None for x in (by_hubspot, by_salesforce, by_email)] == ["b"] * 3

    def test_ids_win_over_the_email(self, store: Store) -> None:
        """With several identities, the CRM ids are tried before the e-mail."""
        with store.transaction() as repo:
            found = repo.find_lead(email="a@example.co.jp", salesforce_id="00Qb")
        assert found is not None and found.key == "b"

    def test_a_shared_email_finds_the_earliest_lead(self, store: Store) -> None:
        """E-mail is not unique; the lead stored first with it is returned."""
        with store.transaction() as repo:
            found = repo.find_lead(email="a@example.co.jp")
        assert found is not None and found.key in {"a", "c"}
        assert found.key == "a"

    def test_no_match_is_none_and_no_identity_is_an_error(self, store: Store) -> None:
        """Unknown identities give None; calling with none at all is a ValueError."""
        with store.transaction() as repo:
            assert repo.find_lead(hubspot_id="nope", email="nobody@x.com") is None
            assert repo.get_lead("nope") is None
            with pytest.raises(ValueError, match="needs an email"):
                repo.find_lead()

    def test_a_crm_id_held_by_another_lead_is_refused(self, store: Store) -> None:
        """Two leads cannot share a HubSpot id: the database refuses the second one."""
        with pytest.raises(IntegrityError), store.transaction() as repo:
            repo.save_lead(Lead("d", hubspot_id="hs-a"))
        with store.transaction() as repo:
            assert repo.get_lead("d") is None


class TestListing:
    def test_leads_by_stage_in_key_order(self, store: Store) -> None:
        """All leads, or one stage's, come back ordered by key."""
        with store.transaction() as repo:
            repo.save_leads(
                [Lead("k3", stage="mql"), Lead("k1", stage="mql"), Lead("k2", stage="lead")]
            )
        with store.transaction() as repo:
            assert [lead.key for lead in repo.leads()] == ["k1", "k2", "k3"]
            assert [lead.key for lead in repo.leads("mql")] == ["k1", "k3"]
            assert list(repo.leads("won")) == []

    def test_iteration_pages_through_many_leads(self, store: Store) -> None:
        """More leads than one page are all returned, each once."""
        keys = [f"k{n:04d}" for n in range(1203)]
        with store.transaction() as repo:
            repo.save_leads(Lead(key) for key in reversed(keys))
        with store.transaction() as repo:
            assert [lead.key for lead in repo.leads()] == keys

    def test_count_by_stage_has_every_stage(self, store: Store) -> None:
        """Counts per stage, with zero for the stages no lead is at."""
        with store.transaction() as repo:
            repo.save_leads([Lead("a", stage="mql"), Lead("b", stage="mql"), Lead("c")])
            counts = repo.count_by_stage()
        assert counts == {stage: 0 for stage in STAGES} | {"mql": 2, "lead": 1}

    def test_save_leads_keeps_the_last_of_a_repeated_key(self, store: Store) -> None:
        """Saving the same key twice in one batch stores the later value."""
        with store.transaction() as repo:
            repo.save_leads([Lead("a", stage="lead"), Lead("a", stage="mql")])
        with store.transaction() as repo:
            assert repo.get_lead("a") == Lead("a", stage="mql")


class TestFindLeads:
    def test_a_page_of_identities_is_looked_up_in_one_index(self, store: Store) -> None:
        """HubSpot id first, then Salesforce id, then the e-mail, for many records at once."""
        with store.transaction() as repo:
            repo.save_leads(
                [
                    Lead("a", email="a@example.co.jp", hubspot_id="101"),
                    Lead("b", email="b@example.co.jp", salesforce_id="00Qb"),
                    Lead("c", email="Shared@Example.co.jp"),
                ]
            )
        with store.transaction() as repo:
            index = repo.find_leads(
                hubspot_ids=["101", "999"],
                salesforce_ids=["00Qb"],
                emails=[" shared@example.CO.JP", "nobody@example.co.jp"],
            )

        def key(**identity: str) -> str | None:
            found = index.lookup(**identity)
            return None if found is None else found.key

        assert key(hubspot_id="101", email="shared@example.co.jp") == "a"
        assert key(salesforce_id="00Qb") == "b"
        assert key(hubspot_id="999", email="SHARED@example.co.jp") == "c"
        assert key(hubspot_id="999", email="nobody@example.co.jp") is None


class TestChangeTracking:
    def test_changed_since_lists_leads_whose_row_changed_later(
        self, store: Store, clock: FakeClock
    ) -> None:
        """A lead saved again unchanged does not count as changed; a real change does."""
        with store.transaction() as repo:
            repo.save_leads([full_lead("lead-1"), full_lead("lead-2", hubspot_id="h2")])
        mark = clock()
        clock.advance(timedelta(minutes=1))
        with store.transaction() as repo:
            repo.save_lead(full_lead("lead-1"))  # the same values: no change
            repo.save_lead(full_lead("lead-2", hubspot_id="h2", first_name="花子"))

        with store.transaction() as repo:
            assert repo.leads_changed_since(mark) == ["lead-2"]
            assert repo.leads_changed_since(None) == ["lead-1", "lead-2"]
            assert repo.leads_changed_since(clock()) == []

    def test_touched_since_adds_leads_that_gained_an_activity(
        self, store: Store, clock: FakeClock
    ) -> None:
        """An activity stored after the mark touches its lead; a duplicate does not."""
        with store.transaction() as repo:
            repo.save_leads([full_lead("lead-1"), full_lead("lead-2", hubspot_id="h2")])
            repo.add_activities([activity("a", 0, "lead-1")])
        mark = clock()
        clock.advance(timedelta(minutes=1))
        with store.transaction() as repo:
            repo.add_activities([activity("a", 0, "lead-1")])
            assert repo.leads_touched_since(mark) == []
            repo.add_activities([activity("b", 1, "lead-2")])
            assert repo.leads_touched_since(mark) == ["lead-2"]
            found = repo.leads_by_key(["lead-2", "missing"])
        assert list(found) == ["lead-2"] and found["lead-2"].hubspot_id == "h2"


def _leaf_paths(value: object, path: str = "") -> list[str]:
    found: list[str] = []
    assert is_dataclass(value)
    for f in fields(value):
        current = getattr(value, f.name)
        if is_dataclass(current):
            found += _leaf_paths(current, f"{path}{f.name}.")
        else:
            found.append(f"{path}{f.name}")
    return found


def _with_leaf(value: Any, path: str, leaf: Any) -> Any:
    head, _, rest = path.partition(".")
    if not rest:
        return replace(value, **{head: leaf})
    return replace(value, **{head: _with_leaf(getattr(value, head), rest, leaf)})


def _columns_diff(before: Lead, after: Lead) -> dict[str, Any]:
    old = lead_columns(before)
    return {name: value for name, value in lead_columns(after).items() if old[name] != value}


class TestChangedColumns:
    """`changed_columns` finds what comparing every column of both leads would find."""

    @pytest.mark.parametrize("path", _leaf_paths(full_lead()))
    def test_each_field_changed_alone(self, path: str) -> None:
        before = full_lead()
        cleared = None if path != "score.reasons" else ()
        if path == "outcome.won":
            cleared = not before.outcome.won  # type: ignore[union-attr]
        elif path in ("key", "score.total", "score.behaviour", "score.fit"):
            cleared = {"key": "lead-2"}.get(path, 7)
        after = _with_leaf(before, path, cleared)
        assert changed_columns(before, after) == _columns_diff(before, after) != {}

    def test_equal_parts_rebuilt_and_an_email_in_other_case_change_nothing(self) -> None:
        before = full_lead()
        assert before.email is not None
        after = replace(
            before,
            email=before.email.upper(),
            fit=replace(before.fit),
            times=replace(before.times),
            score=replace(before.score, reasons=tuple(before.score.reasons)),
            assessment=replace(before.assessment),
        )
        assert changed_columns(before, after) == _columns_diff(before, after) == {}

    def test_several_parts_at_once_and_the_outcome_cleared(self) -> None:
        before = full_lead()
        after = replace(
            before,
            stage="lost",
            outcome=None,
            fit=replace(before.fit, title="CTO", employees=None),
            bant=replace(before.bant, budget=None),
            times=replace(before.times, closed_at=None),
        )
        expected = _columns_diff(before, after)
        assert changed_columns(before, after) == expected
        assert {"stage", "outcome_won", "outcome_amount", "title", "employees"} <= set(expected)
        assert changed_columns(after, before) == _columns_diff(after, before)


def _set_clause(update: str) -> str:
    """The SET list of an UPDATE statement's text (before its FROM, on PostgreSQL, or WHERE)."""
    assignments = update.split(" SET ", 1)[1]
    for clause in (" FROM ", " WHERE "):
        assignments = assignments.split(clause, 1)[0]
    return assignments
