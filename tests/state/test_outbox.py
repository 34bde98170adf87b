"""Tests for the outbox: idempotent enqueue, due items in order, done and retry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state import NotFoundError, OutboxWrite, Store
from tests.state.support import START, FakeClock, at


class TestEnqueue:
    def test_an_idempotency_key_is_queued_once(self, store: Store) -> None:
        """The second enqueue with the same key returns False and adds nothing."""
        with store.transaction() as repo:
            assert repo.enqueue("salesforce", "upsert_lead", "k", "k:mql:1", {"Status": "MQL"})
            assert not repo.enqueue("salesforce", "upsert_lead", "k", "k:mql:1", {"Other": 1})
        with store.transaction() as repo:
            assert not repo.enqueue("hubspot", "update_contact", "k", "k:mql:1", {})
            items = repo.pending_outbox("salesforce", 10, START)
        assert [(i.idempotency_key, dict(i.payload)) for i in items] == [
            ("k:mql:1", {"Status": "MQL"})
        ]

    def test_an_item_is_due_when_queued_and_stamped_by_the_clock(
        self, store: Store, clock: FakeClock
    ) -> None:
        """A new item has no attempts, is due at once, and keeps its JSON payload."""
        payload = {"Email": "a@x.com", "Score__c": 85, "Reasons__c": ["webinar"], "Won": None}
        with store.transaction() as repo:
            repo.enqueue("hubspot", "update_contact", "k", "key-1", payload)
        with store.transaction() as repo:
            (item,) = repo.pending_outbox("hubspot", 10, clock.now)
        assert item.target == "hubspot"
        assert (item.operation, item.lead_key, item.payload) == ("update_contact", "k", payload)
        assert (item.created_at, item.next_attempt_at) == (clock.now, clock.now)
        assert (item.attempts, item.last_error, item.done_at) == (0, None, None)

    def test_last_payloads_are_the_latest_item_of_each_lead_done_or_not(self, store: Store) -> None:
        """Per lead, the payload of the item queued last for that target and operation."""
        writes = [
            OutboxWrite("hubspot", "update_contact", "a", "a-1", {"digest": "a1"}),
            OutboxWrite("hubspot", "update_contact", "b", "b-1", {"digest": "b1"}),
            OutboxWrite("hubspot", "update_contact", "a", "a-2", {"digest": "a2"}),
            OutboxWrite("hubspot", "lifecycle", "a", "a-3", {"digest": "other operation"}),
            OutboxWrite("salesforce", "update_contact", "b", "b-2", {"digest": "other target"}),
        ]
        with store.transaction() as repo:
            repo.enqueue_many(writes)
            done = repo.pending_outbox("hubspot", 10, START)
            repo.mark_done([item.id for item in done], START)
            found = repo.last_payloads("hubspot", "update_contact", ["a", "b", "nobody"])
        assert found == {"a": {"digest": "a2"}, "b": {"digest": "b1"}}

    def test_an_unknown_target_is_refused(self, store: Store) -> None:
        """Only hubspot and salesforce are targets."""
        with store.transaction() as repo, pytest.raises(ValueError, match="outbox target"):
            repo.enqueue("marketo", "x", "k", "key", {})  # type: ignore[arg-type]


class TestEnqueueMany:
    def test_many_writes_are_queued_in_order_like_one_by_one(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Across batches, in the order given; a key stored already or repeated is skipped,
        the first write of a key wins, and the keys queued come back."""
        with store.transaction() as repo:
            repo.enqueue("salesforce", "upsert_lead", "k0", "sf-0", {"old": True})
        writes = [
            OutboxWrite("salesforce", "upsert_lead", f"k{n}", f"sf-{n}", {"n": n})
            for n in range(1203)
        ]
        writes.insert(7, OutboxWrite("salesforce", "upsert_lead", "k3", "sf-3", {"late": 1}))
        writes.append(OutboxWrite("salesforce", "upsert_lead", "k1", "sf-1", {"late": 1}))
        writes.append(OutboxWrite("salesforce", "upsert_lead", "k0", "sf-0", {"late": 1}))
        with store.transaction() as repo:
            queued = repo.enqueue_many(writes)
            assert repo.enqueue_many(writes[:10]) == set()
        assert queued == {f"sf-{n}" for n in range(1, 1203)}
        with store.transaction() as repo:
            items = repo.pending_outbox("salesforce", 2000, clock.now)
        assert [(i.lead_key, i.idempotency_key, dict(i.payload)) for i in items] == [
            ("k0", "sf-0", {"old": True}),
            *((f"k{n}", f"sf-{n}", {"n": n}) for n in range(1, 1203)),
        ]
        assert {(i.attempts, i.created_at, i.next_attempt_at) for i in items} == {
            (0, clock.now, clock.now)
        }

    def test_targets_are_checked_and_at_must_be_aware(self, store: Store) -> None:
        """An unknown target or a naive `at` queues nothing of the batch."""
        good = OutboxWrite("hubspot", "update_contact", "k", "hs-1", {})
        bad = OutboxWrite("marketo", "x", "k", "key", {})  # type: ignore[arg-type]
        with store.transaction() as repo:
            with pytest.raises(ValueError, match="outbox target"):
                repo.enqueue_many([good, bad])
            with pytest.raises(ValueError, match="naive"):
                repo.enqueue_many([good], at=START.replace(tzinfo=None))
            assert repo.enqueue_many([], at=at(1)) == set()
            assert repo.enqueue_many([good], at=at(1)) == {"hs-1"}
            (item,) = repo.pending_outbox("hubspot", 10, at(1))
        assert (item.created_at, item.next_attempt_at) == (at(1), at(1))


