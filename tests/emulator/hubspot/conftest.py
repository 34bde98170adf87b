"""Fixtures: a HubSpot emulator on loopback and the official SDK pointed at it.

The SDK is aimed at the emulator with `HubSpot(access_token=..., host=url)`: the client's
keyword arguments become attributes of every generated API's `Configuration`, and `host`
replaces `https://api.hubapi.com`. The legacy e-mail events API has no generated client;
`client.api_request` reads its base URL from `base_url`, so pass both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.emulator._control import Clock, Control
from connectors.emulator._http import ServerThread
from connectors.emulator.hubspot import DEFAULT_TOKEN, HubSpotState, build_hubspot_app

TOKEN = DEFAULT_TOKEN
START = datetime(2026, 1, 9, 10, tzinfo=UTC)


def sdk(url: str, token: str = TOKEN) -> HubSpot:
    """The official client, aimed at the emulator."""
    return HubSpot(access_token=token, host=url, base_url=url)


@dataclass
class Emulator:
    state: HubSpotState
    control: Control
    server: ServerThread
    client: HubSpot

    @property
    def clock(self) -> Clock:
        return self.control.clock

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with the given `HubSpotState` options; all stop after the test."""
    started: list[ServerThread] = []

    def make(**options: Any) -> Emulator:
        clock = Clock(START, frozen=True)
        control = Control(clock)
        state = HubSpotState(clock, **options)
        server = ServerThread(build_hubspot_app(state, control))
        server.start()
        started.append(server)
        return Emulator(state, control, server, sdk(server.url))

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator with rate limits off and a frozen clock at START."""
    return make_emulator()
