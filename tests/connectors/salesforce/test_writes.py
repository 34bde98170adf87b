"""Upserts against the emulated org: collections of 200, bad records alone, Bulk API 2.0,
and the daily API budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators
from connectors.errors import RateLimitedError
from connectors.salesforce import BudgetSpentError, SalesforceConnector
from tests.connectors.salesforce.conftest import HS, Connect, new_lead

COMPOSITE = "PATCH /services/data/{version}/composite/sobjects/{sobject}/{field}"


def lead(n: int, **fields: Any) -> dict[str, Any]:
    return {HS: f"hs-{n}", "LastName": f"Sato {n}", "Company": "Acme KK", **fields}


def stored(world: Emulators, key: str) -> dict[str, Any]:
    (found,) = world.salesforce.by_external_id("Lead", HS, key)
    return found


def bad_records() -> dict[int, dict[str, Any]]:
    return {
        7: lead(7, Status="Hot"),
        250: lead(250, Campaign__c="x" * 256),
        449: lead(449, Email="not-an-email"),
    }


class TestCollections:
    def test_450_leads_in_3_calls_with_bad_records_quarantined(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """3 calls of 200/200/50; new and existing leads told apart; the three bad records
        fail with Salesforce's code, message and field, every other record is written."""
        existing = {n: new_lead(emulators, **{HS: f"hs-{n}"}) for n in (0, 201, 448)}
        records = [lead(n, Lead_Score__c=float(n)) for n in range(450)]
        for n, record in bad_records().items():
            records[n] = record
        outcome = sf.upsert("Lead", HS, records)
        assert emulators.controls["salesforce"].counters.snapshot()[COMPOSITE] == 3
        assert sf.usage.snapshot().calls == {"login": 1, "composite.upsert": 3}
        assert len(outcome.written) == 447
        created = {w.key: w.created for w in outcome.written}
        assert [created[f"hs-{n}"] for n in existing] == [False, False, False]
        assert sum(created.values()) == 444
        assert {w.key: w.salesforce_id for w in outcome.written if not w.created} == {
            f"hs-{n}": record_id for n, record_id in existing.items()
        }
        failures = {f.key: (f.code, f.message, f.fields) for f in outcome.failed}
        assert failures == {
            "hs-7": (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Status: bad value for restricted picklist field: Hot",
                ("Status",),
            ),
            "hs-250": (
                "STRING_TOO_LONG",
                f"Campaign: data value too large: {'x' * 256} (max length=255)",
                ("Campaign__c",),
            ),
            "hs-449": (
                "INVALID_EMAIL_ADDRESS",
                "Email: invalid email address: not-an-email",
                ("Email",),
            ),
        }
        assert stored(emulators, "hs-300")["Lead_Score__c"] == 300.0
        assert stored(emulators, "hs-201")["LastName"] == "Sato 201"
        assert emulators.salesforce.by_external_id("Lead", HS, "hs-250") == []
        assert len(emulators.salesforce.rows("Lead")) == 447

    def test_japanese_values_and_nulls(self, emulators: Emulators, sf: SalesforceConnector) -> None:
        """Japanese text, datetimes and None (clears a field) go through unchanged."""
        new_lead(emulators, **{HS: "hs-1", "Title": "部長"})
        when = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
        sf.upsert(
            "Lead",
            HS,
            [lead(1, Company="株式会社リードループ", Title=None, MQL_Date__c=when)],
        )
        found = stored(emulators, "hs-1")
        assert (found["Company"], found["Title"], found["MQL_Date__c"]) == (
            "株式会社リードループ",
            None,
            when,
        )


