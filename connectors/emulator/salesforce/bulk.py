"""Bulk API 2.0 ingest jobs: /services/data/vXX.X/jobs/ingest[/{jobId}[/...]].

Lifecycle: POST creates an Open job; one PUT of CSV data to `/batches` (201); PATCH
`{"state": "UploadComplete"}` closes it. The first job-info GET after that processes the rows
and answers InProgress; the next answers JobComplete (or Failed, with `errorMessage`, when the
header names an unknown field or the line ending is not the declared one). PATCH
`{"state": "Aborted"}` stops a job that is not finished; its rows stay unprocessed. Results:
`successfulResults`, `failedResults`, `unprocessedrecords` as CSV (any letter case).
Every call goes through `http.api`, so it needs a session and is counted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.salesforce.http import json_response, read_json
from connectors.emulator.salesforce.ingest import (
    DELIMITERS,
    LINE_ENDINGS,
    JobError,
    Outcome,
    apply,
    check_line_ending,
    results_csv,
    unprocessed,
)
from connectors.emulator.salesforce.records import RequestError, format_datetime, make_id
from connectors.emulator.salesforce.schema import ObjectDef, sobject
from connectors.emulator.salesforce.state import SalesforceState

JOB_PREFIX = "750"
# An upload may carry at most 150 MB once base64 encoded (about 100 MB of CSV).
MAX_UPLOAD_BASE64_BYTES = 150 * 1024 * 1024
OPERATIONS = ("insert", "update", "upsert", "delete")
FINISHED = ("JobComplete", "Failed", "Aborted")
RESULTS = ("successfulresults", "failedresults", "unprocessedrecords")


@dataclass
class IngestJob:
    id: str
    operation: str
    object: str
    external_id: str | None
    line_ending: str
    column_delimiter: str
    api_version: str
    created_by: str
    created: datetime
    modified: datetime
    state: str = "Open"
    data: bytes | None = None
    outcome: Outcome | None = None
    error_message: str | None = None

    def summary(self) -> dict[str, Any]:
        """The job as create, close/abort and the job list describe it."""
        body: dict[str, Any] = {  # in the order the real answers list them
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modified),
            "state": self.state,
        }
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        body.update(
            concurrencyMode="Parallel",
            contentType="CSV",
            apiVersion=float(self.api_version),
        )
        if self.state == "Open":
            body["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        body.update(lineEnding=self.line_ending, columnDelimiter=self.column_delimiter)
        return body

    def info(self) -> dict[str, Any]:
        """Get Job Info: the summary plus type, counts and timings."""
        outcome = self.outcome or Outcome()
        return {
            **self.summary(),
            "jobType": "V2Ingest",
            "numberRecordsProcessed": outcome.processed,
            "numberRecordsFailed": len(outcome.failed),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
            "errorMessage": self.error_message,
        }


def _enum(body: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    """The value of an enum property, or JSON_PARSER_ERROR naming its type as the docs do."""
    value = body.get(key, default)
    if value not in allowed:
        kind = "ContentType" if key == "contentType" else f"{key[0].upper()}{key[1:]}Enum"
        raise RequestError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or "
            "request may be missing a required field",
        )
    return str(value)


class IngestJobs:
    """The org's ingest jobs; its methods are `http.Handler`s for the routes in `app.py`."""

    def __init__(self) -> None:
        self.jobs: dict[str, IngestJob] = {}
        self.lock = threading.RLock()
        self._seq = 0

    def _job(self, request: Request) -> IngestJob:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    async def create(self, request: Request, state: SalesforceState, version: str) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            body = {}
        obj = sobject(str(body.get("object") or ""))
        if obj is None:
            raise RequestError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
        operation = _enum(body, "operation", (*OPERATIONS, "hardDelete"), "")
        if operation == "hardDelete":
            raise RequestError(400, "FEATURENOTENABLED", "hardDelete is not emulated")
        _enum(body, "contentType", ("CSV",), "CSV")
        external = None
        if operation == "upsert":
            external = _external_field(obj, body.get("externalIdFieldName"))
        line_ending = _enum(body, "lineEnding", LINE_ENDINGS, "LF")
        delimiter = _enum(body, "columnDelimiter", tuple(DELIMITERS), "COMMA")
        now = state.clock.now()
        with self.lock:
            self._seq += 1
            job = IngestJob(
                id=make_id(JOB_PREFIX, self._seq),
                operation=operation,
                object=obj.name,
                external_id=external,
                line_ending=line_ending,
                column_delimiter=delimiter,
                api_version=version,
                created_by=state.default_user_id,
                created=now,
                modified=now,
            )
            self.jobs[job.id] = job
        return json_response(job.summary())

    async def upload(self, request: Request, state: SalesforceState, version: str) -> Response:
        declared = request.headers.get("content-length", "")
        _check_size(int(declared) if declared.isdigit() else 0)
        data = await request.body()
        _check_size(len(data))
        with self.lock:
            job = self._job(request)
            if job.state != "Open":
                raise RequestError(
                    409,
                    "INVALIDJOBSTATE",
                    f"Job {job.id} is in state {job.state}: data can be uploaded only to an "
                    "Open job",
                )
            if job.data is not None:
                raise RequestError(
                    409,
                    "INVALIDJOBSTATE",
                    f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                    "'Delete' the current Job then create a new Job and make sure you only do "
                    "'PUT' once on a given Job.",
                )
            job.data = data or None
        return Response(status_code=201)

    async def change_state(
        self, request: Request, state: SalesforceState, version: str
    ) -> Response:
        body = await read_json(request)
        wanted = body.get("state") if isinstance(body, dict) else None
        with self.lock:
            job = self._job(request)
            if wanted == "UploadComplete" and job.state == "Open":
                job.state = "UploadComplete"
            elif wanted == "Aborted" and job.state not in FINISHED:
                if job.outcome is None:
                    job.outcome = unprocessed(job.data, DELIMITERS[job.column_delimiter])
                job.state = "Aborted"
            elif wanted == "Aborted":
                raise RequestError(
                    400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed"
                )
            else:
                raise RequestError(
                    400, "INVALIDJOBSTATE", f"Changing a {job.state} job to {wanted} not allowed"
                )
            job.modified = state.clock.now()
            return json_response(job.summary())

    async def info(self, request: Request, state: SalesforceState, version: str) -> Response:
        with self.lock:
            job = self._job(request)
            if job.state == "UploadComplete":
                _process(job, state)
            elif job.state == "InProgress":
                job.state = "JobComplete"
                job.modified = state.clock.now()
            return json_response(job.info())

    async def list_jobs(self, request: Request, state: SalesforceState, version: str) -> Response:
        wanted = request.query_params.get("jobType")
        with self.lock:
            records = [
                {**j.summary(), "jobType": "V2Ingest"}
                for j in self.jobs.values()
                if wanted in (None, "V2Ingest")
            ]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    async def delete(self, request: Request, state: SalesforceState, version: str) -> Response:
        with self.lock:
            job = self._job(request)
            if job.state in ("Open", "InProgress"):
                raise RequestError(
                    400, "INVALIDJOBSTATE", f"Deleting a job in state {job.state} not allowed"
                )
            del self.jobs[job.id]
        return Response(status_code=204)

    async def results(self, request: Request, state: SalesforceState, version: str) -> Response:
        kind = request.path_params["results"].lower()
        with self.lock:
            job = self._job(request)
            if kind not in RESULTS:
                raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
            delimiter = DELIMITERS[job.column_delimiter]
            outcome = job.outcome or unprocessed(job.data, delimiter)
            text = results_csv(kind, outcome, delimiter)
        return Response(text, media_type="text/csv")


