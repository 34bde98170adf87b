"""sObject resources through simple-salesforce: describe, CRUD, upsert, collections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from tests.emulator.salesforce.conftest import Org

LEAD = {"LastName": "Suzuki", "Company": "Example KK", "Email": "suzuki@example.jp"}


def _rec(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, **LEAD, **fields}


class TestDescribe:
    def test_lead_fields(self, sf: Salesforce) -> None:
        """describe lists the custom fields with types, lengths, picklists and flags."""
        fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
        hubspot = fields["HubSpot_Contact_Id__c"]
        assert (hubspot["type"], hubspot["length"]) == ("string", 18)
        assert hubspot["externalId"] and hubspot["unique"] and hubspot["custom"]
        assert fields["Score_Reasons__c"]["length"] == 32768
        assert fields["BANT_Need__c"]["type"] == "boolean"
        assert fields["MQL_Date__c"]["type"] == "datetime"
        clarity = fields["Problem_Clarity__c"]["picklistValues"]
        assert [(p["value"], p["label"]) for p in clarity] == [
            ("clear", "明確"),
            ("vague", "曖昧"),
            ("unorganized", "未整理"),
        ]
        assert {"Recycled", "Disqualified", "Closed - Converted"} <= {
            p["value"] for p in fields["Status"]["picklistValues"]
        }
        assert fields["LastName"]["nillable"] is False
        assert fields["IsConverted"]["createable"] is False

    def test_unknown_object_is_404(self, sf: Salesforce) -> None:
        """An unknown sObject type is NOT_FOUND."""
        with pytest.raises(SalesforceResourceNotFound):
            sf.Nope.describe()


class TestCrud:
    def test_create_get_update_delete(self, org: Org, sf: Salesforce) -> None:
        """Create answers 201 with the id; update and delete answer 204; get after delete 404."""
        created = sf.Lead.create({**LEAD, "MQL_Date__c": "2026-01-05T10:00:00+09:00"})
        assert created["success"] is True and created["errors"] == []
        lead = sf.Lead.get(created["id"])
        assert lead["Name"] == "Suzuki" and lead["Status"] == "Open - Not Contacted"
        assert lead["MQL_Date__c"] == "2026-01-05T01:00:00.000+0000"
        assert lead["CreatedDate"] == "2026-01-05T09:00:00.000+0000"
        assert sf.Lead.update(created["id"], {"Status": "Working - Contacted"}) == 204
        assert sf.Lead.get(created["id"])["Status"] == "Working - Contacted"
        assert sf.Lead.delete(created["id"]) == 204
        with pytest.raises(SalesforceResourceNotFound) as info:
            sf.Lead.get(created["id"])
        content: Any = info.value.content
        assert content[0]["errorCode"] == "ENTITY_IS_DELETED"

    @pytest.mark.parametrize(
        ("body", "code", "fields"),
        [
            ({"Company": "X"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
            ({**LEAD, "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
            ({**LEAD, "Status": "Hot"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
            (
                {**LEAD, "Problem_Clarity__c": "明確"},
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                ["Problem_Clarity__c"],
            ),
            ({**LEAD, "Campaign__c": "x" * 256}, "STRING_TOO_LONG", ["Campaign__c"]),
            ({**LEAD, "Favourite__c": "x"}, "INVALID_FIELD", []),
            ({**LEAD, "IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
        ],
    )
    def test_record_errors(
        self, sf: Salesforce, body: dict[str, Any], code: str, fields: list[str]
    ) -> None:
        """An invalid record answers 400 with the real errorCode and fields."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Lead.create(body)
        content: Any = info.value.content
        assert content[0]["errorCode"] == code
        assert content[0]["fields"] == fields

    def test_converted_lead_cannot_be_updated(self, org: Org, sf: Salesforce) -> None:
        """Updating a converted lead is CANNOT_UPDATE_CONVERTED_LEAD."""
        lead = org.lead()
        opp = org.state.convert_lead(lead, org.state.clock.now())
        got = sf.Lead.get(lead)
        assert got["IsConverted"] and got["ConvertedOpportunityId"] == opp
        assert got["Status"] == "Closed - Converted"
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Lead.update(lead, {"Lead_Score__c": 10})
        content: Any = info.value.content
        assert content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


