"""The engine: records to canonical values and leads, leads to CRM values, both ways."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mappings.exceptions import RecordMappingError
from mappings.fieldmap import CANONICAL_FIELDS, FieldMap, load_default_field_map
from mappings.model import Assessment, AxisAssessment, Bant, Fit, Lead, LeadTimes, Score, Stage
from tests.mappings.support import full_lead, load_text

_TRANSFORMS = {
    "datetime": "    transform: [{datetime: iso}]\n",
    "reasons": "    transform: [{join: lines}]\n",
}


def everything_map(tmp_path: Path, system: str) -> FieldMap:
    """A map in which every canonical field a lead holds travels both ways."""
    lines = [f"system: {system}", f"object: {'contacts' if system == 'hubspot' else 'Lead'}"]
    lines.append("fields:")
    for name, field in CANONICAL_FIELDS.items():
        if field.write_only or name == "recycle_reason":
            continue
        crm = name.replace(".", "_") if system == "hubspot" else name.replace(".", "_") + "__c"
        lines.append(f"  {name}:\n    field: {crm}\n    direction: both")
        lines.append(_TRANSFORMS.get(field.kind, "").rstrip("\n"))
    return load_text(tmp_path, "\n".join(line for line in lines if line) + "\n")


def as_record(field_map: FieldMap, values: dict[str, Any], **read_only: Any) -> dict[str, Any]:
    """What the CRM would return after leadloop wrote `values` (plus its own read-only fields)."""
    if field_map.system == "hubspot":
        return {"id": read_only.get("hs_object_id", "1"), "properties": {**values, **read_only}}
    return {"attributes": {"type": "Lead"}, **values, **read_only}


class TestRoundTrips:
    @pytest.mark.parametrize("system", ["hubspot", "salesforce"])
    def test_every_canonical_field_survives_a_round_trip(self, tmp_path: Path, system: str) -> None:
        """Written and read back, every canonical field of a full lead comes back unchanged."""
        field_map = everything_map(tmp_path, system)
        lead = full_lead()
        back = field_map.to_lead(as_record(field_map, field_map.from_lead(lead)), Lead(lead.key))
        expected = dataclasses.replace(
            lead,
            score=Score(total=lead.score.total, reasons=lead.score.reasons),
            times=dataclasses.replace(lead.times, first_seen=None, recycled_at=None),
        )
        assert back == expected

    def test_shipped_salesforce_map_round_trip(self) -> None:
        """Through the Salesforce map, what sales can see comes back as it went out."""
        field_map = load_default_field_map("salesforce")
        lead = full_lead()
        record = as_record(
            field_map,
            field_map.from_lead(lead),
            Id=lead.salesforce_id,
            Owner={"attributes": {"type": "User"}, "Email": lead.fit.owner},
        )
        back = field_map.to_lead(record, Lead(lead.key))
        assert back == Lead(
            key=lead.key,
            email=lead.email,
            first_name="太郎",
            last_name="山田",
            hubspot_id="51",
            salesforce_id="00Q5g00000AbCdEEAV",
            fit=Fit(
                company="株式会社サンプル製作所",
                title="情報システム部 部長",
                industry="製造業",
                employees=300,
                country="日本",
                owner="hanako.suzuki@example.co.jp",
            ),
            stage="recycled",
            stage_reason="来期の予算確定後に再提案",
            # BANT need was not asked yet: a checkbox cannot say so, it reads as not confirmed.
            bant=Bant(budget=True, authority=True, need=False, timeline=False),
            assessment=Assessment(
                problem=AxisAssessment(observed="vague"),
                solution=AxisAssessment(observed="comparing"),
                decision=AxisAssessment(observed="consensus"),
                timeline=AxisAssessment(observed="next_term"),
            ),
        )

    def test_shipped_hubspot_map_round_trip(self) -> None:
        """Through the HubSpot map, the contact's own fields come back; employees as the band's
        lower bound."""
        field_map = load_default_field_map("hubspot")
        lead = full_lead()
        record = as_record(
            field_map,
            field_map.from_lead(lead),
            hs_object_id="51",
            hs_analytics_source="ORGANIC_SEARCH",
        )
        back = field_map.to_lead(record, Lead(lead.key))
        assert back == Lead(
            key=lead.key,
            email=lead.email,
            first_name="太郎",
            last_name="山田",
            hubspot_id="51",
            fit=Fit(
                company="株式会社サンプル製作所",
                title="情報システム部 部長",
                industry="製造業",
                employees=100,
                country="日本",
                source="ORGANIC_SEARCH",
            ),
        )


class TestWriting:
    def test_hubspot_gets_text_for_every_property(self) -> None:
        """HubSpot values are all strings: numbers, booleans and times included."""
        written = load_default_field_map("hubspot").from_lead(full_lead())
        assert all(isinstance(value, str) for value in written.values())
        assert written["leadloop_score"] == "65"
        assert written["leadloop_bant_budget"] == "true"
        assert written["leadloop_bant_timeline"] == "false"
        assert written["leadloop_mql_date"] == "2026-01-08T05:20:11.000Z"
        assert written["numemployees"] == "100-500"
        assert written["leadloop_score_reasons"] == (
            "content_download +10 ×2\nunsubscribe -20\n決裁者の役職 +15"
        )

    def test_hubspot_clears_what_the_lead_does_not_know(self) -> None:
        """An unknown value is written as "" so HubSpot clears the property."""
        written = load_default_field_map("hubspot").from_lead(full_lead())
        assert written["leadloop_bant_need"] == ""
        assert load_default_field_map("hubspot").from_lead(Lead("k"))["jobtitle"] == ""

    def test_salesforce_gets_json_types(self) -> None:
        """Salesforce values keep their JSON types: numbers, booleans, text."""
        written = load_default_field_map("salesforce").from_lead(full_lead())
        assert written["Lead_Score__c"] == 65
        assert written["NumberOfEmployees"] == 300
        assert written["BANT_Budget__c"] is True
        assert written["MQL_Date__c"] == "2026-01-08T05:20:11.000+0000"
        assert written["Status"] == "Recycled"
        assert written["Recycle_Reason__c"] == "来期の予算確定後に再提案"

    def test_salesforce_required_fields_get_placeholders(self) -> None:
        """A lead without last name or company still satisfies Salesforce's required fields."""
        written = load_default_field_map("salesforce").from_lead(Lead("k", email="a@example.com"))
        assert written["LastName"] == "(unknown)"
        assert written["Company"] == "[not provided]"
        assert written["BANT_Need__c"] is False
        assert written["FirstName"] is None

    def test_recycle_reason_is_written_only_while_recycled_or_disqualified(self) -> None:
        """A requalified lead no longer carries its old recycle reason to the CRM."""
        field_map = load_default_field_map("salesforce")
        recycled = full_lead()
        requalified = dataclasses.replace(recycled, stage="mql")
        assert field_map.from_lead(recycled)["Recycle_Reason__c"] == "来期の予算確定後に再提案"
        assert field_map.from_lead(requalified)["Recycle_Reason__c"] is None

    def test_only_limits_the_canonical_fields_written(self) -> None:
        """`only` names canonical fields; every CRM field they map to is written, nothing else."""
        field_map = load_default_field_map("hubspot")
        written = field_map.from_lead(full_lead(), only={"stage", "score.total"})
        assert written == {
            "lifecyclestage": "lead",
            "hs_lead_status": "BAD_TIMING",
            "leadloop_score": "65",
        }

    def test_only_refuses_unknown_canonical_names(self) -> None:
        """A typo in `only` is an error, not an empty write."""
        with pytest.raises(ValueError, match="unknown canonical fields: scores"):
            load_default_field_map("hubspot").from_lead(full_lead(), only={"scores"})

    @pytest.mark.parametrize(
        ("stage", "lifecycle", "lead_status"),
        [
            ("lead", "lead", "NEW"),
            ("mql", "marketingqualifiedlead", "OPEN"),
            ("sql", "salesqualifiedlead", "IN_PROGRESS"),
            ("opportunity", "opportunity", "OPEN_DEAL"),
            ("won", "customer", "OPEN_DEAL"),
            ("lost", "other", "OPEN_DEAL"),
            ("recycled", "lead", "BAD_TIMING"),
            ("disqualified", "other", "UNQUALIFIED"),
        ],
    )
    def test_hubspot_stage_properties(self, stage: Stage, lifecycle: str, lead_status: str) -> None:
        """Each stage has its HubSpot lifecycle stage and lead status."""
        lead = dataclasses.replace(full_lead(), stage=stage)
        written = load_default_field_map("hubspot").from_lead(lead, only={"stage"})
        assert written == {"lifecyclestage": lifecycle, "hs_lead_status": lead_status}


