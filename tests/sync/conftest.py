"""Fixtures for the rule tests (the shipped company definition, loaded once) and for the
ingest and backfill tests (connectors aimed at the emulators, a fresh store)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Pacer
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage
from state import Store
from sync.config import Config, load_config
from sync.definitions import LeadRules
from sync.ingest_types import FieldMaps
from sync.sla import SlaRules
from tests.sync.builders import SHIPPED_PATH


@pytest.fixture(scope="session")
def shipped() -> Config:
    """The shipped company definition, examples/leadloop.yaml."""
    return load_config(SHIPPED_PATH)


@pytest.fixture(scope="session")
def shipped_rules(shipped: Config) -> LeadRules:
    return LeadRules(shipped)


@pytest.fixture(scope="session")
def shipped_slas(shipped: Config) -> SlaRules:
    return SlaRules(shipped)


# --- the ingest and backfill tests: connectors aimed at the emulators, a fresh store -------


@dataclass
class Crm:
    """Both connectors aimed at one emulated world, sharing its clock."""

    world: Emulators
    hubspot: HubSpotConnector
    salesforce: SalesforceConnector

    def now(self) -> datetime:
        return self.world.clock.now()

    def routes(self, service: str = "hubspot") -> dict[str, int]:
        """Calls the emulator received so far, per `METHOD /route`."""
        return self.world.controls[service].counters.snapshot()


@contextmanager
def crm_for(world: Emulators) -> Iterator[Crm]:
    """Connectors for `world`: limits high enough that nothing waits, retries that do not
    sleep, and a Salesforce session made by the emulator (no login call)."""
    settings = HubSpotSettings(
        access_token=world.hubspot_token,
        base_url=world.hubspot_url,
        search_per_second=10_000,
        ten_secondly_limit=1_000_000,
    )
    pacer = Pacer.for_settings(
        settings, monotonic=world.clock.monotonic, now=world.clock.now, sleep=lambda _: None
    )
    usage = ApiUsage()
    hubspot = HubSpotConnector(
        settings, usage=usage, retry=Retry(usage, sleep=lambda _: None), pacer=pacer
    )
    env = {
        "SALESFORCE_SESSION_ID": world.salesforce_session_id,
        "SALESFORCE_INSTANCE_URL": world.salesforce_url,
        "SALESFORCE_CA_BUNDLE": str(world.ca_bundle),
    }
    salesforce = SalesforceConnector(
        SalesforceSettings.from_env(env),
        retry=Retry(ApiUsage(), sleep=lambda _: None),
        bulk_poll_seconds=0,
    )
    try:
        yield Crm(world, hubspot, salesforce)
    finally:
        hubspot.close()
        salesforce.close()


@pytest.fixture
def crm(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    """Connectors on the empty emulators (clock frozen at WORLD_START)."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with crm_for(emulators) as connected:
        yield connected


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated SQLite store in a temporary folder."""
    with Store.connect(f"sqlite:///{tmp_path / 'state.db'}", migrate=True) as connected:
        yield connected


@pytest.fixture(scope="session")
def maps() -> FieldMaps:
    """The shipped field maps."""
    return FieldMaps.default()
