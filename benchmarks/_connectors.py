"""The benchmarks' connectors on the emulators: the real ones, with HubSpot's client-side
limits lifted (the emulators enforce none in these runs), from the line `leadloop emulate`
prints (`Emulators.info()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.hubspot import HubSpotConnector, HubSpotSettings, Pacer
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage


def unlimited_connectors(
    info: Mapping[str, Any],
) -> tuple[HubSpotConnector, SalesforceConnector]:
    """HubSpot and Salesforce connectors aimed at the emulators `info` describes."""
    settings = HubSpotSettings(
        access_token=info["hubspot_token"],
        base_url=info["hubspot_url"],
        search_per_second=100_000,
        ten_secondly_limit=10_000_000,
        daily_limit=10_000_000,
    )
    usage = ApiUsage()
    hubspot = HubSpotConnector(
        settings, usage=usage, retry=Retry(usage), pacer=Pacer.for_settings(settings)
    )
    salesforce = SalesforceConnector(
        SalesforceSettings.from_env(
            {
                "SALESFORCE_SESSION_ID": info["salesforce_session_id"],
                "SALESFORCE_INSTANCE_URL": info["salesforce_url"],
                "SALESFORCE_CA_BUNDLE": str(info["ca_bundle"]),
            }
        )
    )
    return hubspot, salesforce
