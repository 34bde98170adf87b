"""SOQL through simple-salesforce: paging, relationships, operators, escaping, errors."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.salesforce.conftest import Org


def _seed(org: Org) -> dict[str, str]:
    user = org.state.add_user("Sato Hanako", "sato@example.jp")
    ids = {
        "obrien": org.lead(
            LastName="O'Brien",
            Email="ob@example.com",
            Lead_Score__c=80,
            OwnerId=user,
            NumberOfEmployees=50,
            Country="Japan",
        ),
        "smith": org.lead(
            LastName="Smith",
            Email="smith@example.com",
            Lead_Score__c=40,
            NumberOfEmployees=500,
            Country="Japan",
            Status="Working - Contacted",
        ),
        "yamada": org.lead(
            LastName="Yamada",
            FirstName="Taro",
            Lead_Score__c=None,
            Country="US",
            MQL_Date__c="2026-01-05T10:00:00Z",
        ),
    }
    return ids


class TestPaging:
    def test_query_all_iter_reads_three_pages(self, org: Org, sf: Salesforce) -> None:
        """4,500 leads come back over 2,000-record pages linked by nextRecordsUrl."""
        for n in range(4500):
            org.state.create("Lead", {"LastName": f"L{n:05d}", "Company": "C"})
        names = [
            r["LastName"] for r in sf.query_all_iter("SELECT LastName FROM Lead ORDER BY LastName")
        ]
        assert names == [f"L{n:05d}" for n in range(4500)]
        counts = org.control.counters.snapshot()
        assert counts["GET /services/data/{version}/query/"] == 1
        assert counts["GET /services/data/{version}/query/{cursor}"] == 2

    def test_first_page_shape(self, org: Org, sf: Salesforce) -> None:
        """A page has totalSize, done, nextRecordsUrl and records with attributes."""
        for n in range(2001):
            org.state.create("Lead", {"LastName": f"L{n}", "Company": "C"})
        page = sf.query("SELECT Id FROM Lead")
        assert page["totalSize"] == 2001 and page["done"] is False
        assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        assert page["nextRecordsUrl"].endswith("-2000")
        first = page["records"][0]
        assert first["attributes"] == {
            "type": "Lead",
            "url": f"/services/data/v59.0/sobjects/Lead/{first['Id']}",
        }
        assert len(first["Id"]) == 18 and first["Id"].startswith("00Q")

    def test_count_and_limit(self, org: Org, sf: Salesforce) -> None:
        """COUNT() answers totalSize only; LIMIT caps the result."""
        _seed(org)
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 3
        assert sf.query("SELECT Id FROM Lead LIMIT 2")["totalSize"] == 2


class TestRelationships:
    def test_owner_fields_are_nested(self, org: Org, sf: Salesforce) -> None:
        """Owner.Email and Owner.Name come back as a nested User object."""
        ids = _seed(org)
        rec = sf.query(
            f"SELECT Id, Owner.Email, Owner.Name FROM Lead WHERE Id = '{ids['obrien']}'"
        )["records"][0]
        assert rec["Owner"]["Email"] == "sato@example.jp"
        assert rec["Owner"]["Name"] == "Sato Hanako"
        assert rec["Owner"]["attributes"]["type"] == "User"

    def test_who_on_task(self, org: Org, sf: Salesforce) -> None:
        """A Task's Who.Id is the lead it was logged against; WHERE on WhoId works."""
        ids = _seed(org)
        org.state.log_call(ids["smith"], org.state.clock.now(), "First call")
        rec = sf.query(f"SELECT Subject, Who.Id, Type FROM Task WHERE WhoId = '{ids['smith']}'")[
            "records"
        ][0]
        assert rec["Who"]["Id"] == ids["smith"] and rec["Type"] == "Call"


WHERE_CASES: list[tuple[str, set[str]]] = [
    ("Lead_Score__c = 80", {"obrien"}),
    ("Lead_Score__c != 80", {"smith", "yamada"}),
    ("Lead_Score__c > 40", {"obrien"}),
    ("Lead_Score__c >= 40", {"obrien", "smith"}),
    ("Lead_Score__c < 80", {"smith"}),
    ("Lead_Score__c <= 80", {"obrien", "smith"}),
    ("Lead_Score__c = null", {"yamada"}),
    ("LastName IN ('smith', 'Yamada')", {"smith", "yamada"}),
    ("LastName NOT IN ('Smith')", {"obrien", "yamada"}),
    ("Email LIKE '%@example.com'", {"obrien", "smith"}),
    ("LastName LIKE 'Y_mada'", {"yamada"}),
    ("Country = 'Japan' AND NOT (NumberOfEmployees > 100)", {"obrien"}),
    ("Country = 'US' OR Status = 'Working - Contacted'", {"smith", "yamada"}),
    ("MQL_Date__c >= 2026-01-05T10:00:00Z", {"yamada"}),
    ("MQL_Date__c > 2026-01-05T18:00:00+09:00", {"yamada"}),
    ("MQL_Date__c > 2026-01-05T19:00:00+09:00", set()),
    ("CreatedDate < 2026-01-05T09:00:00.000+0000", set()),
    ("IsConverted = false AND BANT_Budget__c = true", set()),
]


