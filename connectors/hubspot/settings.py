"""How to reach HubSpot and how hard it may be used: the token, the base URL and the limits.

Secrets come from the environment only: `HubSpotSettings.from_env()` reads
`HUBSPOT_ACCESS_TOKEN` (a private app token) and, optionally, `HUBSPOT_BASE_URL` (the
emulator's address in tests and demos), `HUBSPOT_ACCOUNT_TIMEZONE` and `HUBSPOT_PORTAL_ID`
(the account's id for links to its records, instead of asking HubSpot). The token is kept
out of `repr()` so it never reaches a log line or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.errors import FatalError

DEFAULT_BASE_URL = "https://api.hubapi.com"
TOKEN_VARIABLE = "HUBSPOT_ACCESS_TOKEN"
BASE_URL_VARIABLE = "HUBSPOT_BASE_URL"
TIMEZONE_VARIABLE = "HUBSPOT_ACCOUNT_TIMEZONE"
PORTAL_ID_VARIABLE = "HUBSPOT_PORTAL_ID"
SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "content",
)
"""The private app scopes the connector needs: contacts, contact properties, e-mail events."""

TOKEN_FIX = (
    f"set {TOKEN_VARIABLE} to the access token of a HubSpot private app "
    f"(Settings > Integrations > Private Apps) with the scopes {', '.join(SCOPES)}"
)


@dataclass(frozen=True, slots=True)
class HubSpotSettings:
    """One HubSpot account as the connector uses it.

    The defaults are the lowest private-app limits, a Free or Starter account's: 100 calls per
    rolling 10 seconds, 5 search calls a second, 250,000 calls a day (Professional accounts
    have 190 per 10 seconds and 650,000 a day, Enterprise 190 and 1,000,000). Set
    `daily_limit` below the account's quota to keep a share of it for other integrations.
    `account_timezone` is where HubSpot's daily quota resets (midnight there). `portal_id`,
    when set, is the account's id (Hub ID) for links to its records; otherwise the connector
    asks HubSpot.
    """

    access_token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = 30.0
    ten_secondly_limit: int = 100
    search_per_second: int = 5
    daily_limit: int = 250_000
    account_timezone: str = "UTC"
    portal_id: int | None = None

    def __post_init__(self) -> None:
        if not self.access_token.strip():
            raise ValueError("access_token must not be empty")
        for name in ("timeout_seconds", "ten_secondly_limit", "search_per_second", "daily_limit"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, was {getattr(self, name)!r}")
        if self.portal_id is not None and self.portal_id <= 0:
            raise ValueError(f"portal_id must be positive, was {self.portal_id!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.account_timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HubSpotSettings:
        """Settings from the environment; a missing token stops start-up with the fix."""
        token = env.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise FatalError("HubSpot", f"{TOKEN_VARIABLE} is not set", fix=TOKEN_FIX)
        base_url = env.get(BASE_URL_VARIABLE, "").strip() or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise FatalError(
                "HubSpot",
                f"{BASE_URL_VARIABLE} is not an http(s) URL",
                fix=f"set {BASE_URL_VARIABLE} to {DEFAULT_BASE_URL} or unset it",
            )
        zone = env.get(TIMEZONE_VARIABLE, "").strip() or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise FatalError(
                "HubSpot",
                f"{TIMEZONE_VARIABLE} names no known time zone: {zone!r}",
                fix=f"set {TIMEZONE_VARIABLE} to an IANA zone such as Asia/Tokyo, or unset it",
            ) from exc
        portal = env.get(PORTAL_ID_VARIABLE, "").strip()
        if portal and not (portal.isascii() and portal.isdigit() and int(portal) > 0):
            raise FatalError(
                "HubSpot",
                f"{PORTAL_ID_VARIABLE} is not a HubSpot account id: {portal!r}",
                fix=f"set {PORTAL_ID_VARIABLE} to the account's Hub ID (digits only), or unset it",
            )
        return cls(
            access_token=token,
            base_url=base_url,
            account_timezone=zone,
            portal_id=int(portal) if portal else None,
        )
