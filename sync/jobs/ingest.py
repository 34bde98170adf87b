"""The ingest job: every stream read from its cursor to now (`sync.ingest.ingest_all`).

Pages are stored with their cursor in one transaction (HubSpot contacts about 1,000 at a
time, or at once when the job is stopping); after each page stored the job may stop
(`JobContext.stop_point`), and the next run reads on from the last page stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sync.ingest import StreamCounts, ingest_all
from sync.jobs.context import JobContext, JobCounts


def run_ingest(ctx: JobContext) -> JobCounts:
    """Read what changed in HubSpot and Salesforce into the store; the counts summed over
    the streams, and per stream as `<stream>.<count>`."""
    so_far: dict[str, StreamCounts] = {}

    def page_stored(stream: StreamCounts) -> None:
        so_far[stream.stream] = stream
        ctx.stop_point(_sum(so_far.values()))

    streams = ingest_all(
        ctx.store,
        ctx.hubspot,
        ctx.salesforce,
        ctx.maps,
        ctx.clock,
        on_page=page_stored,
        stopping=ctx.stopping.is_set,
    )
    return _sum(streams)


def _sum(streams: Iterable[StreamCounts]) -> JobCounts:
    counts: JobCounts = Counter()
    for stream in streams:
        for name, value in stream.totals().items():
            if name.startswith("calls."):
                continue
            counts[name] += value
            if value:
                counts[f"{stream.stream}.{name}"] = value
    return counts
