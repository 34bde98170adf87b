"""Tests for quarantined records: list, repeat failures, resolve."""

from __future__ import annotations

import pytest

from state import NotFoundError, Store
from tests.state.support import at

PAYLOAD = {"Email": "bad@@x", "LastName": "山田"}


class TestQuarantine:
    def test_a_record_is_listed_with_the_crm_error(self, store: Store) -> None:
        """A quarantined record keeps its payload and the CRM's own error text."""
        with store.transaction() as repo:
            qid = repo.quarantine(
                "salesforce", "upsert_lead", "k", PAYLOAD, "INVALID_EMAIL_ADDRESS", "bad", at(0)
            )
            (record,) = repo.quarantined()
        assert record.id == qid
        assert (record.system, record.operation, record.record_key) == (
            "salesforce",
            "upsert_lead",
            "k",
        )
        assert (record.payload, record.error_code, record.error_message) == (
            PAYLOAD,
            "INVALID_EMAIL_ADDRESS",
            "bad",
        )
        assert (record.attempts, record.first_seen_at, record.last_attempt_at) == (1, at(0), at(0))
        assert record.resolved_at is None

    def test_the_same_record_failing_again_updates_its_entry(self, store: Store) -> None:
        """A repeat failure of an unresolved record counts an attempt instead of a new row."""
        with store.transaction() as repo:
            first = repo.quarantine("hubspot", "update", "k", {"a": 1}, "400", "bad", at(0))
            again = repo.quarantine("hubspot", "update", "k", {"a": 2}, None, "worse", at(5))
            other = repo.quarantine("hubspot", "update", "j", {}, "400", "bad", at(6))
            records = repo.quarantined()
        assert again == first != other
        assert [(r.record_key, r.attempts) for r in records] == [("k", 2), ("j", 1)]
        assert (records[0].payload, records[0].error_code, records[0].error_message) == (
            {"a": 2},
            None,
            "worse",
        )
        assert (records[0].first_seen_at, records[0].last_attempt_at) == (at(0), at(5))

    def test_resolved_records_are_hidden_unless_asked_for(self, store: Store) -> None:
        """resolve stamps the record; it leaves the default list and a new failure starts over."""
        with store.transaction() as repo:
            qid = repo.quarantine("hubspot", "update", "k", {}, "400", "bad", at(0))
            repo.resolve(qid, at(10))
            repo.resolve(qid, at(20))
            assert repo.quarantined() == []
            (resolved,) = repo.quarantined(include_resolved=True)
            new = repo.quarantine("hubspot", "update", "k", {}, "400", "bad", at(30))
        assert resolved.resolved_at == at(10)
        assert new != qid

    def test_the_count_is_of_unresolved_records(self, store: Store) -> None:
        with store.transaction() as repo:
            first = repo.quarantine("hubspot", "update", "a", {}, "400", "bad", at(0))
            repo.quarantine("salesforce", "upsert", "b", {}, "400", "bad", at(0))
            assert repo.count_quarantined() == 2
            repo.resolve(first, at(1))
            assert repo.count_quarantined() == 1

    def test_resolving_an_unknown_record_says_so(self, store: Store) -> None:
        """An id that is not in quarantine raises NotFoundError."""
        with store.transaction() as repo, pytest.raises(NotFoundError, match="quarantined"):
            repo.resolve(12345, at(0))
