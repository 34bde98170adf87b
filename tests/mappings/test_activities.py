"""HubSpot activity: form and asset names classified, history and e-mail events turned into
activities whose dedupe keys do not change when the same data is read again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mappings.activities import ActivityClassifier
from mappings.exceptions import RecordMappingError
from mappings.fieldmap import load_default_field_map
from tests.mappings.support import load_text, problems, utc


@pytest.fixture
def classifier() -> ActivityClassifier:
    found = load_default_field_map("hubspot").activities
    assert found is not None
    return found


def entry(value: str, timestamp: str, source: str = "FORM") -> dict[str, Any]:
    return {"value": value, "timestamp": timestamp, "sourceType": source, "sourceId": "x"}


def contact(history: dict[str, list[dict[str, Any]]], contact_id: str = "51") -> dict[str, Any]:
    """A v3 contact read with propertiesWithHistory (newest entry first, as HubSpot sends it)."""
    return {"id": contact_id, "properties": {}, "propertiesWithHistory": history}


def submissions(*forms: tuple[str, str]) -> dict[str, list[dict[str, Any]]]:
    """History of `forms` (name, ISO time), oldest first in the arguments."""
    names = [entry(name, at) for name, at in reversed(forms)]
    dates = [entry(at, at) for _, at in reversed(forms)]
    return {"recent_conversion_event_name": names, "recent_conversion_date": dates}


class TestFormNames:
    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("【資料ダウンロード】製造業DX事例集", "content_download"),
            ("ホワイトペーパー: 在庫最適化の5つの方法", "content_download"),
            ("Whitepaper - Lean IT", "content_download"),
            ("2月開催 生産管理セミナー申込", "webinar_attended"),
            ("WEBINAR registration", "webinar_attended"),
            ("ウェビナー視聴", "webinar_attended"),
            ("お問い合わせフォーム", "inquiry"),
            ("Contact us", "inquiry"),
            ("デモのお問い合わせ", "demo_request"),
            ("Request a Demo", "demo_request"),
            ("お見積り依頼", "quote_request"),
            ("Get a Quote", "quote_request"),
            ("ニュースレター登録", "form_submit"),
            ("", "form_submit"),
        ],
    )
    def test_japanese_and_english_names(
        self, classifier: ActivityClassifier, name: str, kind: str
    ) -> None:
        """Names are matched by parts, in either language, ignoring case; no match is a plain
        form submission."""
        assert classifier.form_kind(name) == kind

    def test_first_match_wins(self, tmp_path: Path) -> None:
        """With inquiry listed before demo, "デモのお問い合わせ" is an inquiry: order decides."""
        field_map = load_text(
            tmp_path,
            """\
            system: hubspot
            object: contacts
            fields:
              email:
                field: email
            activities:
              form_names:
                inquiry: [お問い合わせ]
                demo_request: [デモ]
            """,
        )
        assert field_map.activities is not None
        assert field_map.activities.form_kind("デモのお問い合わせ") == "inquiry"
        assert field_map.activities.form_kind("デモ申込") == "demo_request"

    def test_unknown_kind_is_a_load_error(self, tmp_path: Path) -> None:
        """Only the kinds a form can be are allowed as form_names keys."""
        found = problems(
            tmp_path,
            "system: hubspot\nobject: contacts\nfields:\n  email:\n    field: email\n"
            "activities:\n  form_names:\n    email_open: [開封]\n",
        )
        assert found[0][:2] == (8, "activities.form_names.email_open")
        assert found[0][2].startswith("'email_open' is not allowed; allowed: 'content_download',")


class TestContactHistory:
    def test_each_submission_is_one_activity_with_its_form_name(
        self, classifier: ActivityClassifier
    ) -> None:
        """Every recent-conversion date is a submission, named by the form in effect then,
        so submitting the same form twice counts twice."""
        record = contact(
            submissions(
                ("Contact us", "2025-12-01T02:15:30.120Z"),
                ("ウェビナー申込", "2025-12-10T03:00:00.000Z"),
            )
        )
        record["propertiesWithHistory"]["recent_conversion_date"].insert(
            0, entry("2025-12-20T01:00:00.000Z", "2025-12-20T01:00:00.000Z")
        )
        found = classifier.contact_activities(record, "lead-1")
        assert [(a.kind, a.occurred_at, a.detail.name) for a in found] == [
            ("inquiry", utc(2025, 12, 1, 2, 15, 30, ms=120), "Contact us"),
            ("webinar_attended", utc(2025, 12, 10, 3), "ウェビナー申込"),
            ("webinar_attended", utc(2025, 12, 20, 1), "ウェビナー申込"),
        ]
        assert {a.lead_key for a in found} == {"lead-1"}

    def test_page_views_come_from_the_last_url_history(
        self, classifier: ActivityClassifier
    ) -> None:
        """Each change of the last page seen is a page view with its URL."""
        record = contact(
            {
                "hs_analytics_last_url": [
                    entry("https://example.co.jp/pricing", "2026-01-08T05:18:40.003Z", "ANALYTICS"),
                    entry("https://example.co.jp/cases", "2025-12-10T02:55:00Z", "ANALYTICS"),
                ]
            }
        )
        found = classifier.contact_activities(record, "lead-1")
        assert [(a.kind, a.detail.url) for a in found] == [
            ("page_view", "https://example.co.jp/cases"),
            ("page_view", "https://example.co.jp/pricing"),
        ]
        assert found[1].dedupe_key == "hubspot:page:51:1767849520003"

    def test_dedupe_keys_are_stable_across_rereads(self, classifier: ActivityClassifier) -> None:
        """Reading the contact again, even after a new submission, keeps the old keys."""
        first = contact(submissions(("資料ダウンロード", "2026-01-08T05:20:11.482Z")))
        later = contact(
            submissions(
                ("資料ダウンロード", "2026-01-08T05:20:11.482Z"),
                ("デモ申込", "2026-01-09T00:00:00Z"),
            )
        )
        keys_first = [a.dedupe_key for a in classifier.contact_activities(first, "lead-1")]
        keys_again = [a.dedupe_key for a in classifier.contact_activities(first, "lead-1")]
        keys_later = [a.dedupe_key for a in classifier.contact_activities(later, "lead-1")]
        assert keys_first == keys_again == ["hubspot:form:51:1767849611482:資料ダウンロード"]
        assert keys_later == [*keys_first, "hubspot:form:51:1767916800000:デモ申込"]

    def test_sdk_datetimes_and_epoch_ms_give_the_same_keys(
        self, classifier: ActivityClassifier
    ) -> None:
        """The SDK's `to_dict()` gives datetimes; the raw API gives text: the keys agree."""
        raw = contact(submissions(("資料ダウンロード", "2026-01-08T05:20:11.482Z")))
        sdk = contact(
            {
                "recent_conversion_event_name": [
                    {"value": "資料ダウンロード", "timestamp": utc(2026, 1, 8, 5, 20, 11)}
                ],
                "recent_conversion_date": [
                    {"value": "1767849611000", "timestamp": utc(2026, 1, 8, 5, 20, 11)}
                ],
            }
        )
        assert [a.dedupe_key for a in classifier.contact_activities(sdk, "k")] == [
            "hubspot:form:51:1767849611000:資料ダウンロード"
        ]
        assert classifier.contact_activities(raw, "k")[0].occurred_at.tzinfo is not None

    def test_without_history_the_latest_submission_is_seen(
        self, classifier: ActivityClassifier
    ) -> None:
        """A contact read without history still yields its most recent submission."""
        record = {
            "id": "52",
            "properties": {
                "recent_conversion_event_name": "Request a Demo",
                "recent_conversion_date": "2026-01-07T00:00:00.000Z",
            },
        }
        (found,) = classifier.contact_activities(record, "lead-2")
        assert (found.kind, found.occurred_at) == ("demo_request", utc(2026, 1, 7))
        assert found.dedupe_key == "hubspot:form:52:1767744000000:Request a Demo"

    def test_a_contact_without_id_is_a_record_problem(self, classifier: ActivityClassifier) -> None:
        """Dedupe keys need the contact id; without it the record is quarantined."""
        with pytest.raises(RecordMappingError, match="a HubSpot contact needs its id"):
            classifier.contact_activities({"properties": {}}, "lead-1")


