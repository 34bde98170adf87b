"""Both emulators running together: one clock, TLS for Salesforce, the admin API, a seed.

    with start_emulators(seed="demo", leads=500) as world:
        world.hubspot_url, world.salesforce_url, world.ca_bundle, world.admin_url
        world.clock.advance(timedelta(days=1))
        world.salesforce.log_call(lead_id, world.clock.now())

`leadloop emulate` and the tests both start the world this way. The shared admin routes
(clock, counters, faults: see `_admin.py`) answer on both servers under `/__emulator/`;
`admin_url` names the HubSpot one, plain HTTP on loopback.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from connectors.emulator._admin import control_routes
from connectors.emulator._control import Clock, Control
from connectors.emulator._http import ServerThread
from connectors.emulator._tls import TlsFiles, make_tls_files
from connectors.emulator.hubspot import DEFAULT_TOKEN, HubSpotState, build_hubspot_app
from connectors.emulator.load import Loaded, load
from connectors.emulator.salesforce import SalesforceState, build_salesforce_app
from connectors.emulator.seed import generate

SeedChoice = Literal["demo", "none"]


@dataclass
class Emulators:
    """A running pair of emulators and the handle tests and the demo steer them with."""

    clock: Clock
    hubspot: HubSpotState
    salesforce: SalesforceState
    controls: dict[str, Control]
    hubspot_url: str
    salesforce_url: str
    tls: TlsFiles
    salesforce_session_id: str
    seeded: Loaded | None
    _servers: list[ServerThread] = field(default_factory=list, repr=False)
    _tls_folder: Path | None = field(default=None, repr=False)

    @property
    def admin_url(self) -> str:
        return f"{self.hubspot_url}/__emulator"

    @property
    def ca_bundle(self) -> Path:
        return self.tls.ca_bundle

    @property
    def hubspot_token(self) -> str:
        return next(iter(sorted(self.hubspot.tokens)))

    def counters(self) -> dict[str, dict[str, int]]:
        """Calls made so far, per service and route."""
        return {name: control.counters.snapshot() for name, control in self.controls.items()}

    def client_environment(self) -> dict[str, str]:
        """The variables a leadloop process reads to reach these emulators: the HubSpot
        token and URL, the Salesforce instance, session and CA bundle."""
        return {
            "HUBSPOT_ACCESS_TOKEN": self.hubspot_token,
            "HUBSPOT_BASE_URL": self.hubspot_url,
            "SALESFORCE_INSTANCE_URL": self.salesforce_url,
            "SALESFORCE_SESSION_ID": self.salesforce_session_id,
            "SALESFORCE_CA_BUNDLE": str(self.ca_bundle),
        }

    def info(self) -> dict[str, Any]:
        """What a client needs to reach the emulators: the line `leadloop emulate` prints."""
        return {
            "hubspot_url": self.hubspot_url,
            "hubspot_token": self.hubspot_token,
            "salesforce_url": self.salesforce_url,
            "salesforce_session_id": self.salesforce_session_id,
            "salesforce_username": self.salesforce.username,
            "salesforce_password": self.salesforce.password,
            "salesforce_security_token": self.salesforce.security_token,
            "ca_bundle": str(self.ca_bundle),
            "admin_url": self.admin_url,
            "now": self.clock.now().isoformat(),
            "contacts": len(self.hubspot.contacts),
            "leads": len(self.salesforce.records["Lead"]),
        }

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._tls_folder is not None:
            shutil.rmtree(self._tls_folder, ignore_errors=True)
            self._tls_folder = None

    def __enter__(self) -> Emulators:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulators(
    *,
    hubspot_port: int = 0,
    salesforce_port: int = 0,
    seed: SeedChoice = "none",
    leads: int = 200,
    seed_number: int = 1,
    rate_limits: bool = False,
    now: datetime | None = None,
    frozen: bool = False,
    tls_folder: Path | None = None,
) -> Emulators:
    """Start HubSpot (HTTP) and Salesforce (HTTPS) on loopback, seeded, sharing one clock.

    `now` is where the clock starts (default: the real time), `frozen` keeps it still until
    set or advanced. The seed's history ends at `now`. TLS files go to `tls_folder`, or to a
    temporary folder removed by `stop()`.
    """
    if leads < 0:
        raise ValueError("leads must be 0 or more")
    clock = Clock(now or datetime.now(UTC), frozen=frozen)
    controls = {"hubspot": Control(clock), "salesforce": Control(clock)}
    hubspot = HubSpotState(clock, tokens=(DEFAULT_TOKEN,), rate_limits=rate_limits)
    salesforce = SalesforceState(clock)
    seeded = None
    if seed == "demo":
        seeded = load(generate(leads, seed_number, clock.now()), hubspot, salesforce)
    own_folder = tls_folder is None
    folder = Path(tempfile.mkdtemp(prefix="leadloop-emulator-")) if own_folder else tls_folder
    assert folder is not None
    tls = make_tls_files(folder)
    admin = control_routes(clock, controls)
    servers = [
        ServerThread(
            _with_admin(build_hubspot_app(hubspot, controls["hubspot"]), admin),
            port=hubspot_port,
        ),
        ServerThread(
            _with_admin(build_salesforce_app(salesforce, controls["salesforce"]), admin),
            port=salesforce_port,
            certfile=tls.certfile,
            keyfile=tls.keyfile,
        ),
    ]
    world = Emulators(
        clock=clock,
        hubspot=hubspot,
        salesforce=salesforce,
        controls=controls,
        hubspot_url="",
        salesforce_url="",
        tls=tls,
        salesforce_session_id=salesforce.new_session(),
        seeded=seeded,
        _servers=[],
        _tls_folder=folder if own_folder else None,
    )
    try:
        for server in servers:
            server.start()
            world._servers.append(server)
    except BaseException:
        world.stop()
        raise
    world.hubspot_url, world.salesforce_url = servers[0].url, servers[1].url
    return world


def _with_admin(app: ASGIApp, admin: list[Any]) -> ASGIApp:
    """`app` with the shared admin routes in front of it."""
    return Starlette(routes=[*admin, Mount("", app=app)])
