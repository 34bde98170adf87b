"""Recorded answers in the shapes the real APIs return: a HubSpot v3 batch read with
propertiesWithHistory, a Salesforce SOQL page of Leads with a nested Owner, and a page of the
legacy e-mail events API."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.activities import ActivityClassifier
from mappings.fieldmap import load_default_field_map
from mappings.model import Assessment, AxisAssessment, Bant, Fit, Lead
from tests.mappings.support import payload, utc


@pytest.fixture(scope="module")
def contacts() -> dict[str, dict[str, Any]]:
    answer = payload("hubspot_contacts_batch_read.json")
    assert answer["status"] == "COMPLETE"
    return {record["id"]: record for record in answer["results"]}


@pytest.fixture(scope="module")
def leads() -> list[dict[str, Any]]:
    answer = payload("salesforce_lead_query.json")
    assert answer["done"] is True and answer["totalSize"] == len(answer["records"])
    records: list[dict[str, Any]] = answer["records"]
    return records


@pytest.fixture(scope="module")
def classifier() -> ActivityClassifier:
    found = load_default_field_map("hubspot").activities
    assert found is not None
    return found


class TestHubSpotContacts:
    def test_japanese_contact_becomes_a_lead(self, contacts: dict[str, dict[str, Any]]) -> None:
        """A contact's properties map to the lead's identity and fit."""
        lead = load_default_field_map("hubspot").to_lead(contacts["51"], Lead("lead-51"))
        assert lead == Lead(
            key="lead-51",
            email="taro.yamada@example.co.jp",
            first_name="太郎",
            last_name="山田",
            hubspot_id="51",
            fit=Fit(
                company="株式会社サンプル製作所",
                title="情報システム部 部長",
                industry="製造業",
                employees=100,
                country="Japan",
                source="ORGANIC_SEARCH",
            ),
        )

    def test_cleared_and_unset_properties_are_empty(
        self, contacts: dict[str, dict[str, Any]]
    ) -> None:
        """ "" (cleared) and null (never set) both read as no value."""
        values = load_default_field_map("hubspot").to_values(contacts["52"])
        assert (values["fit.title"], values["fit.country"], values["fit.industry"]) == (None,) * 3
        assert values["fit.employees"] == 1000

    def test_history_becomes_form_and_page_activities(
        self, contacts: dict[str, dict[str, Any]], classifier: ActivityClassifier
    ) -> None:
        """Four submissions (one form twice) and two page views, oldest first."""
        found = classifier.contact_activities(contacts["51"], "lead-51")
        assert [(a.kind, a.occurred_at, a.detail.name or a.detail.url) for a in found] == [
            ("inquiry", utc(2025, 12, 1, 2, 15, 30, ms=120), "Contact us"),
            (
                "page_view",
                utc(2025, 12, 10, 2, 55),
                "https://www.example.co.jp/case-studies/manufacturing",
            ),
            (
                "webinar_attended",
                utc(2025, 12, 10, 3),
                "ウェビナー申込: 2025年12月 生産管理セミナー",
            ),
            (
                "webinar_attended",
                utc(2025, 12, 20, 1),
                "ウェビナー申込: 2025年12月 生産管理セミナー",
            ),
            ("page_view", utc(2026, 1, 8, 5, 18, 40, ms=3), "https://www.example.co.jp/pricing"),
            (
                "content_download",
                utc(2026, 1, 8, 5, 20, 11, ms=482),
                "【資料ダウンロード】製造業DX事例集",
            ),
        ]
        assert len({a.dedupe_key for a in found}) == 6

    def test_english_demo_request(
        self, contacts: dict[str, dict[str, Any]], classifier: ActivityClassifier
    ) -> None:
        """An English demo form is a demo request; an empty page history is no page view."""
        (found,) = classifier.contact_activities(contacts["52"], "lead-52")
        assert (found.kind, found.dedupe_key) == (
            "demo_request",
            "hubspot:form:52:1767744000000:Request a Demo",
        )


class TestSalesforceLeads:
    def test_recycled_lead_with_sales_feedback(self, leads: list[dict[str, Any]]) -> None:
        """Status, reason, owner, BANT and the four axes come back from a SOQL row."""
        lead = load_default_field_map("salesforce").to_lead(leads[0], Lead("lead-51", stage="sql"))
        assert lead == Lead(
            key="lead-51",
            email="taro.yamada@example.co.jp",
            first_name="太郎",
            last_name="山田",
            hubspot_id="51",
            salesforce_id="00Q5g00000AbCdEEAV",
            fit=Fit(
                company="株式会社サンプル製作所",
                title="情報システム部 部長",
                industry="製造業",
                employees=300,
                country="Japan",
                owner="hanako.suzuki@example.co.jp",
            ),
            stage="recycled",
            stage_reason="来期の予算確定後に再提案",
            bant=Bant(budget=False, authority=True, need=True, timeline=False),
            assessment=Assessment(
                problem=AxisAssessment(observed="vague"),
                solution=AxisAssessment(observed="comparing"),
                decision=AxisAssessment(observed="consensus"),
                timeline=AxisAssessment(observed="next_term"),
            ),
        )

    def test_converted_lead_with_placeholders(self, leads: list[dict[str, Any]]) -> None:
        """A converted lead reads as an opportunity; placeholders read as no name or company."""
        values = load_default_field_map("salesforce").to_values(leads[1])
        assert values["stage"] == "opportunity"
        assert (values["last_name"], values["fit.company"]) == (None, None)
        assert values["fit.owner"] == "ichiro.sato@example.co.jp"

    def test_working_status_keeps_the_leads_stage(self, leads: list[dict[str, Any]]) -> None:
        """ "Working - Contacted" does not make an SQL: the lead's stage stays."""
        lead = load_default_field_map("salesforce").to_lead(leads[2], Lead("k", stage="mql"))
        assert (lead.stage, lead.hubspot_id, lead.fit.employees) == ("mql", None, 45)


class TestEmailEventsPage:
    def test_page_of_events_becomes_activities(self, classifier: ActivityClassifier) -> None:
        """Of seven events, the unsubscribe, the click and the real open are activities."""
        page = payload("hubspot_email_events_page.json")
        found = [classifier.email_activity(e, "lead-51") for e in page["events"]]
        kinds = [(a.kind, a.dedupe_key) if a else None for a in found]
        assert kinds == [
            ("unsubscribe", "hubspot:email:f3a9b1c2-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            None,  # resubscribed
            ("email_click", "hubspot:email:a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d"),
            ("email_open", "hubspot:email:9b0c1d2e-3f4a-4b5c-9d6e-7f8a9b0c1d2e"),
            None,  # filtered by HubSpot (machine open)
            None,  # DELIVERED
            None,  # SENT
        ]
        click = found[2]
        assert click is not None
        assert click.detail.url == "https://www.example.co.jp/seminar/2026-02?utm_source=hs_email"
        assert click.occurred_at == utc(2026, 1, 8, 5, 40, 0, ms=250)
        assert click.detail.campaign == "310522001"