def event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{kind.lower()}",
        "created": 1767850307900,
        "type": kind,
        "recipient": "taro.yamada@example.co.jp",
        "emailCampaignId": 310522001,
        **extra,
    }


class TestEmailEvents:
    def test_open_and_click(self, classifier: ActivityClassifier) -> None:
        """OPEN is an e-mail open, CLICK an e-mail click with its URL, both with the campaign."""
        opened = classifier.email_activity(event("OPEN", filteredEvent=False), "lead-1")
        clicked = classifier.email_activity(event("CLICK", url="https://example.co.jp/s"), "lead-1")
        assert opened is not None and clicked is not None
        assert (opened.kind, opened.occurred_at) == (
            "email_open",
            utc(2026, 1, 8, 5, 31, 47, ms=900),
        )
        assert opened.detail.campaign == "310522001"
        assert (clicked.kind, clicked.detail.url) == ("email_click", "https://example.co.jp/s")
        assert clicked.dedupe_key == "hubspot:email:evt-click"

    def test_unsubscribe_is_a_status_change_to_unsubscribed(
        self, classifier: ActivityClassifier
    ) -> None:
        """A STATUSCHANGE counts only when it unsubscribes; a resubscribe is no activity."""
        unsubscribed = event(
            "STATUSCHANGE",
            portalSubscriptionStatus="UNSUBSCRIBED",
            subscriptions=[{"id": 4863821, "status": "UNSUBSCRIBED"}],
        )
        one_list = event("STATUSCHANGE", subscriptions=[{"id": 1, "status": "UNSUBSCRIBED"}])
        resubscribed = event(
            "STATUSCHANGE",
            portalSubscriptionStatus="SUBSCRIBED",
            subscriptions=[{"id": 4863821, "status": "SUBSCRIBED"}],
        )
        found = [classifier.email_activity(e, "k") for e in (unsubscribed, one_list, resubscribed)]
        assert [a.kind if a else None for a in found] == ["unsubscribe", "unsubscribe", None]

    def test_delivery_events_and_filtered_events_are_no_activity(
        self, classifier: ActivityClassifier
    ) -> None:
        """SENT, DELIVERED and bot opens HubSpot filters from reports are not the lead's doing."""
        assert classifier.email_activity(event("SENT"), "k") is None
        assert classifier.email_activity(event("DELIVERED"), "k") is None
        assert classifier.email_activity(event("OPEN", filteredEvent=True), "k") is None

    def test_filtered_events_count_when_the_map_says_so(self, tmp_path: Path) -> None:
        """`skip_filtered_email_events: false` keeps filtered events."""
        field_map = load_text(
            tmp_path,
            "system: hubspot\nobject: contacts\nfields:\n  email:\n    field: email\n"
            "activities:\n  skip_filtered_email_events: false\n",
        )
        assert field_map.activities is not None
        found = field_map.activities.email_activity(event("OPEN", filteredEvent=True), "k")
        assert found is not None and found.kind == "email_open"

    def test_event_keys_are_the_event_ids(self, classifier: ActivityClassifier) -> None:
        """Reading the same event twice gives the same key."""
        first = classifier.email_activity(event("OPEN"), "k")
        again = classifier.email_activity(dict(event("OPEN")), "k")
        assert first is not None and again is not None
        assert first.dedupe_key == again.dedupe_key == "hubspot:email:evt-open"
