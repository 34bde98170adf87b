"""What every job is given, and what it gives back.

A job is a function of one `JobContext` (the state store, both connectors, the config with
its rules and field maps, the clock, the mailer) returning its `JobCounts`: named numbers
for the run record, the metrics and the log (`read`, `scored`, `mql`, `handed_off`,
`alerts_sent`, `written_back`, `quarantined`, ...). Jobs share nothing else: whatever one
job leaves for another is in the store (leads, the outbox, cursors).

A long job (a first ingest, a large outbox, a full rescore) stops early when the daemon is
asked to stop: between two batches, once the first one's transaction has committed, it calls
`ctx.stop_point(counts_so_far)`, which raises `JobStopped` once `ctx.stopping` is set. What
was committed stays (cursors included), the rest is done by the next run; the run is
recorded as `ok` with a `stopped` count (`sync.jobs.runner`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
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


class JobStopped(Exception):  # noqa: N818 (a signal to unwind, not an error)
    """The job stopped at a stop point because the daemon is stopping; `counts` are the
    job's counts up to there. Not a failure: everything counted was committed."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        super().__init__("stopped early: the daemon is stopping")
        self.counts: JobCounts = Counter(counts or {})


@dataclass
class JobContext:
    """Everything a job may use. `mailer` is None when alerts are switched off; `stopping`
    is set by the daemon when it is asked to stop (never, by default)."""

    store: Store
    hubspot: HubSpotConnector
    salesforce: SalesforceConnector
    config: Config
    maps: FieldMaps
    clock: Clock
    mailer: Mailer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    rules: LeadRules = field(init=False)
    slas: SlaRules = field(init=False)

    def __post_init__(self) -> None:
        self.rules = LeadRules(self.config)
        self.slas = SlaRules(self.config)

    def stop_point(self, counts: Mapping[str, int] | None = None) -> None:
        """Where a job may stop: call it between batches, after a batch's transaction has
        committed, never inside one. Raises `JobStopped` with `counts` (the job's counts so
        far) once `stopping` is set."""
        if self.stopping.is_set():
            raise JobStopped(counts)


Job = Callable[[JobContext], JobCounts]