OPPORTUNITY_MAP = """\
system: salesforce
object: Opportunity
fields:
  outcome.won:
    field: IsWon
  outcome.amount:
    field: Amount
"""


class TestReading:
    def test_salesforce_status_reads_only_what_sales_did(self) -> None:
        """Open statuses say nothing; recycled, disqualified and converted move the lead."""
        field_map = load_default_field_map("salesforce")
        base = Lead("k", stage="mql")
        read = {
            status: field_map.to_lead({"Status": status}, base).stage
            for status in (
                "Open - Not Contacted",
                "Working - Contacted",
                "Recycled",
                "Disqualified",
                "Closed - Converted",
                "Closed - Not Converted",
            )
        }
        assert read == {
            "Open - Not Contacted": "mql",
            "Working - Contacted": "mql",
            "Recycled": "recycled",
            "Disqualified": "disqualified",
            "Closed - Converted": "opportunity",
            "Closed - Not Converted": "disqualified",
        }

    def test_unknown_status_is_a_record_problem_naming_the_fix(self) -> None:
        """A status the map does not know quarantines the record with what to add."""
        with pytest.raises(RecordMappingError) as caught:
            load_default_field_map("salesforce").to_values({"Status": "Nurturing"})
        (problem,) = caught.value.problems
        assert (problem.canonical_field, problem.crm_field, problem.value) == (
            "stage",
            "Status",
            "Nurturing",
        )
        assert "add it under read_extra" in problem.message
        assert "Recycled" in problem.message

    def test_every_unreadable_value_is_listed(self) -> None:
        """All bad values of a record are reported together."""
        with pytest.raises(RecordMappingError) as caught:
            load_default_field_map("salesforce").to_values(
                {"Status": "Nurturing", "NumberOfEmployees": "about 300", "BANT_Need__c": "maybe"}
            )
        assert [p.crm_field for p in caught.value.problems] == [
            "NumberOfEmployees",
            "Status",
            "BANT_Need__c",
        ]
        assert str(caught.value).startswith("NumberOfEmployees (fit.employees): 'about 300' is not")

    def test_placeholders_read_back_as_no_value(self) -> None:
        """The required-field placeholders never become a lead's name or company."""
        values = load_default_field_map("salesforce").to_values(
            {"LastName": "(unknown)", "Company": "[not provided]"}
        )
        assert values == {"last_name": None, "fit.company": None}

    def test_relationship_field_is_read_through_the_nested_record(self) -> None:
        """`Owner.Email` reads the nested Owner record; a null Owner reads as no owner."""
        field_map = load_default_field_map("salesforce")
        owner = {"attributes": {"type": "User", "url": "/x"}, "Email": "sato@example.co.jp"}
        assert field_map.to_values({"Owner": owner})["fit.owner"] == "sato@example.co.jp"
        assert field_map.to_values({"Owner": None})["fit.owner"] is None
        assert "fit.owner" not in field_map.to_values({"OwnerId": "005x"})

    def test_fields_absent_from_the_record_are_left_alone(self) -> None:
        """Only fields the record holds are applied; the rest of the lead stays."""
        field_map = load_default_field_map("salesforce")
        base = full_lead()
        assert field_map.to_lead({"Title": "取締役"}, base) == dataclasses.replace(
            base, fit=dataclasses.replace(base.fit, title="取締役")
        )

    def test_email_is_normalized_on_read(self) -> None:
        """E-mail addresses are compared and stored trimmed and in lower case."""
        field_map = load_default_field_map("salesforce")
        assert field_map.to_values({"Email": " Taro.Yamada@Example.CO.JP "}) == {
            "email": "taro.yamada@example.co.jp"
        }

    def test_salesforce_field_names_match_in_any_case(self) -> None:
        """Salesforce field names are case-insensitive, so a row keyed `email` still reads."""
        assert load_default_field_map("salesforce").to_values({"email": "a@example.com"}) == {
            "email": "a@example.com"
        }

    def test_hubspot_cleared_and_never_set_values_read_as_no_value(self) -> None:
        """HubSpot answers "" for a cleared property and null for one never set."""
        values = load_default_field_map("hubspot").to_values(
            {"id": "7", "properties": {"jobtitle": "", "country": None, "numemployees": "1000+"}}
        )
        assert values == {"fit.title": None, "fit.country": None, "fit.employees": 1000}

    def test_hubspot_record_needs_its_properties(self) -> None:
        """A HubSpot record is the v3 object, not its properties alone."""
        with pytest.raises(TypeError, match="needs its 'properties'"):
            load_default_field_map("hubspot").to_values({"email": "a@example.com"})

    def test_read_extra_null_keeps_the_leads_value(self, tmp_path: Path) -> None:
        """A CRM value mapped to null on read says nothing about the canonical field."""
        field_map = load_text(
            tmp_path,
            """\
            system: hubspot
            object: contacts
            fields:
              assessment.timeline.observed:
                field: timing
                transform:
                  - value_map: {this_term: 今期, next_term: 来期, undecided: 未定}
                    read_extra: {確認中: null, 今年度: this_term}
            """,
        )
        base = Lead("k", assessment=Assessment(timeline=AxisAssessment(observed="next_term")))
        read = [
            field_map.to_lead({"properties": {"timing": value}}, base).assessment.timeline.observed
            for value in ("確認中", "今年度", "未定")
        ]
        assert read == ["next_term", "this_term", "undecided"]

    def test_outcome_amount_goes_with_an_outcome(self, tmp_path: Path) -> None:
        """An amount alone does not create an outcome; with `won` it does."""
        field_map = load_text(tmp_path, OPPORTUNITY_MAP)
        assert field_map.to_lead({"Amount": 500.5}, Lead("k")).outcome is None
        won = field_map.to_lead({"IsWon": True, "Amount": 1200000.5}, Lead("k")).outcome
        assert won is not None
        assert (won.won, won.amount) == (True, Decimal("1200000.5"))

    def test_a_value_read_again_reads_the_same_and_equal_values_keep_their_type(
        self, tmp_path: Path
    ) -> None:
        """Reading remembers plain raw values, by type: True and 1 are not the same value to
        a yes/no field, nor 1 and 1.0 to an amount."""
        field_map = load_text(tmp_path, OPPORTUNITY_MAP)
        for _ in range(2):
            assert field_map.to_values({"IsWon": True, "Amount": 1}) == {
                "outcome.won": True,
                "outcome.amount": Decimal(1),
            }
        with pytest.raises(RecordMappingError, match="not true or false"):
            field_map.to_values({"IsWon": 1})
        assert str(field_map.to_values({"Amount": 1.0})["outcome.amount"]) == "1.0"

    def test_read_fields_list_what_to_ask_the_crm_for(self) -> None:
        """The SOQL SELECT list: every read field once, relationships dotted."""
        fields = load_default_field_map("salesforce").read_fields
        assert fields[:4] == ("Email", "FirstName", "LastName", "Id")
        assert "Owner.Email" in fields
        assert "Lead_Score__c" not in fields

    def test_times_read_are_utc(self, tmp_path: Path) -> None:
        """Times come out aware and in UTC, whatever offset the CRM sent."""
        field_map = everything_map(tmp_path, "salesforce")
        times = field_map.to_lead({"times_sql_at__c": "2026-01-13T10:00:00+09:00"}, Lead("k")).times
        assert times == LeadTimes(sql_at=times.sql_at)
        assert times.sql_at is not None
        assert times.sql_at.isoformat() == "2026-01-13T01:00:00+00:00"
