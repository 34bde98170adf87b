"""Tests for SLA alerts: each (lead, SLA, start, level) is claimed once, even across restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state import AlertClaim, NotFoundError, Store
from tests.state.support import JST, START, at

SLA_START = START.astimezone(JST)


class TestClaim:
    def test_a_second_claim_is_refused(self, store: Store) -> None:
        """The same (lead, SLA, start, level) can be claimed only once."""
        with store.transaction() as repo:
            assert repo.claim_alert("k", "first_touch", SLA_START, 1, "is@x.com", at(60))
            assert not repo.claim_alert("k", "first_touch", SLA_START, 1, "boss@x.com", at(61))
        with store.transaction() as repo:
            (alert,) = repo.pending_alerts()
        assert (alert.recipient, alert.status, alert.attempts) == ("is@x.com", "pending", 0)
        assert alert.sla_started_at == START

    def test_other_levels_starts_and_slas_are_separate_alerts(self, store: Store) -> None:
        """Escalation levels, a restarted SLA clock and another SLA are claimed on their own."""
        with store.transaction() as repo:
            assert repo.claim_alert("k", "first_touch", START, 1, "is@x.com", at(60))
            assert repo.claim_alert("k", "first_touch", START, 2, "boss@x.com", at(120))
            assert repo.claim_alert("k", "first_touch", at(500), 1, "is@x.com", at(560))
            assert repo.claim_alert("k", "sql_follow_up", START, 1, "fs@x.com", at(60))
            assert repo.claim_alert("j", "first_touch", START, 1, "is@x.com", at(60))
            assert len(repo.pending_alerts()) == 5

    def test_many_claimed_at_once_count_the_new_ones(self, store: Store) -> None:
        """`claim_alerts` claims each alert once: one claimed before and one repeated in
        the call are not counted again, and every claim is pending for its recipient."""
        first = AlertClaim("k", "first_touch", SLA_START, 1, "is@x.com")
        escalated = AlertClaim("k", "first_touch", SLA_START, 2, "boss@x.com, vp@x.com")
        other = AlertClaim("j", "sql_follow_up", START, 1, "fs@x.com")
        with store.transaction() as repo:
            assert repo.claim_alerts([first], at(60)) == 1
            assert repo.claim_alerts([first, escalated, other, escalated], at(120)) == 2
            assert repo.claim_alerts([], at(180)) == 0
        with store.transaction() as repo:
            alerts = repo.pending_alerts()
        pending = {(a.lead_key, a.level): (a.recipient, a.created_at) for a in alerts}
        assert pending == {
            ("k", 1): ("is@x.com", at(60)),
            ("k", 2): ("boss@x.com, vp@x.com", at(120)),
            ("j", 1): ("fs@x.com", at(120)),
        }

    def test_a_claim_survives_a_restart(self, db_url: str, store: Store) -> None:
        """A new Store on the same database (a restarted daemon) cannot claim it again."""
        with store.transaction() as repo:
            assert repo.claim_alert("k", "first_touch", START, 1, "is@x.com", at(60))
        store.dispose()
        with (
            Store.connect(db_url, migrate=True) as restarted,
            restarted.transaction() as repo,
        ):
            assert not repo.claim_alert("k", "first_touch", SLA_START, 1, "is@x.com", at(90))
            assert len(repo.pending_alerts()) == 1


class TestOutcome:
    def test_sent_alerts_are_no_longer_pending(self, store: Store) -> None:
        """mark_alert_sent records the time; the alert leaves the retry list."""
        with store.transaction() as repo:
            repo.claim_alert("k", "first_touch", START, 1, "is@x.com", at(60))
            repo.claim_alert("j", "first_touch", START, 1, "is@x.com", at(61))
        with store.transaction() as repo:
            repo.mark_alert_sent("k", "first_touch", SLA_START, 1, at(62))
        with store.transaction() as repo:
            assert [a.lead_key for a in repo.pending_alerts()] == ["j"]
            (sent,) = repo.alerts_for("k")
        assert (sent.status, sent.sent_at, sent.attempts) == ("sent", at(62), 1)

    def test_failed_alerts_stay_pending_with_their_error(self, store: Store) -> None:
        """mark_alert_failed keeps the error and the alert is listed for a retry."""
        with store.transaction() as repo:
            repo.claim_alert("k", "first_touch", START, 1, "is@x.com", at(60))
            repo.mark_alert_failed("k", "first_touch", START, 1, "SMTP 451 try later")
            repo.mark_alert_failed("k", "first_touch", START, 1, "SMTP 421 busy")
        with store.transaction() as repo:
            (alert,) = repo.pending_alerts()
        assert (alert.status, alert.attempts, alert.last_error) == ("failed", 2, "SMTP 421 busy")
        assert alert.sent_at is None

    def test_marking_an_unclaimed_alert_says_so(self, store: Store) -> None:
        """Only a claimed alert can be marked sent or failed."""
        with store.transaction() as repo, pytest.raises(NotFoundError, match="claimed alert"):
            repo.mark_alert_sent("k", "first_touch", START, 1, at(1))


class TestDigestClaim:
    def test_each_day_and_owner_is_claimed_once(self, store: Store) -> None:
        """A (day, owner) digest is claimed once, the owner compared without regard to case;
        another day or owner is a digest of its own."""
        day = START.astimezone(JST).date()
        with store.transaction() as repo:
            assert repo.claim_digest(day, "Sato@Example.co.jp", at(60))
            assert not repo.claim_digest(day, "sato@example.co.jp ", at(61))
            assert repo.claim_digest(day, "suzuki@example.co.jp", at(62))
            assert repo.claim_digest(day + timedelta(days=1), "sato@example.co.jp", at(63))
        with store.transaction() as repo:
            claimed = [(d.day, d.owner, d.status, d.created_at) for d in repo.unsent_digests()]
        assert claimed == [
            (day, "sato@example.co.jp", "pending", at(60)),
            (day, "suzuki@example.co.jp", "pending", at(62)),
            (day + timedelta(days=1), "sato@example.co.jp", "pending", at(63)),
        ]