class TestBulk:
    def test_above_the_threshold_bulk_api_2(self, emulators: Emulators, connect: Connect) -> None:
        """Over `bulk_threshold` one ingest job does the upsert; results read back into the
        same outcome, bad rows with Salesforce's code, message and fields."""
        sf = connect(bulk_threshold=100)
        existing = new_lead(emulators, **{HS: "hs-3"})
        records = [lead(n) for n in range(300)]
        for n, record in bad_records().items():
            if n < 300:
                records[n] = record
        records[5] = lead(5, Title=None, Company="株式会社\nリードループ")
        outcome = sf.upsert("Lead", HS, records)
        assert len(outcome.written) == 298
        written = {w.key: w for w in outcome.written}
        assert (written["hs-3"].salesforce_id, written["hs-3"].created) == (existing, False)
        assert written["hs-4"].created and written["hs-4"].salesforce_id.startswith("00Q")
        failures = {f.key: (f.code, f.message, f.fields) for f in outcome.failed}
        assert failures == {
            "hs-7": (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Status: bad value for restricted picklist field: Hot",
                ("Status",),
            ),
            "hs-250": (
                "STRING_TOO_LONG",
                f"Campaign: data value too large: {'x' * 256} (max length=255)",
                ("Campaign__c",),
            ),
        }
        assert stored(emulators, "hs-5")["Company"] == "株式会社\nリードループ"
        calls = sf.usage.snapshot().calls
        assert calls == {
            "login": 1,
            "bulk2.create_job": 1,
            "bulk2.upload": 1,
            "bulk2.close_job": 1,
            "bulk2.job_info": 3,
            "bulk2.results": 2,
        }
        served = emulators.controls["salesforce"].counters.snapshot()
        assert sum(n for route, n in served.items() if "/jobs/ingest" in route) == 8
        assert COMPOSITE not in served

    def test_a_failed_poll_aborts_the_job_and_runs_it_again(
        self, emulators: Emulators, connect: Connect, slept: list[float]
    ) -> None:
        """A 503 while polling: simple-salesforce aborts the job, the connector sends the
        (idempotent) upsert again; every request of both runs is counted."""
        sf = connect(bulk_threshold=10)
        body = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        emulators.controls["salesforce"].faults.add(
            Fault(
                route=r"GET /services/data/\{version\}/jobs/ingest/\{job_id\}$",
                status=503,
                body=body,
            )
        )
        outcome = sf.upsert("Lead", HS, [lead(n) for n in range(20)])
        assert len(outcome.written) == 20 and outcome.failed == []
        assert len(emulators.salesforce.rows("Lead")) == 20
        calls = sf.usage.snapshot().calls
        assert (calls["bulk2.create_job"], calls["bulk2.abort_job"]) == (2, 1)
        assert calls["bulk2.job_info"] == 1 + 1 + 3  # failed poll, the abort's check, 2nd run
        assert len(slept) == 1

    def test_at_the_threshold_collections_still(
        self, emulators: Emulators, connect: Connect
    ) -> None:
        """Exactly `bulk_threshold` records still go through sObject Collections."""
        sf = connect(bulk_threshold=200)
        sf.upsert("Lead", HS, [lead(n) for n in range(200)])
        assert sf.usage.snapshot().calls == {"login": 1, "composite.upsert": 1}


class TestBudget:
    def test_writes_pause_at_the_share_and_resume_when_the_window_frees(
        self, emulators: Emulators, connect: Connect
    ) -> None:
        """At half of a 10-request allowance writes stop, reads go on; the next day's answer
        shows usage under the share and writes resume."""
        emulators.salesforce.daily_api_limit = 10
        sf = connect(budget_share=0.5)
        sf.upsert("Lead", HS, [lead(1)])
        for _ in range(3):
            list(sf.changed("Lead", ["LastName"], None))
        assert sf.budget() == (4, 10, 0.5, False)
        list(sf.changed("Lead", ["LastName"], None))
        assert sf.budget() == (5, 10, 0.5, True)
        with pytest.raises(BudgetSpentError, match="5 of the org's 10 daily API requests"):
            sf.upsert("Lead", HS, [lead(2)])
        assert emulators.salesforce.api_used == 5  # refused without a call
        emulators.clock.advance(timedelta(days=1))
        list(sf.changed("Lead", ["LastName"], None))
        assert sf.budget() == (1, 10, 0.5, False)
        assert len(sf.upsert("Lead", HS, [lead(2)]).written) == 1

    def test_spent_allowance_is_raised_then_reads_resume(
        self, emulators: Emulators, sf: SalesforceConnector, slept: list[float]
    ) -> None:
        """REQUEST_LIMIT_EXCEEDED from the org: RateLimitedError at once (no hour-long sleep,
        no crash); once the day turns the allowance is back and the read goes on."""
        emulators.salesforce.daily_api_limit = 2
        sf.upsert("Lead", HS, [lead(1)])
        list(sf.changed("Lead", ["LastName"], None))
        with pytest.raises(RateLimitedError) as info:
            list(sf.changed("Lead", ["LastName"], None))
        assert (info.value.code, info.value.retry_after) == ("REQUEST_LIMIT_EXCEEDED", 3600.0)
        assert sf.budget().writes_paused and slept == []
        emulators.clock.advance(timedelta(days=1))
        (page,) = sf.changed("Lead", ["LastName"], None)
        assert [r["LastName"] for r in page] == ["Sato 1"]
        assert not sf.budget().writes_paused