class TestDrain:
    def test_pending_is_per_target_oldest_first_and_limited(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Items come back for one target in the order queued, at most `limit`."""
        with store.transaction() as repo:
            for n in range(5):
                clock.advance(timedelta(seconds=1))
                repo.enqueue("salesforce", "upsert_lead", f"k{n}", f"sf-{n}", {"n": n})
                repo.enqueue("hubspot", "update_contact", f"k{n}", f"hs-{n}", {"n": n})
        with store.transaction() as repo:
            first = repo.pending_outbox("salesforce", 3, clock.now)
            everything = repo.pending_outbox("hubspot", 100, clock.now)
        assert [i.idempotency_key for i in first] == ["sf-0", "sf-1", "sf-2"]
        assert [i.idempotency_key for i in everything] == [f"hs-{n}" for n in range(5)]

    def test_done_items_are_no_longer_pending(self, store: Store) -> None:
        """mark_done takes a batch of ids and removes them from the pending list."""
        with store.transaction() as repo:
            for n in range(3):
                repo.enqueue("salesforce", "upsert_lead", f"k{n}", f"sf-{n}", {})
            ids = [i.id for i in repo.pending_outbox("salesforce", 10, START)]
            repo.mark_done(ids[:2], at(1))
            repo.mark_done([], at(1))
        with store.transaction() as repo:
            assert [i.id for i in repo.pending_outbox("salesforce", 10, at(2))] == ids[2:]
            done = repo.outbox_item(ids[0])
        assert done is not None and done.done_at == at(1)

    def test_a_failed_item_is_retried_at_its_time(self, store: Store) -> None:
        """mark_failed counts the attempt, keeps the error and hides the item until retry_at."""
        with store.transaction() as repo:
            repo.enqueue("salesforce", "upsert_lead", "k", "sf-1", {})
            repo.enqueue("salesforce", "upsert_lead", "j", "sf-2", {})
            first, second = repo.pending_outbox("salesforce", 10, START)
            repo.mark_failed(first.id, "REQUEST_LIMIT_EXCEEDED", at(10))
        with store.transaction() as repo:
            assert [i.id for i in repo.pending_outbox("salesforce", 10, at(9))] == [second.id]
            due = repo.pending_outbox("salesforce", 10, at(10))
            repo.mark_failed(first.id, "UNABLE_TO_LOCK_ROW", at(30))
            again = repo.outbox_item(first.id)
        assert [i.id for i in due] == [first.id, second.id]
        assert (due[0].attempts, due[0].last_error) == (1, "REQUEST_LIMIT_EXCEEDED")
        assert again is not None
        assert (again.attempts, again.last_error, again.next_attempt_at) == (
            2,
            "UNABLE_TO_LOCK_ROW",
            at(30),
        )

    def test_failing_an_unknown_item_says_so(self, store: Store) -> None:
        """mark_failed on an id that does not exist raises NotFoundError."""
        with store.transaction() as repo, pytest.raises(NotFoundError, match="outbox item 999"):
            repo.mark_failed(999, "x", at(1))

    def test_a_naive_now_is_refused(self, store: Store) -> None:
        """Asking for due items with a naive time is a ValueError."""
        with store.transaction() as repo, pytest.raises(ValueError, match="naive"):
            repo.pending_outbox("hubspot", 1, START.replace(tzinfo=None))
