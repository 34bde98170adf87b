"""The daily digest: one e-mail per owner and business day, of the breaches open at digest_at,
sent once across restarts, retried when refused."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage

import pytest
from structlog.testing import capture_logs

from mappings.model import Activity
from sync.config import Config
from sync.jobs.digest import digest_window, owner_address
from tests.sync.builders import jst
from tests.sync.jobs.conftest import MANAGER, SATO, SUZUKI, Desk, lead

THURSDAY = date(2026, 1, 15)
ITO = lead(1, "伊藤", jst(2026, 1, 8, 10), SATO)  # due Wed 1/14 10:00
KATO = lead(2, "加藤", jst(2026, 1, 9, 9), SATO)  # due Wed 1/14 18:00
KIMURA = lead(3, "木村", jst(2026, 1, 8, 15), SUZUKI)  # due Wed 1/14 15:00
KOBAYASHI = lead(4, "小林", jst(2026, 1, 8, 11), None)  # due Wed 1/14 11:00, no owner
NAKAMURA = lead(5, "中村", jst(2026, 1, 9, 13), SATO)  # due Thu 1/15 13:00: after 09:30
YOSHIDA = lead(6, "吉田", jst(2026, 1, 8, 10), SATO)  # called on Tue 1/13: met
CALL = Activity(YOSHIDA.key, "call", jst(2026, 1, 13, 11), dedupe_key="call-6")


@pytest.fixture
def office(desk: Desk) -> Desk:
    """Sato's and Suzuki's leads, one without an owner, one met, one breached late."""
    desk.add(ITO, KATO, KIMURA, KOBAYASHI, NAKAMURA, YOSHIDA)
    with desk.store.transaction() as repo:
        repo.add_activities([CALL])
    return desk


def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def by_owner(desk: Desk) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for message in desk.digests():
        found.setdefault(str(message["To"]), []).append(message)
    return found


class TestContent:
    def test_each_owner_gets_one_digest_of_their_open_breaches(self, office: Desk) -> None:
        """Sato's digest lists Ito then Kato (oldest deadline first), not the lead met by a
        call, not the breach that began after 09:30, and nobody else's leads."""
        with capture_logs() as logs:
            counts = office.run(jst(2026, 1, 15, 9, 35))
        digests = by_owner(office)
        assert sorted(digests) == [SATO, SUZUKI]
        (sato,) = digests[SATO]
        body = text(sato)
        assert body.index("伊藤") < body.index("加藤")
        for absent in ("中村", "吉田", "木村", "小林"):
            assert absent not in body and absent not in html(sato)
        assert sato["X-Leadloop-Digest"] == "2026-01-15"
        assert "2件" in str(sato["Subject"])
        (suzuki,) = digests[SUZUKI]
        assert "木村" in text(suzuki) and "伊藤" not in text(suzuki)
        assert (counts["digests_sent"], counts["digests_failed"]) == (2, 0)
        sent = {e["owner"]: e["breaches"] for e in logs if e["event"] == "alerts.digest_sent"}
        assert sent == {SATO: 2, SUZUKI: 1}

    def test_a_late_digest_shows_the_picture_at_digest_at(self, office: Desk) -> None:
        """First run at 14:00 (the daemon was down): Nakamura's breach, which began at 13:00,
        is e-mailed on its own and left for tomorrow's digest."""
        office.run(jst(2026, 1, 15, 14))
        (sato,) = by_owner(office)[SATO]
        assert "伊藤" in text(sato) and "加藤" in text(sato) and "中村" not in text(sato)
        assert any("中村" in str(m["Subject"]) for m in office.alerts())

    def test_a_lead_without_owner_is_in_nobodys_digest(self, office: Desk) -> None:
        """Kobayashi's breach goes to the escalation list as an alert, in no digest; the run
        says so in its log."""
        with capture_logs() as logs:
            counts = office.run(jst(2026, 1, 15, 9, 35))
        assert MANAGER not in by_owner(office)
        assert any("小林" in str(m["Subject"]) and m["To"] == MANAGER for m in office.alerts())
        (warning,) = [e for e in logs if e["event"] == "alerts.digest_no_owner"]
        assert warning["sample"] == [KOBAYASHI.key]
        assert counts["digest_no_owner"] == 1

    def test_every_entry_links_to_both_records(self, office: Desk) -> None:
        """Each listed lead links to its HubSpot contact (the emulator's portal) and to
        Salesforce, in the text and the HTML part."""
        office.run(jst(2026, 1, 15, 9, 35))
        (sato,) = by_owner(office)[SATO]
        portal = office.crm.world.hubspot.portal_id
        for listed in (ITO, KATO):
            link = f"https://app.hubspot.com/contacts/{portal}/record/0-1/{listed.hubspot_id}"
            assert link in text(sato) and f'href="{link}"' in html(sato)
            assert f"%2F{listed.salesforce_id}" in text(sato)


