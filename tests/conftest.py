"""Fixtures shared by every test folder: both emulators running on loopback.

`emulators` starts HubSpot (HTTP) and Salesforce (HTTPS, throwaway CA) with an empty
world and a clock frozen at `WORLD_START`; the handle steers the clock, faults, counters
and the sales actions. `demo_world` is the same with the demo seed loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.emulator.runtime import Emulators, start_emulators

WORLD_START = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)  # Friday 10:00 JST


@pytest.fixture
def emulators() -> Iterator[Emulators]:
    """An empty HubSpot and Salesforce, rate limits off, the clock frozen at WORLD_START."""
    with start_emulators(now=WORLD_START, frozen=True) as world:
        yield world


@pytest.fixture(scope="session")
def demo_world() -> Iterator[Emulators]:
    """Both emulators seeded with the demo population (300 people); shared, do not write."""
    with start_emulators(seed="demo", leads=300, now=WORLD_START, frozen=True) as world:
        yield world