def _process(job: IngestJob, state: SalesforceState) -> None:
    """Apply the rows; the job then reads InProgress once before JobComplete, or Failed."""
    obj = sobject(job.object)
    assert obj is not None
    delimiter = DELIMITERS[job.column_delimiter]
    job.modified = state.clock.now()
    try:
        data = job.data or b""
        check_line_ending(data, job.line_ending)
        job.outcome = apply(state, obj, job.operation, job.external_id, data, delimiter)
        job.state = "InProgress"
    except JobError as exc:
        job.outcome = unprocessed(job.data, delimiter)
        job.error_message = str(exc)
        job.state = "Failed"


def _external_field(obj: ObjectDef, name: Any) -> str:
    if not name:
        raise RequestError(
            400,
            "INVALIDJOB",
            f"External ID was blank for {obj.name}. An External ID must be specified for upsert.",
        )
    fdef = obj.field(str(name))
    if fdef is None or not (fdef.external_id or fdef.name == "Id"):
        raise RequestError(
            400,
            "INVALIDJOB",
            f"Field name provided, {name} does not match an External ID, Salesforce Id, "
            f"or indexed field for {obj.name}",
        )
    return fdef.name


def _check_size(raw: int) -> None:
    """413 when `raw` bytes of CSV would exceed the limit once base64 encoded."""
    if 4 * ((raw + 2) // 3) > MAX_UPLOAD_BASE64_BYTES:
        raise RequestError(
            413,
            "EXCEEDED_MAX_SIZE_REQUEST",
            f"Job data exceeds {MAX_UPLOAD_BASE64_BYTES} bytes once base64 encoded",
        )
