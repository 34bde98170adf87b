"""The ingest job: HubSpot and Salesforce records into the state store, stream by stream.

Each stream is a function of (store, connector, field maps, clock, options, on_page) that
reads from its cursor to the end and returns its `StreamCounts`; pages and the cursor over
them are stored in one transaction (a page, or HubSpot contacts about 1,000 at a time), so an
interrupted stream continues where it stopped.
Nothing here writes to a CRM.

| stream                   | reads                                   | module                    |
|--------------------------|-----------------------------------------|---------------------------|
| `hubspot.contacts`       | contacts, form and page-view history    | `ingest_hubspot`          |
| `hubspot.email_events`   | OPEN, CLICK, STATUSCHANGE e-mail events | `ingest_email`            |
| `salesforce.Lead`        | Leads (deleted and merged ones too)     | `ingest_salesforce_leads` |
| `salesforce.Task`        | completed calls and e-mails             | `ingest_salesforce`       |
| `salesforce.Event`       | meetings                                | `ingest_salesforce`       |
| `salesforce.Opportunity` | won and lost deals                      | `ingest_salesforce`       |

Shared: `ingest_types` (options, counts, cursor format), `ingest_merge` (the conflict rule),
`ingest_stages` (following sales' stage), `ingest_soql` (the Salesforce read loop).

`ingest_all` runs them in this order: contacts before the e-mail events matched to them,
Leads before the activities and deals that point at them.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from state import Store
from sync.ingest_email import EMAIL_EVENTS, ingest_email_events
from sync.ingest_hubspot import CONTACTS, ingest_contacts
from sync.ingest_merge import merge
from sync.ingest_salesforce import (
    EVENTS,
    OPPORTUNITIES,
    TASKS,
    ingest_events,
    ingest_opportunities,
    ingest_tasks,
)
from sync.ingest_salesforce_leads import LEADS, ingest_leads
from sync.ingest_types import (
    DEFAULT_LAG,
    Clock,
    FieldMaps,
    IngestOptions,
    OnPage,
    StreamCounts,
    cursor_text,
    parse_instant,
)

STREAMS: tuple[str, ...] = (CONTACTS, EMAIL_EVENTS, LEADS, TASKS, EVENTS, OPPORTUNITIES)
"""Every stream, in the order `ingest_all` runs them."""


def ingest_all(
    store: Store,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
    stopping: Callable[[], bool] | None = None,
) -> list[StreamCounts]:
    """Run every stream to its end, in `STREAMS` order; their counts. `stopping`: whether
    the caller is about to stop (at its next `on_page`): the contacts stream then stores
    what it has read at once, not a whole batch later."""
    options = options or IngestOptions()
    counts = [
        ingest_contacts(store, hubspot, maps, clock, options, on_page, stopping),
        ingest_email_events(store, hubspot, maps, clock, options, on_page),
    ]
    for stream in (ingest_leads, ingest_tasks, ingest_events, ingest_opportunities):
        counts.append(stream(store, salesforce, maps, clock, options, on_page))
    return counts


__all__ = [
    "CONTACTS",
    "DEFAULT_LAG",
    "EMAIL_EVENTS",
    "EVENTS",
    "LEADS",
    "OPPORTUNITIES",
    "STREAMS",
    "TASKS",
    "Clock",
    "FieldMaps",
    "IngestOptions",
    "OnPage",
    "StreamCounts",
    "cursor_text",
    "ingest_all",
    "ingest_contacts",
    "ingest_email_events",
    "ingest_events",
    "ingest_leads",
    "ingest_opportunities",
    "ingest_tasks",
    "merge",
    "parse_instant",
]