class TestOncePerDay:
    def test_from_digest_at_once_a_day_across_restarts(self, office: Desk) -> None:
        """Nothing before 09:30; at 09:30 one digest per owner; runs after a restart send no
        other that day; the next business day brings the next digest, with the breach that
        began after Thursday's."""
        office.run(jst(2026, 1, 15, 9, 0))
        office.run(jst(2026, 1, 15, 9, 29))
        assert office.digests() == []
        assert office.alerts() != []  # the breaches themselves were e-mailed already
        office.run(jst(2026, 1, 15, 9, 30))
        assert len(office.digests()) == 2
        for at in (jst(2026, 1, 15, 9, 35), jst(2026, 1, 15, 17, 55)):
            office.restart()
            counts = office.run(at)
            assert counts["digests_sent"] == 0
        assert len(office.digests()) == 2
        office.restart()
        office.run(jst(2026, 1, 16, 9, 30))
        friday = [m for m in office.digests() if m["X-Leadloop-Digest"] == "2026-01-16"]
        assert sorted(str(m["To"]) for m in friday) == [SATO, SUZUKI]
        (sato,) = [m for m in friday if m["To"] == SATO]
        assert [n in text(sato) for n in ("伊藤", "加藤", "中村")] == [True, True, True]

    @pytest.mark.parametrize(
        ("quiet", "next_open"),
        [
            (jst(2026, 1, 17, 10), jst(2026, 1, 19, 9, 30)),  # Saturday -> Monday
            (jst(2026, 1, 12, 10), jst(2026, 1, 13, 9, 30)),  # 成人の日 -> Tuesday
            (jst(2026, 1, 15, 18, 0), jst(2026, 1, 16, 9, 30)),  # closing time -> Friday
            (jst(2026, 1, 15, 8, 59), jst(2026, 1, 15, 9, 30)),  # before 09:00 -> 09:30
        ],
        ids=["weekend", "holiday", "after-hours", "before-hours"],
    )
    def test_only_in_business_hours_of_a_business_day(
        self, desk: Desk, quiet: datetime, next_open: datetime
    ) -> None:
        """Outside business hours or on a closed day no digest goes; at the next 09:30 of a
        business day it does."""
        desk.add(lead(1, "伊藤", jst(2026, 1, 5, 10), SATO))  # due Thu 1/8 10:00
        desk.run(quiet)
        assert desk.digests() == []
        desk.run(next_open)
        (digest,) = desk.digests()
        assert digest["X-Leadloop-Digest"] == next_open.date().isoformat()

    def test_no_digest_when_digest_at_is_null(self, office: Desk) -> None:
        """With `digest_at: null` only the alerts go."""
        alerts = office.config.alerts.model_copy(update={"digest_at": None})
        office.config = office.config.model_copy(update={"alerts": alerts})
        counts = office.run(jst(2026, 1, 15, 10))
        assert office.digests() == [] and counts["digests_claimed"] == 0
        assert counts["alerts_sent"] > 0


