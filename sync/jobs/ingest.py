"""The ingest job: every stream read from its cursor to now (`sync.ingest.ingest_all`)."""

from __future__ import annotations

from collections import Counter

from sync.ingest import ingest_all
from sync.jobs.context import JobContext, JobCounts


def run_ingest(ctx: JobContext) -> JobCounts:
    """Read what changed in HubSpot and Salesforce into the store; the counts summed over
    the streams, and per stream as `<stream>.<count>`."""
    counts: JobCounts = Counter()
    for stream in ingest_all(ctx.store, ctx.hubspot, ctx.salesforce, ctx.maps, ctx.clock):
        for name, value in stream.totals().items():
            if name.startswith("calls."):
                continue
            counts[name] += value
            if value:
                counts[f"{stream.stream}.{name}"] = value
    return counts