class TestUpsert:
    def test_insert_then_update(self, org: Org, sf: Salesforce) -> None:
        """Upsert by HubSpot_Contact_Id__c: 201 created, then 200 with created false."""
        first = sf.Lead.upsert("HubSpot_Contact_Id__c/hs-1", LEAD, raw_response=True)
        assert first.status_code == 201
        assert first.json()["created"] is True
        second = sf.Lead.upsert(
            "HubSpot_Contact_Id__c/hs-1", {"Lead_Score__c": 70}, raw_response=True
        )
        assert second.status_code == 200
        assert second.json() == {
            "id": first.json()["id"],
            "success": True,
            "errors": [],
            "created": False,
        }
        assert sf.Lead.get(first.json()["id"])["Lead_Score__c"] == 70.0

    def test_duplicates_answer_300(self, org: Org, sf: Salesforce) -> None:
        """Several records with the external ID answer 300 with their URLs."""
        for _ in range(2):  # as data loaded before the field was made unique
            org.state.force_value("Lead", org.lead(), "HubSpot_Contact_Id__c", "dup")
        with pytest.raises(SalesforceMoreThanOneRecord) as info:
            sf.Lead.upsert("HubSpot_Contact_Id__c/dup", {"Lead_Score__c": 1})
        content: Any = info.value.content
        assert len(content) == 2 and content[0].startswith("/services/data/v59.0/sobjects/Lead/")

    def test_external_id_in_body_is_refused(self, sf: Salesforce) -> None:
        """The external ID field must not be repeated in the body of an upsert."""
        with pytest.raises(SalesforceMalformedRequest):
            sf.Lead.upsert("HubSpot_Contact_Id__c/hs-2", {**LEAD, "HubSpot_Contact_Id__c": "x"})