class TestRetry:
    def test_a_refused_digest_is_retried_on_the_next_run(self, office: Desk) -> None:
        """The SMTP server refuses Sato: Suzuki's digest goes, Sato's stays claimed and goes
        on the next run (after a restart), once; Suzuki's is not sent again."""
        office.inbox.refuse_rcpt[SATO] = "550 5.1.1 Mailbox unavailable"
        with capture_logs() as logs:
            first = office.run(jst(2026, 1, 15, 9, 35))
        assert [m["To"] for m in office.digests()] == [SUZUKI]
        assert (first["digests_sent"], first["digests_failed"]) == (1, 1)
        (failed,) = [e for e in logs if e["event"] == "alerts.digest_failed"]
        assert failed["owner"] == SATO and "550" in failed["error"]
        office.inbox.refuse_rcpt.clear()
        office.restart()
        second = office.run(jst(2026, 1, 15, 9, 40))
        assert (second["digests_sent"], second["digests_failed"]) == (1, 0)
        office.run(jst(2026, 1, 15, 9, 45))
        assert sorted(str(m["To"]) for m in office.digests()) == [SATO, SUZUKI]
        with office.store.transaction() as repo:
            records = {r.owner: r for r in repo.digests_on(THURSDAY)}
        assert {o: (r.status, r.attempts) for o, r in records.items()} == {
            SATO: ("sent", 2),
            SUZUKI: ("sent", 1),
        }

    def test_a_digest_with_nothing_left_to_say_is_cancelled(self, office: Desk) -> None:
        """Refused at first; by the retry sales has called both of Sato's leads: nothing is
        sent and the claim is closed with the reason."""
        office.inbox.refuse_rcpt[SATO] = "451 4.3.0 Try again later"
        office.run(jst(2026, 1, 15, 9, 35))
        office.inbox.refuse_rcpt.clear()
        calls = [
            Activity(x.key, "call", jst(2026, 1, 15, 9, 50), dedupe_key=f"call-{x.key}")
            for x in (ITO, KATO)
        ]
        with office.store.transaction() as repo:
            repo.add_activities(calls)
        counts = office.run(jst(2026, 1, 15, 10))
        assert [m["To"] for m in office.digests()] == [SUZUKI]
        assert counts["digests_cancelled"] == 1
        with office.store.transaction() as repo:
            (sato,) = [r for r in repo.digests_on(THURSDAY) if r.owner == SATO]
        assert sato.status == "cancelled" and "no breach" in (sato.last_error or "")

    def test_a_digest_unsent_all_day_gives_way_to_the_next_days(self, office: Desk) -> None:
        """Refused all Thursday, Sato's Thursday digest is cancelled on Friday, when Friday's
        digest lists what is still open."""
        office.inbox.refuse_rcpt[SATO] = "451 4.3.0 Try again later"
        office.run(jst(2026, 1, 15, 9, 35))
        office.run(jst(2026, 1, 15, 17, 55))
        office.inbox.refuse_rcpt.clear()
        counts = office.run(jst(2026, 1, 16, 9, 35))
        sato = [m for m in office.digests() if m["To"] == SATO]
        assert [m["X-Leadloop-Digest"] for m in sato] == ["2026-01-16"]
        assert counts["digests_cancelled"] == 1
        with office.store.transaction() as repo:
            assert [r.status for r in repo.digests_on(THURSDAY) if r.owner == SATO] == ["cancelled"]
            assert repo.unsent_digests() == []


class TestRules:
    @pytest.mark.parametrize(
        ("at", "due"),
        [
            (jst(2026, 1, 15, 9, 29), None),
            (jst(2026, 1, 15, 9, 30), (THURSDAY, jst(2026, 1, 15, 9, 30))),
            (jst(2026, 1, 15, 17, 59), (THURSDAY, jst(2026, 1, 15, 9, 30))),
            (jst(2026, 1, 15, 18, 0), None),
            (jst(2026, 1, 12, 11), None),
            (jst(2026, 1, 18, 11), None),
        ],
    )
    def test_the_digest_window(
        self, shipped: Config, at: datetime, due: tuple[date, datetime] | None
    ) -> None:
        """Due from digest_at to closing time on business days, with digest_at as cutoff."""
        assert digest_window(shipped, at) == due

    @pytest.mark.parametrize(
        ("field", "address"),
        [
            (SATO, SATO),
            ("佐藤 花子 <Sato@Example.co.jp>", "Sato@Example.co.jp"),
            ("佐藤", None),
            ("", None),
            ("@example.co.jp", None),
            (None, None),
        ],
    )
    def test_owner_addresses(self, field: str | None, address: str | None) -> None:
        """An owner field that holds no e-mail address is an unknown owner."""
        assert owner_address(field) == address
