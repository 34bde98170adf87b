"""Bulk API 2.0 ingest jobs through simple-salesforce's `sf.bulk2`, and raw for the errors."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceOperationError

from connectors.emulator.salesforce import bulk
from connectors.emulator.salesforce.records import make_id
from tests.emulator.salesforce.conftest import Org

HS = "HubSpot_Contact_Id__c"
LEAD_CSV = "LastName,Company,HubSpot_Contact_Id__c\nSuzuki,Example KK,hs-1\n"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _lead(org: Org, key: str) -> dict[str, Any]:
    (found,) = org.state.by_external_id("Lead", HS, key)
    return found


def _upsert(sf: Salesforce, records: list[dict[str, Any]]) -> dict[str, Any]:
    (result,) = sf.bulk2.Lead.upsert(records=records, external_id_field=HS, wait=0)
    return dict(result)


class Jobs:
    """Raw HTTP on /jobs/ingest with a session of the org, for what simple-salesforce hides."""

    def __init__(self, org: Org, session_id: str | None = None) -> None:
        self.http = org.session()
        self.http.headers["Authorization"] = f"Bearer {session_id or org.state.new_session()}"
        self.base = f"{org.url}/services/data/v59.0/jobs/ingest"

    def create(self, **body: Any) -> requests.Response:
        return self.http.post(self.base, json={"object": "Lead", "contentType": "CSV", **body})

    def open(self, operation: str = "upsert", **body: Any) -> str:
        response = self.create(operation=operation, externalIdFieldName=HS, **body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def upload(self, job_id: str, data: str) -> requests.Response:
        return self.http.put(
            f"{self.base}/{job_id}/batches",
            data=data.encode(),
            headers={"Content-Type": "text/csv"},
        )

    def set_state(self, job_id: str, state: str) -> requests.Response:
        return self.http.patch(f"{self.base}/{job_id}", json={"state": state})

    def info(self, job_id: str) -> requests.Response:
        return self.http.get(f"{self.base}/{job_id}")

    def results(self, job_id: str, kind: str) -> requests.Response:
        return self.http.get(f"{self.base}/{job_id}/{kind}", headers={"Accept": "text/csv"})


@pytest.fixture
def jobs(org: Org) -> Jobs:
    return Jobs(org)


class TestUpsert:
    def test_new_and_existing_leads(self, org: Org, sf: Salesforce) -> None:
        """An existing key is updated (sf__Created false), a new key creates a lead."""
        existing = org.lead(HubSpot_Contact_Id__c="hs-1", Campaign__c="spring")
        result = _upsert(
            sf,
            [
                {HS: "hs-1", "Lead_Score__c": 70, "Status": "Working - Contacted"},
                {HS: "hs-2", "LastName": "Ito", "Company": "Acme KK", "Lead_Score__c": 10},
            ],
        )
        assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (2, 0)
        done = _rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))
        created = _lead(org, "hs-2")
        assert [(r["sf__Id"], r["sf__Created"], r[HS]) for r in done] == [
            (existing, "false", "hs-1"),
            (created["Id"], "true", "hs-2"),
        ]
        updated = _lead(org, "hs-1")
        assert (updated["Lead_Score__c"], updated["Status"]) == (70.0, "Working - Contacted")
        # the hs-1 row had empty LastName/Company cells: left unchanged
        assert (updated["LastName"], updated["Campaign__c"]) == ("Tanaka", "spring")
        assert (created["LastName"], created["Lead_Score__c"]) == ("Ito", 10.0)
        assert _rows(sf.bulk2.Lead.get_failed_records(result["job_id"])) == []

    def test_japanese_values_round_trip(self, org: Org, sf: Salesforce) -> None:
        """UTF-8 CSV: Japanese values are stored and come back unchanged."""
        values = {"LastName": "山田", "Company": "株式会社リードループ", "Title": "営業部長"}
        result = _upsert(sf, [{HS: "hs-jp", **values}])
        lead = _lead(org, "hs-jp")
        assert {k: lead[k] for k in values} == values
        (row,) = _rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))
        assert {k: row[k] for k in values} == values
        queried = sf.query(f"SELECT Company FROM Lead WHERE {HS} = 'hs-jp'")
        assert queried["records"][0]["Company"] == "株式会社リードループ"

    def test_na_sets_a_field_to_null(self, org: Org, sf: Salesforce) -> None:
        """#N/A clears a field; an empty cell leaves it as it was."""
        org.lead(HubSpot_Contact_Id__c="hs-1", Campaign__c="spring", Title="CTO")
        _upsert(sf, [{HS: "hs-1", "Campaign__c": "#N/A", "Title": ""}])
        lead = _lead(org, "hs-1")
        assert (lead["Campaign__c"], lead["Title"]) == (None, "CTO")

    def test_bad_rows_fail_alone_with_the_salesforce_error(self, org: Org, sf: Salesforce) -> None:
        """Each bad row is a failed result `CODE:message:fields --`; the good rows apply."""
        good = {"LastName": "Ito", "Company": "Acme KK"}
        result = _upsert(
            sf,
            [
                {HS: "hs-1", **good},
                {HS: "hs-2", **good, "Status": "Hot"},
                {HS: "hs-3", **good, "Campaign__c": "x" * 256},
                {HS: "hs-4", "Company": "Acme KK"},
                {HS: "hs-5", **good, "Lead_Score__c": "high"},
                {HS: "hs-6", **good},
            ],
        )
        assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (6, 4)
        failed = _rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
        assert [(r[HS], r["sf__Id"], r["sf__Error"]) for r in failed] == [
            (
                "hs-2",
                "",
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:"
                "Status: bad value for restricted picklist field: Hot:Status --",
            ),
            (
                "hs-3",
                "",
                f"STRING_TOO_LONG:Campaign: data value too large: {'x' * 256} "
                "(max length=255):Campaign__c --",
            ),
            (
                "hs-4",
                "",
                "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            ),
            (
                "hs-5",
                "",
                "INVALID_TYPE_ON_FIELD_IN_RECORD:Lead Score: value not of required type: high:"
                "Lead_Score__c --",
            ),
        ]
        assert failed[0]["Status"] == "Hot"  # the original columns come back as sent
        assert sorted(r[HS] for r in org.state.rows("Lead")) == ["hs-1", "hs-6"]
        assert _rows(sf.bulk2.Lead.get_unprocessed_records(result["job_id"])) == []

    def test_failure_on_an_existing_lead_names_it(self, org: Org, sf: Salesforce) -> None:
        """A failed update of an existing lead carries that lead's Id in sf__Id."""
        existing = org.lead(HubSpot_Contact_Id__c="hs-1")
        result = _upsert(sf, [{HS: "hs-1", "Email": "not-an-email"}])
        (row,) = _rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
        assert row["sf__Id"] == existing
        assert row["sf__Error"] == (
            "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --"
        )

    def test_duplicate_keys_in_one_job(self, org: Org, sf: Salesforce) -> None:
        """Two rows with one key both fail DUPLICATE_EXTERNAL_ID, as in a collection call."""
        row = {"LastName": "Ito", "Company": "Acme KK"}
        result = _upsert(sf, [{HS: "hs-1", **row}, {HS: "HS-1", **row}, {HS: "hs-2", **row}])
        failed = _rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
        assert [r["sf__Error"] for r in failed] == [
            "DUPLICATE_EXTERNAL_ID:Duplicate external id specified: hs-1:HubSpot_Contact_Id__c --",
            "DUPLICATE_EXTERNAL_ID:Duplicate external id specified: HS-1:HubSpot_Contact_Id__c --",
        ]
        assert [r[HS] for r in org.state.rows("Lead")] == ["hs-2"]


class TestInsertAndUpdate:
    def test_insert_then_update_by_id(self, org: Org, sf: Salesforce) -> None:
        """insert creates (sf__Created true); update by Id changes; an unknown Id fails."""
        (inserted,) = sf.bulk2.Lead.insert(
            records=[{"LastName": "Ito", "Company": "A"}, {"LastName": "", "Company": "B"}],
            wait=0,
        )
        assert (inserted["numberRecordsProcessed"], inserted["numberRecordsFailed"]) == (2, 1)
        (done,) = _rows(sf.bulk2.Lead.get_successful_records(inserted["job_id"]))
        assert done["sf__Created"] == "true"
        (missing,) = _rows(sf.bulk2.Lead.get_failed_records(inserted["job_id"]))
        assert missing["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
        unknown = make_id("00Q", 999)
        (updated,) = sf.bulk2.Lead.update(
            records=[{"Id": done["sf__Id"], "Title": "CEO"}, {"Id": unknown, "Title": "CEO"}],
            wait=0,
        )
        assert updated["numberRecordsFailed"] == 1
        (ok,) = _rows(sf.bulk2.Lead.get_successful_records(updated["job_id"]))
        assert (ok["sf__Id"], ok["sf__Created"]) == (done["sf__Id"], "false")
        (bad,) = _rows(sf.bulk2.Lead.get_failed_records(updated["job_id"]))
        assert bad["sf__Error"] == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
        assert org.state.get("Lead", done["sf__Id"])["Title"] == "CEO"


class TestJobFailure:
    def test_unknown_column_fails_the_job(self, org: Org, sf: Salesforce, jobs: Jobs) -> None:
        """A header naming no Lead field: job Failed, errorMessage, every row unprocessed."""
        with pytest.raises(SalesforceOperationError, match="Field name not found : Favourite__c"):
            _upsert(sf, [{HS: "hs-1", "LastName": "Ito", "Company": "A", "Favourite__c": "x"}])
        (job,) = jobs.http.get(jobs.base).json()["records"]
        info = jobs.info(job["id"]).json()
        assert info["state"] == "Failed"
        assert info["errorMessage"] == "InvalidBatch : Field name not found : Favourite__c"
        assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (0, 0)
        (row,) = _rows(jobs.results(job["id"], "unprocessedrecords").text)
        assert (row[HS], row["Favourite__c"]) == ("hs-1", "x")
        assert org.state.rows("Lead") == []

    def test_line_ending_other_than_declared(self, jobs: Jobs) -> None:
        """CRLF data in a job declared LF fails with the ClientInputError message."""
        job_id = jobs.open()
        assert jobs.upload(job_id, LEAD_CSV.replace("\n", "\r\n")).status_code == 201
        jobs.set_state(job_id, "UploadComplete")
        info = jobs.info(job_id).json()
        assert info["state"] == "Failed"
        assert info["errorMessage"].startswith("ClientInputError : LineEnding is invalid")


class TestProtocol:
    def test_job_lifecycle(self, org: Org, jobs: Jobs) -> None:
        """Open -> UploadComplete -> InProgress (first poll) -> JobComplete; results are CSV."""
        created = jobs.create(operation="upsert", externalIdFieldName=HS)
        job = created.json()
        assert created.status_code == 200
        assert (job["state"], job["object"], job["externalIdFieldName"]) == ("Open", "Lead", HS)
        assert job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
        assert (job["lineEnding"], job["columnDelimiter"], job["apiVersion"]) == (
            "LF",
            "COMMA",
            59.0,
        )
        assert job["id"].startswith("750") and len(job["id"]) == 18
        assert jobs.upload(job["id"], LEAD_CSV).status_code == 201
        assert jobs.set_state(job["id"], "UploadComplete").json()["state"] == "UploadComplete"
        assert jobs.info(job["id"]).json()["state"] == "InProgress"
        info = jobs.info(job["id"]).json()
        assert (info["state"], info["jobType"], info["numberRecordsProcessed"]) == (
            "JobComplete",
            "V2Ingest",
            1,
        )
        results = jobs.results(job["id"], "successfulResults/")
        assert results.headers["content-type"].startswith("text/csv")
        assert results.text.startswith('"sf__Id","sf__Created",LastName,Company,')
        assert _lead(org, "hs-1")["Company"] == "Example KK"

    def test_upload_to_a_closed_job_is_refused(self, jobs: Jobs) -> None:
        """Data goes to an Open job once: a second PUT or one after closing is INVALIDJOBSTATE."""
        job_id = jobs.open()
        assert jobs.upload(job_id, LEAD_CSV).status_code == 201
        again = jobs.upload(job_id, LEAD_CSV)
        assert again.status_code == 409
        assert again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
        assert "Found multiple contents for job" in again.json()[0]["message"]
        jobs.set_state(job_id, "UploadComplete")
        late = jobs.upload(job_id, LEAD_CSV)
        assert (late.status_code, late.json()[0]["errorCode"]) == (409, "INVALIDJOBSTATE")

    def test_abort(self, org: Org, jobs: Jobs) -> None:
        """An aborted job applies nothing; a finished job cannot be aborted."""
        job_id = jobs.open()
        jobs.upload(job_id, LEAD_CSV)
        assert jobs.set_state(job_id, "Aborted").json()["state"] == "Aborted"
        assert jobs.info(job_id).json()["state"] == "Aborted"
        assert [r[HS] for r in _rows(jobs.results(job_id, "unprocessedRecords").text)] == ["hs-1"]
        assert org.state.rows("Lead") == []
        done = jobs.open()
        jobs.upload(done, LEAD_CSV)
        jobs.set_state(done, "UploadComplete")
        jobs.info(done)
        jobs.info(done)
        refused = jobs.set_state(done, "Aborted")
        assert refused.status_code == 400
        assert refused.json() == [
            {
                "message": "Aborting already Completed Job not allowed",
                "errorCode": "INVALIDJOBSTATE",
            }
        ]

    def test_unknown_job_is_404(self, jobs: Jobs) -> None:
        """Every job resource answers 404 NOT_FOUND for an Id that is no job."""
        missing = make_id("750", 999)
        for response in (
            jobs.info(missing),
            jobs.upload(missing, LEAD_CSV),
            jobs.set_state(missing, "UploadComplete"),
            jobs.results(missing, "failedResults"),
            jobs.http.delete(f"{jobs.base}/{missing}"),
        ):
            assert response.status_code == 404
            assert response.json()[0]["errorCode"] == "NOT_FOUND"

    def test_delete_a_finished_job(self, jobs: Jobs) -> None:
        """DELETE answers 204 for a finished job, after which it is gone; an Open one stays."""
        open_job = jobs.open()
        assert jobs.http.delete(f"{jobs.base}/{open_job}").status_code == 400
        jobs.set_state(open_job, "Aborted")
        assert jobs.http.delete(f"{jobs.base}/{open_job}").status_code == 204
        assert jobs.info(open_job).status_code == 404

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"operation": "upsert"}, "INVALIDJOB"),
            ({"operation": "upsert", "externalIdFieldName": "Company"}, "INVALIDJOB"),
            ({"operation": "insert", "object": "Nope"}, "INVALIDJOB"),
            ({"operation": "merge"}, "JSON_PARSER_ERROR"),
            ({"operation": "insert", "lineEnding": "CR"}, "JSON_PARSER_ERROR"),
        ],
    )
    def test_create_errors(self, jobs: Jobs, body: dict[str, Any], code: str) -> None:
        """A job without a usable object, operation or external ID field is refused."""
        response = jobs.create(**body)
        assert (response.status_code, response.json()[0]["errorCode"]) == (400, code)

    def test_upload_size_limit(self, jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
        """An upload over the limit (measured base64 encoded) is refused and not kept."""
        monkeypatch.setattr(bulk, "MAX_UPLOAD_BASE64_BYTES", 64)
        job_id = jobs.open()
        refused = jobs.upload(job_id, LEAD_CSV + "Sato,Example KK,hs-2\n")
        assert refused.status_code == 413
        assert jobs.upload(job_id, "LastName\nSato\n").status_code == 201


class TestLimitsAndSession:
    def test_every_call_is_counted(self, org: Org, sf: Salesforce, jobs: Jobs) -> None:
        """All six calls of an upsert (create, PUT, close, 2 polls, info) use the allowance."""
        before, _ = org.state.api_usage()
        _upsert(sf, [{HS: "hs-1", "LastName": "Ito", "Company": "A"}])
        assert org.state.api_usage()[0] == before + 6
        listed = jobs.http.get(jobs.base)
        assert listed.headers["Sforce-Limit-Info"] == f"api-usage={before + 7}/100000"

    def test_spent_allowance_is_refused(self, org: Org, jobs: Jobs) -> None:
        """With the daily allowance spent a bulk call is REQUEST_LIMIT_EXCEEDED."""
        org.state.daily_api_limit = org.state.api_usage()[0]
        response = jobs.create(operation="insert")
        assert (response.status_code, response.json()[0]["errorCode"]) == (
            403,
            "REQUEST_LIMIT_EXCEEDED",
        )

    def test_expired_session(self, org: Org, sf: Salesforce, jobs: Jobs) -> None:
        """After the session expires bulk calls answer 401 INVALID_SESSION_ID."""
        org.state.expire_sessions()
        with pytest.raises(SalesforceExpiredSession):
            _upsert(sf, [{HS: "hs-1", "LastName": "Ito", "Company": "A"}])
        response = jobs.http.get(jobs.base)
        assert (response.status_code, response.json()[0]["errorCode"]) == (
            401,
            "INVALID_SESSION_ID",
        )
