"""The HubSpot e-mail events stream (cursor `hubspot.email_events`).

Events created from the cursor minus the lag to now, of the types the map counts (OPEN,
CLICK, STATUSCHANGE: one call per type when quiet), matched to leads by recipient address.
The API answers newest first, so the cursor (the read's end) moves only with the last
batch; an interrupted read is read again and de-duplicated by event id. Events of unknown
recipients are counted and skipped: a contact created in the last minutes is stored by the
contacts stream, and its events are read again within the lag window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from connectors.hubspot import HubSpotConnector
from mappings.activities import ActivityClassifier
from mappings.exceptions import RecordMappingError
from mappings.model import Activity
from state import Cursor, Repository, Store
from sync.ingest_types import (
    EPOCH,
    CallMeter,
    Clock,
    FieldMaps,
    IngestOptions,
    OnPage,
    StreamCounts,
    cursor_text,
    start_from,
)

EMAIL_EVENTS = "hubspot.email_events"
EVENT_BATCH = 1000
Record = dict[str, Any]
log = structlog.get_logger()


def ingest_email_events(
    store: Store,
    hubspot: HubSpotConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
) -> StreamCounts:
    """Read the marketing e-mail events since the cursor into activities; the counts."""
    options = options or IngestOptions()
    classifier = maps.hubspot.activities or ActivityClassifier()
    with store.transaction() as repo:
        cursor = repo.get_cursor(EMAIL_EVENTS)
    end = clock()
    start = min(start_from(cursor.value, options.lag, options.since) or EPOCH, end)
    counts = StreamCounts(EMAIL_EVENTS)
    meter = CallMeter(hubspot.usage)
    types = tuple(classifier.spec.email_events)
    batch: list[Record] = []

    def store_batch(final: bool) -> None:
        with store.transaction() as repo:
            _store_events(repo, classifier, batch, counts, clock())
            if final:
                repo.save_cursor(Cursor(EMAIL_EVENTS, cursor_text(end)))
        batch.clear()
        counts.pages += 1
        counts.api_calls = meter.calls()
        if on_page is not None:
            on_page(counts)

    for event in hubspot.email_events(start, end, event_types=types):
        counts.read += 1
        batch.append(event)
        if len(batch) >= EVENT_BATCH:
            store_batch(final=False)
    store_batch(final=True)
    counts.api_calls = meter.calls()
    log.info("ingest.stream_done", stream=EMAIL_EVENTS, **counts.totals())
    return counts


def _store_events(
    repo: Repository,
    classifier: ActivityClassifier,
    events: list[Record],
    counts: StreamCounts,
    now: datetime,
) -> None:
    recipients = [str(e["recipient"]) for e in events if e.get("recipient")]
    index = repo.find_leads(emails=recipients)
    activities: list[Activity] = []
    for event in events:
        recipient = event.get("recipient")
        lead = index.lookup(email=str(recipient)) if recipient else None
        if lead is None:
            counts.unmatched += 1
            continue
        try:
            activity = classifier.email_activity(event, lead.key)
        except RecordMappingError as exc:
            key = str(event.get("id") or "")
            repo.quarantine("hubspot", "ingest.email_event", key, event, "mapping", str(exc), now)
            counts.quarantined += 1
            continue
        if activity is None:
            counts.skipped += 1
        else:
            activities.append(activity)
    counts.activities_added += repo.add_activities(activities)
