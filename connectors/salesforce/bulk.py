"""Upserts through Bulk API 2.0 ingest jobs (`sf.bulk2.<sobject>.upsert`), for large batches.

simple-salesforce writes the records as one CSV, cuts it into jobs of under 100 MB, and for
each job creates it (POST), uploads the data (PUT), closes it (PATCH UploadComplete), polls
job info (GET, first after `poll_seconds`, then every `poll_seconds` or so) until
JobComplete, and reads the job once more. The connector then reads each job's
`successfulResults` and `failedResults` (GET, CSV) into the same WriteOutcome an sObject
Collections upsert gives. Those requests leave simple-salesforce without passing the
connector, so the session's transport counts them one by one as they are sent (`bulk2.*` in
ApiUsage), and the retries around them count no calls of their own.

A job is an idempotent upsert, so a failed run is sent again whole; records the first run
created then report `created: false`.

CSV cells: a missing key leaves the field as it is, None becomes `#N/A` (set to null),
booleans `true`/`false`, datetimes ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from requests.models import PreparedRequest
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type

from connectors.errors import RecordFailure
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.soql import name
from connectors.salesforce.writes import WriteOutcome, Written, json_value, key_of
from connectors.usage import ApiUsage

log = structlog.get_logger()
INGEST = "/jobs/ingest"


def csv_value(value: Any) -> str:
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(json_value(value))


def parse_error(key: str, cell: str) -> RecordFailure:
    """A failed row's `sf__Error` cell, `CODE:message:Field1,Field2 --`, as a RecordFailure."""
    text = cell.strip().removesuffix("--").rstrip()
    code, _, rest = text.partition(":")
    message, colon, fields = rest.rpartition(":")
    if not colon:
        message, fields = rest, ""
    names = tuple(f.strip() for f in fields.split(",") if f.strip())
    return RecordFailure(key, code, message.strip(), names)


def operation_of(request: PreparedRequest) -> str | None:
    """`bulk2.<step>` for a Bulk API 2.0 ingest request, None for any other request."""
    path = (request.path_url or "").split("?", 1)[0].rstrip("/")
    if INGEST not in path:
        return None
    tail = path.split(INGEST, 1)[1].strip("/").split("/")
    method = (request.method or "GET").upper()
    if tail == [""]:
        return "bulk2.create_job" if method == "POST" else "bulk2.list_jobs"
    if len(tail) == 1:
        if method == "PATCH":
            body = request.body
            raw = (
                body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else b""
            )
            aborted = b"Aborted" in raw
            return "bulk2.abort_job" if aborted else "bulk2.close_job"
        return {"DELETE": "bulk2.delete_job"}.get(method, "bulk2.job_info")
    return "bulk2.upload" if tail[1] == "batches" else "bulk2.results"


def count_bulk_request(usage: ApiUsage, request: PreparedRequest) -> None:
    """Count `request` in `usage` when it is a Bulk API 2.0 ingest request."""
    operation = operation_of(request)
    if operation is not None:
        usage.call(operation)


def _ingest(sf: Salesforce, sobject: str) -> SFBulk2Type:
    handler = sf.bulk2
    if not isinstance(handler, SFBulk2Handler):
        raise TypeError("simple-salesforce gave no Bulk API 2.0 handler")
    ingest: SFBulk2Type = getattr(handler, sobject)
    return ingest


class BulkWriter:
    """Upserts through Bulk API 2.0; `poll_seconds` is simple-salesforce's `wait`."""

    def __init__(self, session: SalesforceSession, poll_seconds: int = 5) -> None:
        self._session = session
        self._poll = poll_seconds

    def upsert(
        self, sobject: str, external_id_field: str, records: Sequence[Mapping[str, Any]]
    ) -> WriteOutcome:
        name(sobject)
        name(external_id_field)
        rows = [{k: csv_value(v) for k, v in r.items() if k != "attributes"} for r in records]

        def run(sf: Salesforce) -> list[dict[str, Any]]:
            jobs = _ingest(sf, sobject).upsert(
                records=rows, external_id_field=external_id_field, wait=self._poll
            )
            return [dict(job) for job in jobs]

        jobs = self._session.call("bulk2.upsert", run, counted=False)
        outcome = WriteOutcome()
        for job in jobs:
            outcome.extend(self._results(sobject, external_id_field, job))
        return outcome

    def _results(self, sobject: str, field: str, job: Mapping[str, Any]) -> WriteOutcome:
        job_id = str(job["job_id"])

        def read(kind: str) -> list[dict[str, str]]:
            def get(sf: Salesforce) -> str:
                ingest = _ingest(sf, sobject)
                if kind == "successful":
                    return ingest.get_successful_records(job_id)
                if kind == "failed":
                    return ingest.get_failed_records(job_id)
                return ingest.get_unprocessed_records(job_id)

            text = self._session.call(f"bulk2.{kind}", get, counted=False)
            return list(csv.DictReader(io.StringIO(text)))

        outcome = WriteOutcome()
        for row in read("successful"):
            created = row.get("sf__Created", "").lower() == "true"
            outcome.written.append(Written(key_of(row, field), row.get("sf__Id", ""), created))
        if int(job.get("numberRecordsFailed", 0)):
            for row in read("failed"):
                outcome.failed.append(parse_error(key_of(row, field), row.get("sf__Error", "")))
        processed = int(job.get("numberRecordsProcessed", 0))
        if processed < int(job.get("numberRecordsTotal", processed)):
            for row in read("unprocessed"):
                outcome.failed.append(
                    RecordFailure(
                        key_of(row, field),
                        "UNPROCESSED",
                        f"Bulk API 2.0 job {job_id} ended before processing this record",
                    )
                )
        log.info(
            "salesforce.bulk_job",
            job=job_id,
            sobject=sobject,
            written=len(outcome.written),
            failed=len(outcome.failed),
        )
        return outcome
