"""Contacts through the SDK: read, list, create, update, validation, auth and not-found."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import pytest
from hubspot.crm.contacts import (
    ApiException,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    SimplePublicObject,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
    SimplePublicObjectWithAssociations,
)

from connectors.emulator.hubspot import DEFAULT_TOKEN
from tests.emulator.hubspot.conftest import Emulator, sdk


def create(emu: Emulator, **properties: str) -> SimplePublicObject:
    inp = SimplePublicObjectInputForCreate(properties=properties)
    result: SimplePublicObject = emu.client.crm.contacts.basic_api.create(inp)
    return result


def update(emu: Emulator, contact_id: str, **properties: str) -> SimplePublicObject:
    inp = SimplePublicObjectInput(properties=properties)
    result: SimplePublicObject = emu.client.crm.contacts.basic_api.update(contact_id, inp)
    return result


def refused(call: object, status: int) -> dict[str, object]:
    """The JSON body of the ApiException a call raises, after checking its status."""
    assert callable(call)
    with pytest.raises(ApiException) as info:
        call()
    assert info.value.status == status
    body: dict[str, object] = json.loads(info.value.body) if info.value.body else {}
    return body


class TestReadAndList:
    def test_get_by_id_returns_requested_and_always_present_properties(self, emu: Emulator) -> None:
        """A read returns the asked properties plus createdate, hs_object_id, lastmodifieddate."""
        cid = emu.state.add_contact({"email": "a@example.jp", "company": "Acme"})
        got = emu.client.crm.contacts.basic_api.get_by_id(cid, properties=["company"])
        assert isinstance(got, SimplePublicObjectWithAssociations)
        assert set(got.properties) == {"company", "createdate", "hs_object_id", "lastmodifieddate"}
        assert got.properties["company"] == "Acme"

    def test_get_by_email_with_id_property(self, emu: Emulator) -> None:
        """`idProperty=email` reads a contact by its e-mail address."""
        cid = emu.state.add_contact({"email": "b@example.jp"})
        got = emu.client.crm.contacts.basic_api.get_by_id("b@example.jp", id_property="email")
        assert got.id == cid

    def test_default_properties_are_hubspots(self, emu: Emulator) -> None:
        """Without `properties`, the default contact set comes back, unset ones as null."""
        cid = emu.state.add_contact({"email": "c@example.jp"})
        got = emu.client.crm.contacts.basic_api.get_by_id(cid)
        assert set(got.properties) == {
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        }
        assert got.properties["firstname"] is None

    def test_history_is_newest_first(self, emu: Emulator) -> None:
        """propertiesWithHistory lists every write of a property, newest first."""
        cid = emu.state.add_contact({"email": "d@example.jp", "lifecyclestage": "lead"})
        emu.clock.advance(timedelta(hours=1))
        update(emu, cid, lifecyclestage="marketingqualifiedlead")
        got = emu.client.crm.contacts.basic_api.get_by_id(
            cid, properties_with_history=["lifecyclestage"]
        )
        history = got.properties_with_history["lifecyclestage"]
        assert [h.value for h in history] == ["marketingqualifiedlead", "lead"]
        assert [h.source_type for h in history] == ["INTEGRATION", "IMPORT"]

    def test_get_page_walks_every_contact_by_after(self, emu: Emulator) -> None:
        """GET /contacts pages by `after` with at most 100 a page until no `paging` is left."""
        ids = [emu.state.add_contact({"email": f"p{i}@example.jp"}) for i in range(230)]
        seen: list[str] = []
        after = None
        while True:
            page = emu.client.crm.contacts.basic_api.get_page(limit=100, after=after)
            assert isinstance(
                page, CollectionResponseSimplePublicObjectWithAssociationsForwardPaging
            )
            seen += [c.id for c in page.results]
            if page.paging is None:
                break
            after = page.paging.next.after
        assert seen == ids

    def test_get_page_refuses_limit_over_100(self, emu: Emulator) -> None:
        """A list page of 101 is a 400 VALIDATION_ERROR."""
        body = refused(lambda: emu.client.crm.contacts.basic_api.get_page(limit=101), 400)
        assert body["category"] == "VALIDATION_ERROR"


class TestNotFoundAndAuth:
    def test_unknown_numeric_id_is_an_empty_404(self, emu: Emulator) -> None:
        """An unknown numeric id answers 404 with an empty body."""
        assert refused(lambda: emu.client.crm.contacts.basic_api.get_by_id("999"), 404) == {}

    def test_non_numeric_id_is_a_404_with_hubspots_body(self, emu: Emulator) -> None:
        """A non-numeric id answers 404 OBJECT_NOT_FOUND naming the id."""
        body = refused(lambda: emu.client.crm.contacts.basic_api.get_by_id("abc"), 404)
        assert body["category"] == "OBJECT_NOT_FOUND"
        assert body["context"] == {"id": ["abc"]}

    def test_patch_of_unknown_contact_is_404(self, emu: Emulator) -> None:
        """Updating a contact that does not exist is a 404."""
        refused(lambda: update(emu, "12345", firstname="X"), 404)

    def test_wrong_token_is_401(self, emu: Emulator) -> None:
        """A token the account does not know gets 401 INVALID_AUTHENTICATION."""
        client = sdk(emu.url, token="pat-na1-wrong")
        body = refused(lambda: client.crm.contacts.basic_api.get_page(), 401)
        assert body["status"] == "error"
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert str(body["message"]).startswith("Authentication credentials not found.")
        assert body["correlationId"]

    def test_missing_token_is_401(self, emu: Emulator) -> None:
        """A call without an Authorization header gets 401 too."""
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{emu.url}/crm/v3/objects/contacts")
        assert info.value.code == 401
        body = json.loads(info.value.read())
        info.value.close()
        assert body["category"] == "INVALID_AUTHENTICATION"


class TestWrites:
    def test_create_returns_201_and_a_numeric_id(self, emu: Emulator) -> None:
        """Creating a contact gives it a numeric string id and both timestamps."""
        created = create(emu, email="new@example.jp", firstname="Hanako")
        assert created.id.isdigit()
        assert created.properties["hs_object_id"] == created.id
        assert created.created_at == created.updated_at

    def test_duplicate_email_is_409_conflict(self, emu: Emulator) -> None:
        """A second contact with the same e-mail is 409 naming the existing id."""
        first = create(emu, email="dup@example.jp")
        body = refused(lambda: create(emu, email="DUP@example.jp"), 409)
        assert body["category"] == "CONFLICT"
        assert body["message"] == f"Contact already exists. Existing ID: {first.id}"

    def test_lastmodifieddate_moves_on_every_write(self, emu: Emulator) -> None:
        """Each write moves lastmodifieddate and updatedAt to the clock's now."""
        created = create(emu, email="m@example.jp")
        emu.clock.advance(timedelta(minutes=5))
        updated = update(emu, created.id, jobtitle="CTO")
        assert updated.properties["lastmodifieddate"] == "2026-01-09T10:05:00.000Z"
        assert updated.updated_at > created.updated_at

    def test_unknown_property_is_a_validation_error(self, emu: Emulator) -> None:
        """Writing a property that does not exist is 400 with HubSpot's JSON-in-message."""
        cid = emu.state.add_contact({"email": "v@example.jp"})
        body = refused(lambda: update(emu, cid, favourite_colour="blue"), 400)
        assert body["category"] == "VALIDATION_ERROR"
        message = str(body["message"])
        assert message.startswith("Property values were not valid: ")
        problems = json.loads(message.removeprefix("Property values were not valid: "))
        assert problems[0]["error"] == "PROPERTY_DOESNT_EXIST"
        assert problems[0]["name"] == "favourite_colour"

    def test_bad_enumeration_option_is_a_validation_error(self, emu: Emulator) -> None:
        """An option an enumeration does not have is 400 INVALID_OPTION."""
        cid = emu.state.add_contact({"email": "e@example.jp"})
        body = refused(lambda: update(emu, cid, hs_lead_status="HOT"), 400)
        assert '"error":"INVALID_OPTION"' in str(body["message"])

    def test_read_only_property_is_refused(self, emu: Emulator) -> None:
        """Calculated properties such as hs_analytics_source cannot be written by the API."""
        cid = emu.state.add_contact({"email": "r@example.jp"})
        body = refused(lambda: update(emu, cid, hs_analytics_source="OFFLINE"), 400)
        assert '"error":"READ_ONLY_VALUE"' in str(body["message"])

    def test_lifecycle_moves_forward(self, emu: Emulator) -> None:
        """A later lifecycle stage is accepted."""
        cid = emu.state.add_contact({"email": "f@example.jp", "lifecyclestage": "lead"})
        assert (
            update(emu, cid, lifecyclestage="salesqualifiedlead").properties["lifecyclestage"]
            == "salesqualifiedlead"
        )

    def test_lifecycle_backwards_is_kept_until_cleared(self, emu: Emulator) -> None:
        """An earlier stage is silently not applied; clearing first, then setting, works."""
        cid = emu.state.add_contact({"email": "g@example.jp", "lifecyclestage": "opportunity"})
        assert update(emu, cid, lifecyclestage="lead").properties["lifecyclestage"] == "opportunity"
        assert update(emu, cid, lifecyclestage="").properties["lifecyclestage"] == ""
        assert update(emu, cid, lifecyclestage="lead").properties["lifecyclestage"] == "lead"

    def test_datetime_values_are_stored_as_iso(self, emu: Emulator) -> None:
        """A datetime property written as epoch ms reads back as ISO 8601 UTC."""
        created = create(emu, email="t@example.jp", createdate="1767949200000")
        assert created.properties["createdate"] == "2026-01-09T09:00:00.000Z"


UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def answer(
    emu: Emulator,
    method: str,
    path: str,
    *,
    authorization: str | None = f"Bearer {DEFAULT_TOKEN}",
    body: bytes | None = None,
) -> tuple[int, str | None, dict[str, object]]:
    """Status, X-HubSpot-Correlation-Id header and JSON body of one raw call."""
    request = urllib.request.Request(f"{emu.url}{path}", data=body, method=method)
    request.add_header("Content-Type", "application/json")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
        exc.close()
    return status, headers.get("X-HubSpot-Correlation-Id"), json.loads(raw) if raw else {}


class TestErrorBodies:
    @pytest.mark.parametrize(
        "authorization", [None, "Bearer pat-na1-wrong", f"Basic {DEFAULT_TOKEN}", "Bearer"]
    )
    def test_401_is_hubspots_body_with_a_fresh_correlation_id(
        self, emu: Emulator, authorization: str | None
    ) -> None:
        """No token, an unknown one or another scheme: HubSpot's 401 body exactly, with a new
        uuid4 correlationId each time, which the X-HubSpot-Correlation-Id header repeats."""
        seen = set()
        for _ in range(2):
            status, header, body = answer(
                emu, "GET", "/crm/v3/objects/contacts", authorization=authorization
            )
            assert status == 401
            correlation = str(body["correlationId"])
            assert body == {
                "status": "error",
                "message": AUTH_MESSAGE,
                "correlationId": correlation,
                "category": "INVALID_AUTHENTICATION",
            }
            assert UUID4.match(correlation)
            assert header == correlation
            seen.add(correlation)
        assert len(seen) == 2

    def test_every_error_body_names_its_correlation_id(
        self, make_emulator: Callable[..., Emulator]
    ) -> None:
        """400, 404 (with a body), 409 and 429 bodies carry a uuid4 correlationId, the same
        one as their X-HubSpot-Correlation-Id header."""
        emu = make_emulator(rate_limits=True, ten_secondly_max=5)
        emu.state.add_contact({"email": "taken@example.jp"})
        taken = json.dumps({"properties": {"email": "TAKEN@example.jp"}}).encode()
        calls = [
            (400, "POST", "/crm/v3/objects/contacts", b"{not json"),
            (400, "GET", "/crm/v3/objects/contacts?limit=1000", None),
            (404, "GET", "/crm/v3/objects/contacts/abc", None),
            (409, "POST", "/crm/v3/objects/contacts", taken),
            (400, "GET", "/email/public/v1/events?startTimestamp=soon", None),
            (429, "GET", "/crm/v3/objects/contacts", None),
        ]
        for status, method, path, body in calls:
            got, header, answered = answer(emu, method, path, body=body)
            assert (got, answered["status"]) == (status, "error"), path
            assert UUID4.match(str(answered["correlationId"])), path
            assert header == answered["correlationId"], path
