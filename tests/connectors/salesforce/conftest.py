"""Connectors against the emulated org over real HTTPS, with retries that do not sleep."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.emulator.runtime import Emulators
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage

HS = "HubSpot_Contact_Id__c"
Connect = Callable[..., SalesforceConnector]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA variables from the machine running the tests."""
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slept() -> list[float]:
    """The waits Retry asked for, instead of sleeping them."""
    return []


@pytest.fixture
def retry(slept: list[float]) -> Retry:
    return Retry(ApiUsage(), sleep=slept.append)


def session_env(world: Emulators) -> dict[str, str]:
    return {
        "SALESFORCE_SESSION_ID": world.salesforce_session_id,
        "SALESFORCE_INSTANCE_URL": world.salesforce_url,
        "SALESFORCE_CA_BUNDLE": str(world.ca_bundle),
    }


def password_env(world: Emulators) -> dict[str, str]:
    return {
        "SALESFORCE_USERNAME": world.salesforce.username,
        "SALESFORCE_PASSWORD": world.salesforce.password,
        "SALESFORCE_SECURITY_TOKEN": world.salesforce.security_token,
        "SALESFORCE_INSTANCE_URL": world.salesforce_url,
        "SALESFORCE_CA_BUNDLE": str(world.ca_bundle),
    }


@pytest.fixture
def connect(emulators: Emulators, retry: Retry) -> Iterator[Connect]:
    """Builds connectors to the emulated org (password mode unless `env` says otherwise)."""
    made: list[SalesforceConnector] = []

    def make(env: dict[str, str] | None = None, **options: Any) -> SalesforceConnector:
        settings = SalesforceSettings.from_env(env or password_env(emulators))
        options.setdefault("bulk_poll_seconds", 0)
        options.setdefault("retry", retry)
        connector = SalesforceConnector(settings, **options)
        made.append(connector)
        return connector

    yield make
    gc.collect()  # responses kept alive by exception tracebacks hold their sockets open
    for connector in made:  # idle keep-alive connections would slow the server's shutdown
        connector.close()


@pytest.fixture
def sf(connect: Connect) -> SalesforceConnector:
    return connect()


def new_lead(world: Emulators, **fields: Any) -> str:
    return world.salesforce.create("Lead", {"LastName": "Tanaka", "Company": "Acme KK", **fields})
