"""A desk for the alerts job: a store on a file (so it can be reopened, as after a restart),
both connectors on the emulators, the shipped definition, a real SMTP server on loopback,
and leads handed off on chosen days (JST).

The week of 2026-01-12 in Japan: Monday 1/12 is a national holiday (成人の日); business
hours are 09:00-18:00, `first_touch` is due 3 business days after the handoff and escalates
one business day later, the digest goes out from 09:30.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot import HubSpotConnector
from mappings.model import Fit, Lead, LeadTimes, Score, ScoreReason
from state import Store
from sync.config import Config
from sync.ingest_types import FieldMaps
from sync.jobs.alerts import run_alerts
from sync.jobs.context import JobContext, JobCounts
from sync.mail import SmtpMailer, SmtpSettings
from tests.sync.conftest import Crm
from tests.sync.mail.conftest import Inbox, Server, running

SATO = "sato@example.co.jp"
SUZUKI = "suzuki@example.co.jp"
MANAGER = "sales-manager@example.co.jp"


def lead(n: int, family: str, handed_off: datetime, owner: str | None, **changes: Any) -> Lead:
    """Lead `n` (HubSpot contact `100n`), an MQL handed off at `handed_off` to `owner`."""
    values: dict[str, Any] = {
        "key": f"lead-{n}",
        "email": f"person{n}@example.co.jp",
        "first_name": "太郎",
        "last_name": family,
        "hubspot_id": str(1000 + n),
        "salesforce_id": f"00Q00000000000{n}AAA",
        "fit": Fit(company=f"株式会社{family}製作所", owner=owner),
        "stage": "mql",
        "score": Score(total=60, reasons=(ScoreReason("content_download", 20, 2),)),
        "times": LeadTimes(mql_at=handed_off, handed_off_at=handed_off),
    }
    return Lead(**{**values, **changes})


@dataclass
class Desk:
    """The alerts job's world; `run(at)` runs the job once at `at` on a fresh context."""

    crm: Crm
    config: Config
    maps: FieldMaps
    db_url: str
    server: Server
    hubspot: HubSpotConnector | None = None
    """The connector the job uses; default the one aimed at the emulator."""
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.connect(self.db_url, migrate=True, clock=self.crm.now)
        return self._store

    @property
    def inbox(self) -> Inbox:
        return self.server.inbox

    def restart(self) -> None:
        """Close the store; the next run opens it again, as a restarted daemon does."""
        if self._store is not None:
            self._store.dispose()
            self._store = None

    def add(self, *leads: Lead) -> None:
        with self.store.transaction() as repo:
            repo.save_leads(leads)

    def context(self) -> JobContext:
        settings = SmtpSettings.from_env({"SMTP_URL": self.server.url(), "SMTP_TIMEOUT": "5"})
        return JobContext(
            self.store,
            self.hubspot or self.crm.hubspot,
            self.crm.salesforce,
            self.config,
            self.maps,
            self.crm.now,
            SmtpMailer(settings),
        )

    def run(self, at: datetime) -> JobCounts:
        self.crm.world.clock.set(at, frozen=True)
        return run_alerts(self.context())

    def messages(self, header: str) -> list[EmailMessage]:
        """Every message received that carries `header`, in the order received."""
        return [r.message for r in self.inbox.received if r.message[header]]

    def digests(self) -> list[EmailMessage]:
        return self.messages("X-Leadloop-Digest")

    def alerts(self) -> list[EmailMessage]:
        return self.messages("X-Leadloop-Alert")

    def close(self) -> None:
        self.restart()


@pytest.fixture
def desk(crm: Crm, shipped: Config, maps: FieldMaps, tmp_path: Path) -> Iterator[Desk]:
    """The alerts job on the emulators with the shipped definition and a real SMTP server."""
    with running(Inbox()) as server:
        made = Desk(crm, shipped, maps, f"sqlite:///{tmp_path / 'state.db'}", server)
        yield made
        made.close()
