"""Reading one Salesforce sObject from its cursor, page by page (the Salesforce streams' loop).

Records changed since the cursor (`SystemModstamp`, SOQL, 2,000 a page, oldest first) are
read; the ones the cursor has seen (`state.cursors.is_new`: below its value, or at it and
among its boundary Ids) are skipped; the rest go to the stream's handler inside one write
transaction, which also moves the cursor over the page. An optional `prepare` step, outside
any transaction, may read more from Salesforce for the page (the leads of closed deals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import structlog

from connectors.salesforce import SalesforceConnector
from state import Repository, Store, advance, is_new
from sync.ingest_types import (
    CallMeter,
    Clock,
    IngestOptions,
    OnPage,
    StreamCounts,
    cursor_text,
    parse_instant,
    start_from,
)

Record = dict[str, Any]
Handler = Callable[[Repository, list[Record], StreamCounts, datetime, dict[str, str]], None]
"""Stores one page: (repository, fresh records, counts, now, what `prepare` found)."""
log = structlog.get_logger()


def read_sobject(
    store: Store,
    salesforce: SalesforceConnector,
    stream: str,
    fields: Iterable[str],
    clock: Clock,
    options: IngestOptions,
    on_page: OnPage | None,
    handle: Handler,
    *,
    include_deleted: bool = False,
    prepare: Callable[[list[Record]], dict[str, str]] | None = None,
) -> StreamCounts:
    """Read one sObject from its cursor, page by page, each page stored with its cursor."""
    sobject = stream.partition(".")[2]
    with store.transaction() as repo:
        cursor = repo.get_cursor(stream)
    start = start_from(cursor.value, timedelta(0), options.since)
    counts = StreamCounts(stream)
    meter = CallMeter(salesforce.usage)
    pages = salesforce.changed(
        sobject, list(dict.fromkeys(fields)), start, include_deleted=include_deleted
    )
    for page in pages:
        counts.read += len(page)
        stamps = [(str(r["Id"]), cursor_text(parse_instant(r["SystemModstamp"]))) for r in page]
        fresh = [r for r, (i, v) in zip(page, stamps, strict=True) if is_new(cursor, i, v)]
        counts.skipped += len(page) - len(fresh)
        context = prepare(fresh) if prepare is not None and fresh else {}
        with store.transaction() as repo:
            if fresh:
                handle(repo, fresh, counts, clock(), context)
            cursor = advance(cursor, stamps)
            repo.save_cursor(cursor)
        counts.pages += 1
        counts.api_calls = meter.calls()
        if on_page is not None:
            on_page(counts)
    counts.api_calls = meter.calls()
    log.info("ingest.stream_done", stream=stream, **counts.totals())
    return counts
