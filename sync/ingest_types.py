"""What every ingest stream shares: options, counts, the field maps and the cursor format.

Cursor values are text compared as text (see `state.cursors`), so every stream writes its
instants in one form: ISO 8601 in UTC with milliseconds, `2026-01-09T01:00:00.000Z`
(`cursor_text`). `parse_instant` reads what the CRMs send (ISO with `Z` or `+0000`, or epoch
milliseconds) and what the cursors hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from connectors.usage import ApiUsage, UsageSnapshot
from mappings.fieldmap import FieldMap, load_default_field_map
from mappings.model import Lead

Clock = Callable[[], datetime]
"""Returns the current time, aware; injected so tests and the demo control time."""

DEFAULT_LAG = timedelta(minutes=5)
"""How far before its cursor a HubSpot stream re-reads: HubSpot's search index and e-mail
events arrive seconds to minutes after the write that made them."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How the streams read.

    `lag`: the window re-read before a HubSpot cursor. `since`: the earliest instant to
    read when a stream has no cursor yet, or its cursor is older (`leadloop backfill
    --since`); None reads everything. `window_keys`: at most this many `(id, modified)` keys
    of the lag window are kept in the HubSpot contacts cursor to skip re-read records
    cheaply (the store still de-duplicates beyond it). `hubspot_page_size`: contacts per
    search page (200, HubSpot's maximum, except in tests). `store_batch`: contacts stored
    in one transaction: whole pages, so this many and less than a page more (fewer at the
    end of a run); a crash repeats at most these.
    """

    lag: timedelta = DEFAULT_LAG
    since: datetime | None = None
    window_keys: int = 5000
    hubspot_page_size: int = 200
    store_batch: int = 1000

    def __post_init__(self) -> None:
        if self.lag < timedelta(0):
            raise ValueError("lag must not be negative")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        if self.window_keys < 0:
            raise ValueError("window_keys must not be negative")
        if self.store_batch < 1:
            raise ValueError("store_batch must be 1 or more")


@dataclass(slots=True)
class StreamCounts:
    """What one stream did in one run.

    `read`: records the API returned; `skipped`: records already taken into account (the
    lag window or the cursor boundary re-read) or that are no activity; `unmatched`:
    records about no known lead (e-mail events of unknown recipients, tasks of unknown
    leads, opportunities of no known lead); `unlinked`: leads whose Salesforce lead was
    deleted or merged away; `stage_changes`: lifecycle moves that Salesforce drove.
    `history_read`: contacts whose property history was read (HubSpot contacts only).
    `api_calls`: calls by operation, from the connector's usage counters.
    """

    stream: str
    pages: int = 0
    read: int = 0
    skipped: int = 0
    leads_created: int = 0
    leads_updated: int = 0
    activities_added: int = 0
    stage_changes: int = 0
    unmatched: int = 0
    unlinked: int = 0
    quarantined: int = 0
    history_read: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        """The counts as a flat mapping (API calls as `calls.<operation>`), for run records."""
        counts = {
            name: getattr(self, name)
            for name in (
                "pages",
                "read",
                "skipped",
                "leads_created",
                "leads_updated",
                "activities_added",
                "stage_changes",
                "unmatched",
                "unlinked",
                "quarantined",
                "history_read",
            )
        }
        counts.update({f"calls.{op}": n for op, n in sorted(self.api_calls.items())})
        return counts


class LeadLookup(Protocol):
    """Stored leads by identity, as `Repository.find_leads` returns them."""

    def lookup(
        self,
        *,
        hubspot_id: str | None = None,
        salesforce_id: str | None = None,
        email: str | None = None,
    ) -> Lead | None: ...

    def add(self, lead: Lead) -> None: ...

    def by_key(self) -> dict[str, Lead]: ...


OnPage = Callable[[StreamCounts], None]
"""Called after each page is stored, with the stream's counts so far (progress display)."""


class CallMeter:
    """Calls a connector made since the meter was started, by operation."""

    def __init__(self, usage: ApiUsage) -> None:
        self._usage = usage
        self._start: UsageSnapshot = usage.snapshot()

    def calls(self) -> dict[str, int]:
        return dict(self._usage.snapshot().since(self._start).calls)


@dataclass(frozen=True, slots=True)
class FieldMaps:
    """The two field maps the streams translate with."""

    hubspot: FieldMap
    salesforce: FieldMap

    @classmethod
    def default(cls) -> FieldMaps:
        """The maps shipped with leadloop."""
        return cls(load_default_field_map("hubspot"), load_default_field_map("salesforce"))

    def reads(self, system: str) -> frozenset[str]:
        """The canonical fields the `system` map reads."""
        return (self.hubspot if system == "hubspot" else self.salesforce).read_names


def new_lead_key() -> str:
    """A new lead's key: a random UUID in hex, never reused and never derived from a CRM."""
    return uuid.uuid4().hex


def cursor_text(instant: datetime) -> str:
    """`instant` in the one cursor format: `2026-01-09T01:00:00.000Z`."""
    if instant.tzinfo is None:
        raise ValueError("a cursor instant must be aware")
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(raw: Any) -> datetime:
    """An instant from ISO 8601 (`Z`, `+00:00` or `+0000`) or epoch milliseconds, in UTC."""
    text = str(raw).strip()
    if text.isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed.astimezone(UTC)


def start_from(value: str | None, lag: timedelta, since: datetime | None) -> datetime | None:
    """Where a stream's read starts: its cursor minus `lag`, but not before `since`; None
    (everything) when there is neither."""
    start = None if value is None else parse_instant(value) - lag
    if since is not None and (start is None or start < since):
        return since
    return start
