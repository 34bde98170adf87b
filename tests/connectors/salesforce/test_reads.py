"""Reads against the emulated org over HTTPS: pages, relationship fields, deletes and merges,
session expiry between pages, injected faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators
from connectors.errors import FatalError, RetriableError
from connectors.salesforce import SalesforceConnector
from tests.conftest import WORLD_START
from tests.connectors.salesforce.conftest import Connect, new_lead, session_env

QUERY_ROUTE = r"GET /services/data/\{version\}/query/$"
MORE_ROUTE = r"GET /services/data/\{version\}/query/\{cursor\}"


def _flatten(pages: Any) -> list[dict[str, Any]]:
    return [record for page in pages for record in page]


class TestChanged:
    def test_leads_since_a_time_across_pages(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """4,100 changed leads: pages of 2,000, 2,000 and 100, oldest first, with Owner.Email
        nested and no `attributes`; leads changed before `since` are left out."""
        world = emulators.salesforce
        for n in range(50):
            new_lead(emulators, LastName=f"Old {n}")
        emulators.clock.advance(timedelta(minutes=5))
        since = emulators.clock.now()
        for n in range(4100):
            new_lead(emulators, LastName=f"New {n:04d}", HubSpot_Contact_Id__c=f"hs-{n}")
            if n % 1000 == 999:
                emulators.clock.advance(timedelta(seconds=1))
        before = world.api_used
        pages = list(sf.changed("Lead", ["Id", "LastName", "Owner.Email", "SystemModstamp"], since))
        assert [len(p) for p in pages] == [2000, 2000, 100]
        records = _flatten(pages)
        assert [r["LastName"] for r in records] == [f"New {n:04d}" for n in range(4100)]
        assert records[0]["Owner"] == {"Email": world.username}
        assert set(records[0]) == {"Id", "LastName", "Owner", "SystemModstamp"}
        stamps = [r["SystemModstamp"] for r in records]
        assert stamps == sorted(stamps) and stamps[0].startswith("2026-01-09T01:05:00")
        assert sf.usage.snapshot().calls == {"login": 1, "query": 1, "query_more": 2}
        assert world.api_used - before == 3

    def test_tasks_events_and_opportunities(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """Tasks and events carry Who.Id; opportunities their stage; all since one time."""
        world = emulators.salesforce
        lead = new_lead(emulators)
        since = emulators.clock.advance(timedelta(hours=1))
        task = world.log_call(lead, since)
        event = world.log_meeting(lead, since)
        opp = world.convert_lead(lead, since)
        world.close_opportunity(opp, True, 1_200_000, since)
        (tasks,) = sf.changed("Task", ["Type", "Status", "Who.Id", "Owner.Email"], since)
        assert tasks == [
            {
                "Id": task,
                "Type": "Call",
                "Status": "Completed",
                "Who": {"Id": lead},
                "Owner": {"Email": world.username},
                "SystemModstamp": "2026-01-09T02:00:00.000+0000",
            }
        ]
        (events,) = sf.changed("Event", ["Who.Id", "ActivityDateTime"], since)
        assert [(e["Id"], e["Who"], e["ActivityDateTime"]) for e in events] == [
            (event, {"Id": lead}, "2026-01-09T02:00:00.000+0000")
        ]
        (opps,) = sf.changed("Opportunity", ["StageName", "IsWon", "Amount"], since)
        assert [(o["Id"], o["StageName"], o["IsWon"], o["Amount"]) for o in opps] == [
            (opp, "Closed Won", True, 1_200_000.0)
        ]
        (converted,) = sf.changed("Lead", ["IsConverted", "ConvertedOpportunity.StageName"], since)
        assert converted[0]["ConvertedOpportunity"] == {"StageName": "Closed Won"}

    def test_deleted_and_merged_through_query_all(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """queryAll returns deleted and merged-away leads with IsDeleted and MasterRecordId."""
        world = emulators.salesforce
        master, duplicate, deleted, kept = (new_lead(emulators) for _ in range(4))
        since = emulators.clock.advance(timedelta(minutes=1))
        world.merge_leads(master, duplicate)
        world.delete_lead(deleted)
        live = _flatten(sf.changed("Lead", ["IsDeleted"], since))
        assert [r["Id"] for r in live] == [master]
        everything = _flatten(
            sf.changed("Lead", ["IsDeleted", "MasterRecordId"], since, include_deleted=True)
        )
        assert {r["Id"]: (r["IsDeleted"], r["MasterRecordId"]) for r in everything} == {
            duplicate: (True, master),
            deleted: (True, None),
            master: (False, None),
        }
        gone = _flatten(sf.deleted_leads(since))
        assert {r["Id"]: r["MasterRecordId"] for r in gone} == {duplicate: master, deleted: None}
        assert set(gone[0]) == {"Id", "IsDeleted", "MasterRecordId", "SystemModstamp"}
        assert kept not in {r["Id"] for r in _flatten(sf.deleted_leads(None))}

    def test_users_and_describe(self, emulators: Emulators, sf: SalesforceConnector) -> None:
        """users() maps Ids to Name and Email; describe() lists the fields' write rules."""
        world = emulators.salesforce
        ids = [world.add_user(f"Rep {n}", f"rep{n}@acme.example") for n in range(250)]
        found = sf.users([*ids, ids[0], "005000000000000AAA"])
        assert len(found) == 250
        assert found[ids[3]] == {"Id": ids[3], "Name": "Rep 3", "Email": "rep3@acme.example"}
        assert sf.usage.snapshot().calls["query"] == 2  # 200 Ids a query
        described = sf.describe("Lead")
        fields = {f["name"]: f for f in described["fields"]}
        assert fields["HubSpot_Contact_Id__c"]["externalId"] is True
        assert fields["Email"]["type"] == "email"
        status = fields["Status"]
        assert [p["value"] for p in status["picklistValues"]][-2:] == ["Recycled", "Disqualified"]
        assert set(status) == {
            "name",
            "label",
            "type",
            "length",
            "picklistValues",
            "restrictedPicklist",
            "externalId",
            "unique",
            "nillable",
            "createable",
            "updateable",
            "defaultedOnCreate",
            "relationshipName",
            "referenceTo",
        }
        owner = fields["OwnerId"]
        assert (owner["relationshipName"], owner["referenceTo"]) == ("Owner", ["User"])