class TestCollections:
    def test_bad_record_in_the_middle(self, org: Org, sf: Salesforce) -> None:
        """A bad record fails alone; the others are created; results keep input order."""
        body = {"allOrNone": False, "records": [_rec(), _rec(Email="broken"), _rec(LastName="Ito")]}
        results: Any = sf.restful("composite/sobjects", method="POST", json=body)
        assert [r["success"] for r in results] == [True, False, True]
        assert results[1] == {
            "success": False,
            "errors": [
                {
                    "statusCode": "INVALID_EMAIL_ADDRESS",
                    "message": "Email: invalid email address: broken",
                    "fields": ["Email"],
                }
            ],
        }
        assert len(org.state.rows("Lead")) == 2

    def test_all_or_none_rolls_back(self, org: Org, sf: Salesforce) -> None:
        """With allOrNone one failure rolls everything back."""
        body = {"allOrNone": True, "records": [_rec(), _rec(LastName=None), _rec()]}
        results: Any = sf.restful("composite/sobjects", method="POST", json=body)
        assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
        assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        assert org.state.rows("Lead") == []

    def test_201_records_refused(self, sf: Salesforce) -> None:
        """More than 200 records is EXCEEDED_ID_LIMIT for the whole call."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.restful(
                "composite/sobjects", method="POST", json={"records": [_rec() for _ in range(201)]}
            )
        content: Any = info.value.content
        assert content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"

    def test_upsert_collection(self, org: Org, sf: Salesforce) -> None:
        """PATCH composite/sobjects/Lead/HubSpot_Contact_Id__c reports created per record."""
        org.lead(HubSpot_Contact_Id__c="hs-1")
        records = [_rec(HubSpot_Contact_Id__c=f"hs-{n}") for n in range(1, 201)]
        results: Any = sf.restful(
            "composite/sobjects/Lead/HubSpot_Contact_Id__c",
            method="PATCH",
            json={"allOrNone": False, "records": records},
        )
        assert len(results) == 200 and all(r["success"] for r in results)
        assert [r["created"] for r in results[:2]] == [False, True]
        assert len(org.state.rows("Lead")) == 200

    def test_duplicate_value_in_collection(self, org: Org, sf: Salesforce) -> None:
        """Creating a second lead with a taken HubSpot_Contact_Id__c is DUPLICATE_VALUE."""
        taken = org.lead(HubSpot_Contact_Id__c="hs-9")
        results: Any = sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [_rec(HubSpot_Contact_Id__c="HS-9")]},
        )
        error = results[0]["errors"][0]
        assert error["statusCode"] == "DUPLICATE_VALUE" and taken in error["message"]


def _parser_error(kind: str, token: str, value: str) -> list[dict[str, str]]:
    """The whole-request answer to a value that does not fit its field's type."""
    return [
        {
            "message": f"Cannot deserialize instance of {kind} from {token} value {value} or "
            "request may be missing a required field",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]


def _opportunity(**fields: Any) -> dict[str, Any]:
    base = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-02-01"}
    return {"attributes": {"type": "Opportunity"}, **base, **fields}


class TestCollectionsReadTheWholeBodyFirst:
    """A value that does not fit its field's type fails the whole collection request with
    400 JSON_PARSER_ERROR, whatever allOrNone says, and nothing of the request is stored:
    not the records before the bad one, not the ones after it."""

    @pytest.mark.parametrize("all_or_none", [False, True])
    @pytest.mark.parametrize(
        ("bad", "expected"),
        [
            (_rec(Lead_Score__c="high"), _parser_error("double", "VALUE_STRING", "high")),
            (_rec(BANT_Budget__c="maybe"), _parser_error("boolean", "VALUE_STRING", "maybe")),
            (_rec(MQL_Date__c="soon"), _parser_error("datetime", "VALUE_STRING", "soon")),
            (_rec(Campaign__c=True), _parser_error("string", "VALUE_TRUE", "True")),
            (
                _opportunity(CloseDate="next week"),
                _parser_error("date", "VALUE_STRING", "next week"),
            ),
            (_opportunity(Amount="lots"), _parser_error("currency", "VALUE_STRING", "lots")),
        ],
    )
    def test_create(
        self,
        org: Org,
        sf: Salesforce,
        bad: dict[str, Any],
        expected: list[dict[str, str]],
        all_or_none: bool,
    ) -> None:
        """POST composite/sobjects: two good records, then the bad one: 400, nothing created."""
        body = {"allOrNone": all_or_none, "records": [_rec(), _opportunity(), bad, _rec()]}
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.restful("composite/sobjects", method="POST", json=body)
        assert info.value.status == 400
        assert info.value.content == expected
        assert org.state.rows("Lead") == [] and org.state.rows("Opportunity") == []

    def test_update(self, org: Org, sf: Salesforce) -> None:
        """PATCH composite/sobjects: the valid update before the bad one is not applied."""
        first, second = org.lead(LastName="Ito"), org.lead(LastName="Kato")
        before = {r["Id"]: dict(r) for r in org.state.rows("Lead")}
        org.state.clock.advance(timedelta(minutes=5))  # an applied update would move them
        records = [
            {"attributes": {"type": "Lead"}, "Id": first, "LastName": "Ito 2"},
            {"attributes": {"type": "Lead"}, "Id": second, "MQL_Date__c": "yesterday"},
        ]
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.restful(
                "composite/sobjects",
                method="PATCH",
                json={"allOrNone": False, "records": records},
            )
        assert info.value.content == _parser_error("datetime", "VALUE_STRING", "yesterday")
        assert {r["Id"]: r for r in org.state.rows("Lead")} == before

    @pytest.mark.parametrize(
        ("bad", "expected"),
        [
            ({"Lead_Score__c": "high"}, _parser_error("double", "VALUE_STRING", "high")),
            (
                {"MQL_Date__c": "2026-13-45"},
                _parser_error("datetime", "VALUE_STRING", "2026-13-45"),
            ),
            ({"HubSpot_Contact_Id__c": False}, _parser_error("string", "VALUE_FALSE", "False")),
        ],
    )
    def test_upsert(
        self, org: Org, sf: Salesforce, bad: dict[str, Any], expected: list[dict[str, str]]
    ) -> None:
        """PATCH composite/sobjects/Lead/HubSpot_Contact_Id__c: no per-record DUPLICATE_VALUE
        (or any other per-record result) for a value of the wrong type; the whole call is
        refused and neither the new lead nor the update before the bad record is stored."""
        existing = org.lead(HubSpot_Contact_Id__c="hs-2", LastName="Kato")
        before = org.state.get("Lead", existing)
        records = [
            _rec(HubSpot_Contact_Id__c="hs-1"),
            _rec(HubSpot_Contact_Id__c="hs-2", LastName="Kato 2"),
            {**_rec(HubSpot_Contact_Id__c="hs-3"), **bad},
            _rec(HubSpot_Contact_Id__c="hs-4"),
        ]
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.restful(
                "composite/sobjects/Lead/HubSpot_Contact_Id__c",
                method="PATCH",
                json={"allOrNone": False, "records": records},
            )
        assert info.value.status == 400
        assert info.value.content == expected
        assert org.state.rows("Lead") == [before]

    def test_record_errors_stay_per_record(self, org: Org, sf: Salesforce) -> None:
        """Errors Salesforce reports per record are still 200 results beside the successes,
        DUPLICATE_VALUE included for an external ID that several leads really share."""
        for _ in range(2):  # as data loaded before the field was made unique
            org.state.force_value("Lead", org.lead(), "HubSpot_Contact_Id__c", "dup")
        records = [
            _rec(HubSpot_Contact_Id__c="hs-1"),
            _rec(HubSpot_Contact_Id__c="hs-2", LastName=None),
            _rec(HubSpot_Contact_Id__c="hs-3", Status="Hot"),
            _rec(HubSpot_Contact_Id__c="hs-4", Campaign__c="x" * 256),
            _rec(HubSpot_Contact_Id__c="dup"),
            _rec(HubSpot_Contact_Id__c="hs-6", Lead_Score__c="42.5"),
        ]
        results: Any = sf.restful(
            "composite/sobjects/Lead/HubSpot_Contact_Id__c",
            method="PATCH",
            json={"allOrNone": False, "records": records},
        )
        codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]
        assert codes == [
            None,
            "REQUIRED_FIELD_MISSING",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "STRING_TOO_LONG",
            "DUPLICATE_VALUE",
            None,
        ]
        assert [r["created"] for r in results if r["success"]] == [True, True]
        (six,) = org.state.by_external_id("Lead", "HubSpot_Contact_Id__c", "hs-6")
        assert six["Lead_Score__c"] == 42.5
