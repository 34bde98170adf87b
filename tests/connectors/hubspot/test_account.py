"""The account's portal id and web-app domain, for links to contact records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotPortal
from connectors.hubspot.account import RETRY_AFTER
from tests.connectors.hubspot.conftest import Harness, MakeHarness

DETAILS = "GET /account-info/v3/details"
SCOPES_REFUSAL: dict[str, Any] = {
    "status": "error",
    "message": "This app hasn't been granted all required scopes to make this call.",
    "correlationId": "7c1d2a8e-0d7e-4a8a-9f43-2f0b8c1e5a11",
    "errors": [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["oauth"]},
        }
    ],
    "category": "MISSING_SCOPES",
}


def details_calls(harness: Harness) -> int:
    return harness.routes().get(DETAILS, 0)


class TestFromHubSpot:
    def test_the_portal_is_read_once_from_the_account_details(self, harness: Harness) -> None:
        """One account.details call gives the portal id and domain; later asks are free."""
        portal = harness.connector.portal()
        assert portal == HubSpotPortal(harness.world.hubspot.portal_id, "app.hubspot.com")
        assert harness.connector.portal() is portal
        assert details_calls(harness) == 1
        assert harness.usage.snapshot().calls == {"account.details": 1}

    def test_a_contact_link_opens_its_record_page(self, harness: Harness) -> None:
        """The link is HubSpot's record page of a contact (object type 0-1) in the portal."""
        portal = harness.connector.portal()
        assert portal is not None
        portal_id = harness.world.hubspot.portal_id
        assert portal.contact_url("501") == (
            f"https://app.hubspot.com/contacts/{portal_id}/record/0-1/501"
        )

    def test_an_eu_account_links_to_the_eu_web_app(self, harness: Harness) -> None:
        """The uiDomain of the answer (app-eu1.hubspot.com for EU hosting) is kept."""
        harness.world.hubspot.ui_domain = "app-eu1.hubspot.com"
        portal = harness.connector.portal()
        assert portal is not None
        assert portal.contact_url("7").startswith("https://app-eu1.hubspot.com/contacts/")

    def test_an_odd_domain_falls_back_to_the_default(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """A uiDomain that is no host name is not put into a link."""
        emulators.controls["hubspot"].faults.add(
            Fault(route=DETAILS, status=200, body={"portalId": 99, "uiDomain": "x/../evil"})
        )
        assert make_harness(emulators).connector.portal() == HubSpotPortal(99)


class TestOverride:
    def test_the_settings_portal_id_wins_without_a_call(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """With HUBSPOT_PORTAL_ID set, HubSpot is not asked and links use app.hubspot.com."""
        harness = make_harness(emulators, portal_id=4242)
        assert harness.connector.portal() == HubSpotPortal(4242, "app.hubspot.com")
        assert details_calls(harness) == 0


class TestUnknown:
    def test_a_refusal_leaves_links_out_and_warns_once(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """A 403 (a token without the scope) gives None, one warning with the fix, and no
        further calls."""
        emulators.controls["hubspot"].faults.add(
            Fault(route=DETAILS, status=403, body=SCOPES_REFUSAL, times=None)
        )
        harness = make_harness(emulators)
        with capture_logs() as logs:
            assert harness.connector.portal() is None
            assert harness.connector.portal() is None
        warnings = [entry for entry in logs if entry["event"] == "hubspot.portal_unknown"]
        assert len(warnings) == 1
        assert warnings[0]["log_level"] == "warning"
        assert "oauth" in warnings[0]["fix"]
        assert harness.world.hubspot_token not in str(warnings[0])
        assert details_calls(harness) == 1

    def test_an_answer_without_a_portal_id_counts_as_unknown(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """An answer that names no portalId gives None and is not asked again."""
        emulators.controls["hubspot"].faults.add(
            Fault(route=DETAILS, status=200, body={"uiDomain": "app.hubspot.com"})
        )
        harness = make_harness(emulators)
        with capture_logs() as logs:
            assert harness.connector.portal() is None
            assert harness.connector.portal() is None
        assert [entry["event"] for entry in logs] == ["hubspot.portal_unknown"]
        assert details_calls(harness) == 1

    def test_an_unreachable_hubspot_is_asked_again_later(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """After a server error HubSpot is left alone for RETRY_AFTER, then asked again."""
        emulators.controls["hubspot"].faults.add(Fault(route=DETAILS, status=503, body=""))
        harness = make_harness(emulators, attempts=1)
        with capture_logs() as logs:
            assert harness.connector.portal() is None
            emulators.clock.advance(RETRY_AFTER - timedelta(seconds=1))
            assert harness.connector.portal() is None
            assert details_calls(harness) == 1
            emulators.clock.advance(timedelta(seconds=1))
            assert harness.connector.portal() == HubSpotPortal(emulators.hubspot.portal_id)
        assert details_calls(harness) == 2
        assert [entry["event"] for entry in logs] == ["hubspot.portal_unknown"]


@pytest.mark.parametrize(
    ("portal_id", "domain"),
    [(0, "app.hubspot.com"), (1, "app.hubspot.com/x"), (1, "app.hubspot.com\n"), (1, "")],
)
def test_a_portal_refuses_what_cannot_make_a_link(portal_id: int, domain: str) -> None:
    """A portal id must be positive and the domain a host name."""
    with pytest.raises(ValueError, match="must be"):
        HubSpotPortal(portal_id, domain)