class TestWhere:
    @pytest.mark.parametrize(("where", "expected"), WHERE_CASES)
    def test_operator(self, org: Org, sf: Salesforce, where: str, expected: set[str]) -> None:
        """Each WHERE operator selects exactly the leads the real service would."""
        ids = _seed(org)
        got = {r["Id"] for r in sf.query_all(f"SELECT Id FROM Lead WHERE {where}")["records"]}
        assert got == {ids[k] for k in expected}

    def test_order_by_nulls(self, org: Org, sf: Salesforce) -> None:
        """ORDER BY DESC NULLS LAST and ASC NULLS FIRST."""
        _seed(org)
        desc = sf.query("SELECT LastName FROM Lead ORDER BY Lead_Score__c DESC NULLS LAST")
        assert [r["LastName"] for r in desc["records"]] == ["O'Brien", "Smith", "Yamada"]
        asc = sf.query("SELECT LastName FROM Lead ORDER BY Lead_Score__c ASC NULLS FIRST")
        assert [r["LastName"] for r in asc["records"]] == ["Yamada", "Smith", "O'Brien"]


class TestEscaping:
    def test_escaped_quote_matches(self, org: Org, sf: Salesforce) -> None:
        """'O\\'Brien' matches the lead named O'Brien."""
        ids = _seed(org)
        got = sf.query("SELECT Id FROM Lead WHERE LastName = 'O\\'Brien'")["records"]
        assert [r["Id"] for r in got] == [ids["obrien"]]

    def test_injection_in_escaped_literal_matches_nothing(self, org: Org, sf: Salesforce) -> None:
        """A value "' OR Name != '" inside a properly escaped literal is just a string."""
        _seed(org)
        value = "' OR Name != '".replace("\\", "\\\\").replace("'", "\\'")
        got = sf.query(f"SELECT Id FROM Lead WHERE LastName = '{value}'")
        assert got["totalSize"] == 0


class TestErrors:
    @pytest.mark.parametrize(
        "soql",
        [
            "SELECT Id FROM Lead WHERE",
            "SELECT FROM Lead",
            "SELECT Id FROM Lead WHERE LastName = 'open",
            "SELECT Id Lead",
        ],
    )
    def test_malformed_query(self, sf: Salesforce, soql: str) -> None:
        """Syntax errors answer 400 MALFORMED_QUERY with the real message layout."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query(soql)
        content: Any = info.value.content
        assert content[0]["errorCode"] == "MALFORMED_QUERY"
        assert "ERROR at Row:1:Column:" in content[0]["message"]

    def test_invalid_field(self, sf: Salesforce) -> None:
        """An unknown column answers INVALID_FIELD with the real wording."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query("SELECT Id, Score__c FROM Lead")
        content: Any = info.value.content
        assert content[0]["errorCode"] == "INVALID_FIELD"
        assert "No such column 'Score__c' on entity 'Lead'" in content[0]["message"]

    def test_quoted_datetime_is_refused(self, sf: Salesforce) -> None:
        """A quoted datetime literal is INVALID_FIELD, as on the real service."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z'")
        content: Any = info.value.content
        assert content[0]["errorCode"] == "INVALID_FIELD"
        assert (
            "must be of type dateTime and should not be enclosed in quotes" in content[0]["message"]
        )

    def test_unknown_object(self, sf: Salesforce) -> None:
        """An unknown sObject is INVALID_TYPE."""
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query("SELECT Id FROM Contactz")
        content: Any = info.value.content
        assert content[0]["errorCode"] == "INVALID_TYPE"


class TestQueryAll:
    def test_deleted_and_merged_only_in_query_all(self, org: Org, sf: Salesforce) -> None:
        """Deleted and merged-away leads show in queryAll with IsDeleted, not in query."""
        ids = _seed(org)
        org.state.delete_lead(ids["smith"])
        org.state.merge_leads(ids["obrien"], ids["yamada"])
        live = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]}
        assert live == {ids["obrien"]}
        every = sf.query_all(
            "SELECT Id, IsDeleted, MasterRecordId FROM Lead", include_deleted=True
        )["records"]
        by_id = {r["Id"]: r for r in every}
        assert by_id[ids["smith"]]["IsDeleted"] is True
        assert by_id[ids["yamada"]]["MasterRecordId"] == ids["obrien"]


class TestExternalIdLookup:
    def test_indexed_equality(self, org: Org, sf: Salesforce) -> None:
        """WHERE on the external ID is case-insensitive and skips deleted leads."""
        kept = org.lead(HubSpot_Contact_Id__c="hs-1", Country="Japan")
        gone = org.lead(HubSpot_Contact_Id__c="hs-2")
        org.state.delete_lead(gone)
        soql = "SELECT Id FROM Lead WHERE HubSpot_Contact_Id__c = '{}' AND Country = 'japan'"
        assert [r["Id"] for r in sf.query(soql.format("HS-1"))["records"]] == [kept]
        assert sf.query(soql.format("hs-2"))["totalSize"] == 0
