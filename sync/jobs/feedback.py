"""The feedback job: what sales learned, written back to HubSpot.

Ingest has already applied what Salesforce says (status, BANT, the four-axis assessment
with its corrections, conversion, won or lost with the amount) and the score job the SQL
definition; this job makes HubSpot show it. Every lead whose row changed since the job's
cursor `job.feedback` and that has a HubSpot contact gets the values the HubSpot map writes
back (`sync.jobs.handoff.WRITE_BACK`: lifecycle stage and lead status, score and reasons,
BANT, assessment, recycle reason, the Salesforce lead id and link). Only leads whose values
differ from the ones last queued for them are queued (the payload keeps a digest of the
values), and the cursor moves in the same transaction; then the HubSpot outbox is drained,
with the values just worked out for the leads queued (up to `KNOWN_MAX`), so the drain does
not read those leads again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from state import Cursor, OutboxWrite
from sync.ingest_types import cursor_text, parse_instant
from sync.jobs.context import JobContext, JobCounts
from sync.jobs.handoff import WriteBack, drain_hubspot

FEEDBACK_CURSOR = "job.feedback"
PAGE = 500
KNOWN_MAX = 10_000
"""Write-backs the job hands to its drain instead of the drain reading their leads again:
beyond this many (a first run after a backfill), the drain reads the rest."""


def run_feedback(ctx: JobContext) -> JobCounts:
    """Queue the write-back of every changed lead, then write the queue to HubSpot."""
    counts: JobCounts = Counter()
    hs_map = ctx.maps.hubspot
    known: dict[str, WriteBack] = {}  # what the drain would work out again, up to KNOWN_MAX
    with ctx.store.transaction() as repo:
        cursor = repo.get_cursor(FEEDBACK_CURSOR)
        since = None if cursor.value is None else parse_instant(cursor.value)
        now = ctx.clock()
        queued_at = cursor_text(now)
        keys = repo.leads_changed_since(since)
        for start in range(0, len(keys), PAGE):
            leads = repo.leads_by_key(keys[start : start + PAGE])
            write_backs = {
                key: write
                for key, lead in leads.items()
                if (write := WriteBack.of(hs_map, lead)) is not None
            }
            last = repo.last_payloads("hubspot", "update_contact", write_backs)
            writes: list[OutboxWrite] = []
            for key, write in write_backs.items():
                digest = hashlib.sha256(
                    json.dumps(write.properties, sort_keys=True, ensure_ascii=False).encode()
                ).hexdigest()[:20]
                if last.get(key, {}).get("digest") == digest:
                    continue
                idempotency_key = f"{key}:wb:{digest}:{queued_at}"
                payload = {"event": "write_back", "digest": digest}
                writes.append(
                    OutboxWrite("hubspot", "update_contact", key, idempotency_key, payload)
                )
                if len(known) < KNOWN_MAX:
                    known[key] = write
            counts["queued"] += len(repo.enqueue_many(writes))
        counts["changed"] = len(keys)
        repo.save_cursor(Cursor(FEEDBACK_CURSOR, queued_at))
    drain_hubspot(ctx, counts, known)
    return counts
