"""`SalesforceConnector`: the one object the jobs use to read from and write to Salesforce.

It wires the pieces: the logged-in session (`session.py`), reads (`reads.py`), upserts by
sObject Collections (`writes.py`) or Bulk API 2.0 (`bulk.py`), the daily API budget
(`budget.py`), and `usage`, which counts every HTTP request by operation: `login`, `query`,
`query_more`, `describe` and `composite.upsert` once per attempt (by `Retry`), and the Bulk
API 2.0 requests simple-salesforce makes by itself (`bulk2.create_job`, `bulk2.upload`,
`bulk2.close_job`, `bulk2.job_info`, `bulk2.results`, ...) as the transport sends them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog
from requests.models import PreparedRequest, Response
from simple_salesforce.api import Salesforce

from connectors.retry import Retry
from connectors.salesforce.budget import Budget, BudgetStatus
from connectors.salesforce.bulk import BulkWriter, count_bulk_request
from connectors.salesforce.reads import Reader, Record
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writes import CollectionWriter, WriteOutcome
from connectors.usage import ApiUsage

log = structlog.get_logger()


class SalesforceConnector:
    """Reads changed records and upserts raw records (dicts keyed by Salesforce field names).

    `budget_share`: the share of the org's daily API allowance leadloop may use before its
    writes pause (reads go on). `bulk_threshold`: upserts of more records than this go
    through Bulk API 2.0. `usage` and `retry` may be shared; `retry` counts into `usage`.
    Logs in on first use.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        usage: ApiUsage | None = None,
        retry: Retry | None = None,
        budget_share: float = 0.8,
        bulk_threshold: int = 2000,
        bulk_poll_seconds: int = 5,
    ) -> None:
        self.settings = settings
        self.usage = usage or (retry.usage if retry is not None else ApiUsage())
        retry = replace(retry, usage=self.usage) if retry is not None else Retry(self.usage)
        self._budget = Budget(budget_share)
        self.bulk_threshold = bulk_threshold
        self.session = SalesforceSession(
            settings, retry, on_send=self._sent, on_answer=self._answered
        )
        self._reader = Reader(self.session)
        self._collections = CollectionWriter(self.session)
        self._bulk = BulkWriter(self.session, bulk_poll_seconds)

    # reads --------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[Record]]:
        """Pages of records for a SOQL query built with `connectors.salesforce.soql`."""
        return self._reader.query(soql, include_deleted=include_deleted)

    def changed(
        self,
        sobject: str,
        fields: Sequence[str],
        since: datetime | None,
        *,
        include_deleted: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages (up to 2,000) of `sobject` records with SystemModstamp >= `since`, ordered by
        SystemModstamp, Id; queryAll with `include_deleted` (IsDeleted, MasterRecordId)."""
        return self._reader.changed(sobject, fields, since, include_deleted=include_deleted)

    def deleted_leads(self, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of deleted or merged-away Leads: Id, IsDeleted, MasterRecordId, SystemModstamp."""
        return self._reader.deleted_leads(since)

    def users(self, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """Id, Name and Email of the given users, keyed by Id."""
        return self._reader.users(ids)

    def describe(self, sobject: str) -> dict[str, Any]:
        """The sObject's fields with their type, length, picklist values and rules
        (`connectors.salesforce.reads.DESCRIBED`: external ID, unique, nillable, createable,
        updateable, defaulted on create, and for lookups the relationship and its targets)."""
        return self._reader.describe(sobject)

    # writes -------------------------------------------------------------------------------
    def upsert(
        self, sobject: str, external_id_field: str, records: Sequence[Mapping[str, Any]]
    ) -> WriteOutcome:
        """Create or update `records` by `external_id_field`; each record fails alone.

        Raises BudgetSpentError (a RateLimitedError) before sending anything while leadloop's
        share of the daily allowance is spent; an upsert under way is finished, which is at
        most `bulk_threshold / 200` collection calls or one bulk run past the line.
        """
        self._budget.check_writes()
        if not records:
            return WriteOutcome()
        bulk = len(records) > self.bulk_threshold
        writer = self._bulk if bulk else self._collections
        outcome = writer.upsert(sobject, external_id_field, records)
        log.info(
            "salesforce.upserted",
            sobject=sobject,
            records=len(records),
            written=len(outcome.written),
            created=sum(1 for w in outcome.written if w.created),
            failed=len(outcome.failed),
            api="bulk2" if bulk else "collections",
        )
        for failure in outcome.failed:
            log.warning(
                "salesforce.record_refused",
                sobject=sobject,
                key=failure.key,
                code=failure.code,
                message=failure.message,
                fields=list(failure.fields),
            )
        return outcome

    # budget -------------------------------------------------------------------------------
    def budget(self) -> BudgetStatus:
        """(used, max, share, writes_paused) as the last Salesforce answer reported them."""
        return self._budget.status()

    def close(self) -> None:
        """Close the connector's HTTP connections."""
        self.session.close()

    def __enter__(self) -> SalesforceConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def client(self) -> Salesforce:
        """The simple-salesforce client (logged in), for what the connector does not cover."""
        return self.session.client

    def _sent(self, request: PreparedRequest) -> None:
        count_bulk_request(self.usage, request)

    def _answered(self, response: Response) -> None:
        # Every answer, read where it arrives: simple-salesforce fills `Salesforce.api_usage`
        # from the same header only for successful REST answers, not for error answers (a 403
        # REQUEST_LIMIT_EXCEEDED carries it too) nor for its Bulk API 2.0 requests.
        header = response.headers.get("Sforce-Limit-Info")
        if not header:
            return
        usage = Salesforce.parse_api_usage(header).get("api-usage")
        if usage is not None:
            self._budget.observe(usage.used, usage.total)
