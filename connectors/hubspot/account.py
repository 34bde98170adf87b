"""Which HubSpot account the token belongs to, for links to its records in HubSpot's web app.

A contact's page is `https://<uiDomain>/contacts/<portalId>/record/0-1/<contactId>` (`0-1`
is HubSpot's object type id of contacts). The portal id (Hub ID) and the web app's domain
(`app.hubspot.com`, `app-eu1.hubspot.com` for accounts hosted in the EU) come from the
account information API, `GET /account-info/v3/details`, which the SDK has no generated
client for: the request goes through the contacts `ApiClient` (see `Transport.get`).

`HUBSPOT_PORTAL_ID` (`HubSpotSettings.portal_id`) wins and saves the call; links then use
`app.hubspot.com`. The answer is asked for once and kept. When it cannot be had, links are
left out and a warning is logged once: for good when HubSpot refuses the call (a token
without the scope, say), again after `RETRY_AFTER` when HubSpot could not be reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import structlog

from connectors.errors import ConnectorError, RateLimitedError, RetriableError
from connectors.hubspot._transport import Transport
from connectors.hubspot.settings import PORTAL_ID_VARIABLE

ACCOUNT_PATH = "/account-info/v3/details"
DEFAULT_UI_DOMAIN = "app.hubspot.com"
CONTACT_TYPE_ID = "0-1"
RETRY_AFTER = timedelta(minutes=15)
"""How long to leave HubSpot alone after it could not be reached for the account's details."""

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class HubSpotPortal:
    """One HubSpot account as its web app addresses it."""

    portal_id: int
    ui_domain: str = DEFAULT_UI_DOMAIN

    def __post_init__(self) -> None:
        if self.portal_id <= 0:
            raise ValueError(f"portal_id must be positive, was {self.portal_id!r}")
        if not _HOSTNAME.fullmatch(self.ui_domain):
            raise ValueError(f"ui_domain must be a host name, was {self.ui_domain!r}")

    def contact_url(self, contact_id: str) -> str:
        """The page of contact `contact_id` in HubSpot's web app."""
        if not contact_id:
            raise ValueError("contact_id must not be empty")
        record = quote(contact_id, safe="")  # numeric in practice; never a path of its own
        return (
            f"https://{self.ui_domain}/contacts/{self.portal_id}/record/{CONTACT_TYPE_ID}/{record}"
        )


class PortalLookup:
    """Asks HubSpot for the account's portal once, and remembers the answer or the refusal."""

    def __init__(self, transport: Transport, portal_id: int | None = None) -> None:
        self.transport = transport
        self._portal = HubSpotPortal(portal_id) if portal_id is not None else None
        self._refused = False
        self._warned = False
        self._not_before: datetime | None = None

    def portal(self) -> HubSpotPortal | None:
        if self._portal is not None or self._refused:
            return self._portal
        now = self.transport.pacer.now()
        if self._not_before is not None and now < self._not_before:
            return None
        try:
            answer = self.transport.call(
                "account.details", partial(self.transport.get, ACCOUNT_PATH, [])
            )
        except ConnectorError as exc:
            if isinstance(exc, RetriableError | RateLimitedError):
                self._not_before = now + RETRY_AFTER
            else:
                self._refused = True
            self._warn(str(exc), getattr(exc, "fix", None))
            return None
        self._portal = _portal_from(answer.body)
        if self._portal is None:
            self._refused = True
            self._warn("the account details name no portalId", None)
        return self._portal

    def _warn(self, error: str, fix: str | None) -> None:
        if self._warned:
            return
        self._warned = True
        log.warning(
            "hubspot.portal_unknown",
            error=error,
            fix=fix or f"set {PORTAL_ID_VARIABLE} to the account's Hub ID",
            consequence="e-mails leave out the links to HubSpot records",
        )


def _portal_from(body: Any) -> HubSpotPortal | None:
    """The portal in an account details answer; None when it names no usable portal id."""
    if not isinstance(body, dict):
        return None
    portal_id = body.get("portalId")
    if isinstance(portal_id, bool) or not isinstance(portal_id, int) or portal_id <= 0:
        return None
    domain = body.get("uiDomain")
    if isinstance(domain, str) and _HOSTNAME.fullmatch(domain):
        return HubSpotPortal(portal_id, domain)
    return HubSpotPortal(portal_id)
