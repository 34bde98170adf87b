"""Closing a connector closes its connections at once, not when garbage is collected."""

from __future__ import annotations

from typing import Any

import pytest
from requests.adapters import HTTPAdapter

from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def pools_of(manager: Any) -> list[Any]:
    """The pools of a urllib3 PoolManager (its container can list keys, not be iterated)."""
    return [manager.pools[key] for key in manager.pools.keys()]  # noqa: SIM118


def test_salesforce_close_closes_the_pools_an_error_kept_alive(emulators: Emulators) -> None:
    """After a session expired and was replaced (its 401 kept by a traceback), close()
    leaves no pooled connection open."""
    settings = SalesforceSettings.from_env(
        {
            "SALESFORCE_USERNAME": emulators.salesforce.username,
            "SALESFORCE_PASSWORD": emulators.salesforce.password,
            "SALESFORCE_SECURITY_TOKEN": emulators.salesforce.security_token,
            "SALESFORCE_INSTANCE_URL": emulators.salesforce_url,
            "SALESFORCE_CA_BUNDLE": str(emulators.ca_bundle),
        }
    )
    connector = SalesforceConnector(settings, retry=Retry(ApiUsage(), sleep=lambda _: None))
    list(connector.changed("Lead", ["Id"], None))
    emulators.salesforce.expire_sessions()
    list(connector.changed("Lead", ["Id"], None))
    adapter = connector.session.http.get_adapter(emulators.salesforce_url)
    assert isinstance(adapter, HTTPAdapter)
    pools = pools_of(adapter.poolmanager)

    connector.close()

    assert pools and all(pool.pool is None for pool in pools)


def test_hubspot_close_closes_the_pools(emulators: Emulators) -> None:
    """close() closes the connections of every pool the SDK's clients hold."""
    settings = HubSpotSettings(access_token=emulators.hubspot_token, base_url=emulators.hubspot_url)
    connector = HubSpotConnector(settings)
    connector.contact_properties()
    client = connector._transport.properties_api.api_client
    pools = pools_of(client.rest_client.pool_manager)

    connector.close()

    assert pools and all(pool.pool is None for pool in pools)
