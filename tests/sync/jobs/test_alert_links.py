"""Alert e-mails link to the lead's HubSpot contact record; an unknown portal drops the link."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from structlog.testing import capture_logs

from connectors.emulator._control import Fault
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.retry import Retry
from connectors.usage import ApiUsage
from tests.sync.builders import jst
from tests.sync.jobs.conftest import SATO, Desk, lead

DETAILS = "GET /account-info/v3/details"
ITO = lead(1, "伊藤", jst(2026, 1, 8, 10), SATO)  # due Wed 1/14 10:00, escalated Thu 10:00
THURSDAY_MORNING = jst(2026, 1, 15, 9, 5)  # before the digest: only the alert goes


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part."""
    found = []
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        assert isinstance(part, EmailMessage)
        found.append(str(part.get_content()))
    return found[0], found[1]


@pytest.fixture
def overridden(desk: Desk) -> Iterator[HubSpotConnector]:
    """A connector on the same emulator with HUBSPOT_PORTAL_ID=777."""
    world = desk.crm.world
    env = {
        "HUBSPOT_ACCESS_TOKEN": world.hubspot_token,
        "HUBSPOT_BASE_URL": world.hubspot_url,
        "HUBSPOT_PORTAL_ID": "777",
    }
    connector = HubSpotConnector(
        HubSpotSettings.from_env(env), retry=Retry(ApiUsage(), sleep=lambda _: None)
    )
    yield connector
    connector.close()


def test_the_alert_links_to_the_hubspot_contact(desk: Desk) -> None:
    """Text and HTML part carry the contact's record page in the emulator's portal."""
    desk.add(ITO)
    desk.run(THURSDAY_MORNING)
    (alert,) = desk.alerts()
    link = f"https://app.hubspot.com/contacts/{desk.crm.world.hubspot.portal_id}/record/0-1/1001"
    plain, rich = parts(alert)
    assert f"HubSpot　 ：{link}" in plain
    assert f'href="{link}"' in rich
    assert desk.crm.routes().get(DETAILS) == 1


def test_the_portal_is_asked_for_once(desk: Desk) -> None:
    """Later alerts (the escalation) reuse the portal read for the first one."""
    desk.add(ITO)
    desk.run(THURSDAY_MORNING)
    desk.run(jst(2026, 1, 15, 10, 5))
    assert [m["X-Leadloop-Alert"] for m in desk.alerts()] == ["first_touch/1", "first_touch/2"]
    assert all("/record/0-1/1001" in parts(m)[0] for m in desk.alerts())
    assert desk.crm.routes().get(DETAILS) == 1


def test_hubspot_portal_id_overrides(desk: Desk, overridden: HubSpotConnector) -> None:
    """With HUBSPOT_PORTAL_ID set the link uses it and HubSpot is not asked."""
    desk.hubspot = overridden
    desk.add(ITO)
    desk.run(THURSDAY_MORNING)
    (alert,) = desk.alerts()
    plain, rich = parts(alert)
    link = "https://app.hubspot.com/contacts/777/record/0-1/1001"
    assert link in plain and f'href="{link}"' in rich
    assert DETAILS not in desk.crm.routes()


def test_without_a_portal_id_the_link_is_left_out(desk: Desk) -> None:
    """HubSpot refuses the account details: the alerts go without a HubSpot link, the
    Salesforce link stays, the job does not fail, and the warning is logged once."""
    desk.crm.world.controls["hubspot"].faults.add(
        Fault(route=DETAILS, status=403, body={"category": "MISSING_SCOPES"}, times=None)
    )
    desk.add(ITO)
    with capture_logs() as logs:
        first = desk.run(THURSDAY_MORNING)
        second = desk.run(jst(2026, 1, 15, 10, 5))
    assert first["alerts_sent"] == second["alerts_sent"] == 1
    for alert in desk.alerts():
        plain, rich = parts(alert)
        assert "hubspot.com" not in plain and "hubspot.com" not in rich
        assert "salesforce.com" in plain
    warnings = [e for e in logs if e["event"] == "hubspot.portal_unknown"]
    assert len(warnings) == 1
