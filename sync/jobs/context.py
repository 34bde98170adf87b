"""What every job is given, and what it gives back.

A job is a function of one `JobContext` (the state store, both connectors, the config with
its rules and field maps, the clock, the mailer) returning its `JobCounts`: named numbers
for the run record, the metrics and the log (`read`, `scored`, `mql`, `handed_off`,
`alerts_sent`, `written_back`, `quarantined`, ...). Jobs share nothing else: whatever one
job leaves for another is in the store (leads, the outbox, cursors).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from state import Store
from sync.config import Config
from sync.definitions import LeadRules
from sync.ingest_types import FieldMaps
from sync.sla import SlaRules

if TYPE_CHECKING:  # the mail package (Jinja2) loads only when alerts are sent
    from sync.mail import Mailer

Clock = Callable[[], datetime]
JobCounts = Counter[str]
"""A job's counts by name; missing names are zero."""


@dataclass
class JobContext:
    """Everything a job may use. `mailer` is None when alerts are switched off."""

    store: Store
    hubspot: HubSpotConnector
    salesforce: SalesforceConnector
    config: Config
    maps: FieldMaps
    clock: Clock
    mailer: Mailer | None = None
    rules: LeadRules = field(init=False)
    slas: SlaRules = field(init=False)

    def __post_init__(self) -> None:
        self.rules = LeadRules(self.config)
        self.slas = SlaRules(self.config)


Job = Callable[[JobContext], JobCounts]
