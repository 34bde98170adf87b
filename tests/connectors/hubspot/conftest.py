"""Fixtures: the connector aimed at the emulators, on the emulators' clock.

The pacer and the retries sleep by advancing the emulated clock instead of waiting, so the
emulator's rate-limit windows (counted on that clock) see exactly the pauses the connector
chose, and a run that "waits" minutes takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Pacer
from connectors.retry import Retry
from connectors.usage import ApiUsage


@dataclass
class EmulatedSleep:
    """A sleep that moves the emulators' clock forward and remembers every pause."""

    world: Emulators
    pauses: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.world.clock.advance(timedelta(seconds=seconds))


@dataclass
class Harness:
    world: Emulators
    sleep: EmulatedSleep
    connector: HubSpotConnector

    @property
    def usage(self) -> ApiUsage:
        return self.connector.usage

    def routes(self) -> dict[str, int]:
        """Calls the emulator received, per `METHOD /route`."""
        return self.world.controls["hubspot"].counters.snapshot()


MakeHarness = Callable[..., Harness]


def settings_for(world: Emulators, **overrides: Any) -> HubSpotSettings:
    values: dict[str, Any] = {"access_token": world.hubspot_token, "base_url": world.hubspot_url}
    return HubSpotSettings(**{**values, **overrides})


@pytest.fixture
def make_harness() -> Iterator[MakeHarness]:
    """Build a connector for a running world; `attempts` and settings can be overridden."""
    built: list[HubSpotConnector] = []

    def make(world: Emulators, *, attempts: int = 6, **overrides: Any) -> Harness:
        settings = settings_for(world, **overrides)
        sleep = EmulatedSleep(world)
        pacer = Pacer.for_settings(
            settings, monotonic=world.clock.monotonic, now=world.clock.now, sleep=sleep
        )
        usage = ApiUsage()
        retry = Retry(usage, attempts=attempts, sleep=sleep)
        connector = HubSpotConnector(settings, usage=usage, retry=retry, pacer=pacer)
        built.append(connector)
        return Harness(world, sleep, connector)

    yield make
    for connector in built:
        connector.close()


@pytest.fixture
def harness(emulators: Emulators, make_harness: MakeHarness) -> Harness:
    """The connector on the shared empty emulators (rate limits off, clock frozen)."""
    return make_harness(emulators)
