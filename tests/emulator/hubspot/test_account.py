"""Properties, e-mail events, admin routes, rate limits and injected faults."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import CollectionResponsePropertyNoPaging, PropertyCreate

from connectors.emulator._control import Fault
from tests.emulator.hubspot.conftest import START, Emulator


def events(emu: Emulator, **qs: Any) -> dict[str, Any]:
    response = emu.client.api_request(
        {"method": "GET", "path": "/email/public/v1/events", "qs": qs}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


class TestProperties:
    def test_list_has_the_standard_properties(self, emu: Emulator) -> None:
        """The property list deserializes and carries lifecyclestage's real options in order."""
        listed = emu.client.crm.properties.core_api.get_all("contacts")
        assert isinstance(listed, CollectionResponsePropertyNoPaging)
        by_name = {p.name: p for p in listed.results}
        assert [o.value for o in by_name["lifecyclestage"].options] == [
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        ]
        assert "BAD_TIMING" in [o.value for o in by_name["hs_lead_status"].options]

    def test_create_custom_property_then_write_it(self, emu: Emulator) -> None:
        """A created enumeration property lists, accepts its options and refuses others."""
        create = PropertyCreate(
            name="leadloop_score_band",
            label="Score band",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                {"label": "A", "value": "A", "hidden": False},
                {"label": "B", "value": "B", "hidden": False},
            ],
        )
        made = emu.client.crm.properties.core_api.create("contacts", create)
        assert made.name == "leadloop_score_band"
        assert made.hubspot_defined is None
        cid = emu.state.add_contact({"email": "p@example.jp", "leadloop_score_band": "A"})
        assert emu.state.contacts[cid].properties["leadloop_score_band"] == "A"
        with pytest.raises(ValueError):
            emu.state.add_contact({"email": "q@example.jp", "leadloop_score_band": "Z"})

    def test_creating_an_existing_property_is_409(self, emu: Emulator) -> None:
        """A property name already taken is a 409."""
        create = PropertyCreate(
            name="email",
            label="E",
            type="string",
            field_type="text",
            group_name="contactinformation",
        )
        with pytest.raises(PropertiesApiException) as info:
            emu.client.crm.properties.core_api.create("contacts", create)
        assert info.value.status == 409


class TestEmailEvents:
    def test_events_page_newest_first_with_offset(self, emu: Emulator) -> None:
        """Events page by offset while hasMore, newest first, filtered by type and time."""
        cid = emu.state.add_contact({"email": "e@example.jp"})
        for i in range(5):
            emu.state.add_email_event(cid, "OPEN", "Newsletter", START + timedelta(minutes=i))
        emu.state.add_email_event(cid, "CLICK", "Newsletter", START, url="https://x.jp/a")
        first = events(emu, eventType="OPEN", limit=3)
        assert first["hasMore"] is True
        second = events(emu, eventType="OPEN", limit=3, offset=first["offset"])
        assert second["hasMore"] is False
        created = [e["created"] for e in first["events"] + second["events"]]
        assert created == sorted(created, reverse=True) and len(created) == 5
        start = int((START + timedelta(minutes=3)).timestamp() * 1000)
        assert len(events(emu, startTimestamp=start)["events"]) == 2
        click = events(emu, eventType="CLICK")["events"][0]
        assert (click["recipient"], click["url"]) == ("e@example.jp", "https://x.jp/a")

    def test_events_write_the_contact_properties(self, emu: Emulator) -> None:
        """Opens, clicks and unsubscribes set the contact's e-mail properties with history."""
        cid = emu.state.add_contact({"email": "f@example.jp"})
        emu.state.add_email_event(cid, "OPEN", 7, START + timedelta(hours=1))
        emu.state.add_email_event(cid, "UNSUBSCRIBED", 7, START + timedelta(hours=2))
        props = emu.state.contacts[cid].properties
        assert props["hs_email_last_open_date"] == "2026-01-09T11:00:00.000Z"
        assert props["hs_email_optout"] == "true"
        assert events(emu, eventType="STATUSCHANGE")["events"][0]["emailCampaignId"] == 7