class TestSessions:
    def test_expiry_between_pages_logs_in_again(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """Sessions expire after the first page: SOAP login at the instance URL, read goes on."""
        for n in range(2500):
            new_lead(emulators, LastName=f"Lead {n:04d}")
        pages = sf.changed("Lead", ["LastName"], WORLD_START)
        first = next(pages)
        emulators.salesforce.expire_sessions()
        rest = list(pages)
        assert [len(first), *(len(p) for p in rest)] == [2000, 500]
        assert sf.usage.snapshot().calls == {"login": 2, "query": 1, "query_more": 2}

    def test_given_session_expiring_is_fatal(self, emulators: Emulators, connect: Connect) -> None:
        """In session mode an expired session stops the read with the fix."""
        sf = connect(session_env(emulators))
        emulators.salesforce.expire_sessions()
        with pytest.raises(FatalError, match="SALESFORCE_SESSION_ID"):
            list(sf.changed("Lead", ["LastName"], None))
        assert "login" not in sf.usage.snapshot().calls


class TestFaults:
    def test_server_errors_and_drops_are_retried(
        self, emulators: Emulators, sf: SalesforceConnector, slept: list[float]
    ) -> None:
        """A 503 on the first page and a dropped connection on the next are sent again."""
        for n in range(2100):
            new_lead(emulators, LastName=f"Lead {n:04d}")
        faults = emulators.controls["salesforce"].faults
        body = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        faults.add(Fault(route=QUERY_ROUTE, status=503, body=body, times=2))
        faults.add(Fault(route=MORE_ROUTE, kind="drop", times=1))
        records = _flatten(sf.changed("Lead", ["LastName"], None))
        assert len(records) == 2100 and len({r["Id"] for r in records}) == 2100
        snapshot = sf.usage.snapshot()
        assert snapshot.calls == {"login": 1, "query": 3, "query_more": 2}
        assert snapshot.retries == 3 and len(slept) == 3

    def test_persistent_failure_is_raised_as_retriable(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """After the attempts run out the job sees a RetriableError with Salesforce's text."""
        body = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        emulators.controls["salesforce"].faults.add(
            Fault(route=QUERY_ROUTE, status=503, body=body, times=None)
        )
        with pytest.raises(RetriableError, match="Server unavailable"):
            list(sf.changed("Lead", ["LastName"], None))
        assert sf.usage.snapshot().calls["query"] == 6