class TestAdmin:
    def post(self, emu: Emulator, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{emu.url}/__emulator/hubspot{path}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    def test_admin_routes_seed_activity_and_show_history(self, emu: Emulator) -> None:
        """Admin routes add a contact, a form, a page view and an e-mail event, uncounted."""
        cid = self.post(emu, "/contacts", {"properties": {"email": "g@example.jp"}})["id"]
        self.post(
            emu,
            f"/contacts/{cid}/form-submissions",
            {"formName": "Whitepaper", "pageUrl": "https://x.jp/wp"},
        )
        emu.clock.advance(timedelta(hours=1))
        self.post(
            emu,
            f"/contacts/{cid}/form-submissions",
            {"formName": "Webinar", "pageUrl": "https://x.jp/web"},
        )
        self.post(emu, f"/contacts/{cid}/page-views", {"url": "https://x.jp/pricing"})
        view = self.post(
            emu,
            f"/contacts/{cid}/email-events",
            {"type": "CLICK", "campaign": "Nurture", "url": "https://x.jp/c"},
        )
        props = view["properties"]
        assert props["first_conversion_event_name"] == "Whitepaper"
        assert props["recent_conversion_event_name"] == "Webinar"
        assert props["hs_analytics_last_url"] == "https://x.jp/pricing"
        history = view["propertiesWithHistory"]["recent_conversion_event_name"]
        assert [h["value"] for h in history] == ["Webinar", "Whitepaper"]
        assert history[0]["sourceType"] == "FORM"
        assert emu.control.counters.total() == 0


class TestRateLimits:
    def test_ten_second_window(self, make_emulator: Callable[..., Emulator]) -> None:
        """The 11th call in 10 s is a 429 TEN_SECONDLY_ROLLING; time passing frees it."""
        emu = make_emulator(rate_limits=True, ten_secondly_max=10)
        api = emu.client.crm.contacts.basic_api
        for _ in range(10):
            api.get_page_with_http_info()
        with pytest.raises(ApiException) as info:
            api.get_page()
        assert info.value.status == 429
        body = json.loads(info.value.body)
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert info.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        emu.clock.advance(timedelta(seconds=10))
        _, status, headers = api.get_page_with_http_info()
        assert status == 200
        assert headers["X-HubSpot-RateLimit-Max"] == "10"
        assert headers["X-HubSpot-RateLimit-Remaining"] == "9"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(250_000 - 11)

    def test_search_five_a_second(self, make_emulator: Callable[..., Emulator]) -> None:
        """The 6th search in a second is a 429 SECONDLY; search answers carry no limit headers."""
        emu = make_emulator(rate_limits=True)
        api = emu.client.crm.contacts.search_api
        for _ in range(5):
            _, _, headers = api.do_search_with_http_info(PublicObjectSearchRequest())
            assert "X-HubSpot-RateLimit-Remaining" not in headers
        with pytest.raises(ApiException) as info:
            api.do_search(PublicObjectSearchRequest())
        assert json.loads(info.value.body)["policyName"] == "SECONDLY"
        emu.clock.advance(timedelta(seconds=1))
        api.do_search(PublicObjectSearchRequest())

    def test_daily_quota(self, make_emulator: Callable[..., Emulator]) -> None:
        """Past the daily quota every call is a 429 DAILY until the next day."""
        emu = make_emulator(rate_limits=True, daily_max=3)
        api = emu.client.crm.contacts.basic_api
        for _ in range(3):
            api.get_page()
        with pytest.raises(ApiException) as info:
            api.get_page()
        body = json.loads(info.value.body)
        assert (body["policyName"], body["message"]) == (
            "DAILY",
            "You have reached your daily limit.",
        )
        emu.clock.advance(timedelta(days=1))
        api.get_page()

    def test_reset_frees_the_window(self, make_emulator: Callable[..., Emulator]) -> None:
        """limiter.reset() forgets the calls counted so far."""
        emu = make_emulator(rate_limits=True, ten_secondly_max=1)
        emu.client.crm.contacts.basic_api.get_page()
        emu.state.limiter.reset()
        emu.client.crm.contacts.basic_api.get_page()


class TestFaults:
    def test_status_fault_reaches_the_sdk(self, emu: Emulator) -> None:
        """A 502 fault on the search route is an ApiException with status 502, once."""
        emu.control.faults.add(Fault(route="POST /crm/v3/objects/contacts/search", status=502))
        api = emu.client.crm.contacts.search_api
        with pytest.raises(ApiException) as info:
            api.do_search(PublicObjectSearchRequest())
        assert info.value.status == 502
        api.do_search(PublicObjectSearchRequest())
        assert emu.control.counters.snapshot()["POST /crm/v3/objects/contacts/search"] == 2

    def test_calls_are_counted_by_route_template(self, emu: Emulator) -> None:
        """Counters key calls by `METHOD /path/{template}`."""
        cid = emu.state.add_contact({"email": "c@example.jp"})
        emu.client.crm.contacts.basic_api.get_by_id(cid)
        assert emu.control.counters.snapshot() == {"GET /crm/v3/objects/contacts/{contactId}": 1}
