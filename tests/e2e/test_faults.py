"""Faults on every route the connectors use: the story still ends as a clean run ends.

The story of `tests.e2e.story` plays in-process on a frozen clock (a cycle of every job per
emulated second), first without faults: its end state is the reference, and the emulators'
counters list the routes the connectors used (`METHOD /route`). Then once per family of
faults, each armed on every one of those routes where the vendor answers that way:

- `rate_limit`: HubSpot's 429 with its policy and `X-HubSpot-RateLimit-*` headers (SECONDLY
  for search, TEN_SECONDLY_ROLLING elsewhere), Salesforce's 403 REQUEST_LIMIT_EXCEEDED;
- `server_error`: a 500 then a 503, each vendor's body;
- `timeout`: an answer held back longer than the clients' timeout (the service makes the
  write anyway, so a retried write arrives twice);
- `dropped`: the connection broken in the middle of the answer;
- `expired_session`: the Salesforce session expired (every session revoked, and 401
  INVALID_SESSION_ID on each route); the connector logs in again with the org's username
  and password;
- a bad record in a batch (a test of its own): a Salesforce lead whose e-mail address
  Salesforce refuses (an internationalised domain HubSpot accepts) and a HubSpot
  write-back of an option an admin removed. Each is quarantined with the CRM's own words
  while the rest of its batch is written; once the data is put right, `leadloop errors
  --replay` sends it again.

Each fault is for one call and stays armed until a call meets it; a route whose fault was
met gets a new one before the next cycle (the slow `timeout` family: before the next phase).
Retries do not sleep. Every family must reach the reference end state with no job run
failed (each fault waited out or retried within its job), and every route must have met its
faults.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators, start_emulators
from sync.cli import main
from sync.config import load_config
from sync.ingest_types import FieldMaps
from tests.e2e.drivers import InProcess, connectors, in_process, play
from tests.e2e.story import (
    CONTACT_ID,
    PEOPLE,
    TOUCHED,
    Mailbox,
    Phase,
    Story,
    differences,
    email_of,
    smtp_server,
    story_problems,
    write_config,
)

TIMEOUT = 0.1
"""The clients' timeout in the `timeout` family; the held-back answers take twice that."""
SOAP = "/services/Soap/"
EXPECTED_ROUTES = {
    "hubspot": {
        "POST /crm/v3/objects/contacts/search",
        "POST /crm/v3/objects/contacts/batch/read",
        "POST /crm/v3/objects/contacts/batch/update",
        "GET /email/public/v1/events",
    },
    "salesforce": {
        "GET /services/data/{version}/query/",
        "GET /services/data/{version}/queryAll/",
        "PATCH /services/data/{version}/composite/sobjects/{sobject}/{field}",
    },
}
"""Routes the story must use at the least (the reference may use more: all are faulted)."""
Routes = dict[str, list[str]]


@dataclass
class Played:
    """A story played in-process: its end state, the routes used, the faults armed, the
    job runs that failed and the counts of the runs summed."""

    state: dict[str, Any]
    routes: Routes
    armed: list[tuple[str, str, Fault]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


Arm = Callable[[Emulators, Routes, str], list[tuple[str, str, Fault]]]
"""Arms faults before a cycle of the named phase; the (service, route, fault) armed."""


def play_in_process(
    folder: Path,
    maps: FieldMaps,
    *,
    arm: Arm | None = None,
    routes: Routes | None = None,
    timeout: float | None = None,
    on_cycle: Callable[[Story, InProcess], None] | None = None,
    setup: Callable[[Story], None] | None = None,
    story_emails: dict[str, str] | None = None,
) -> Played:
    """The story on a frozen clock that starts now (so a replay queued by the CLI, stamped
    with the real clock, is due), with the Salesforce connector logging in by password."""
    config = load_config(write_config(folder))
    mailbox = Mailbox()
    start = datetime.now(UTC).replace(microsecond=0)
    with start_emulators(now=start, frozen=True) as world, smtp_server(mailbox) as smtp_url:
        story = Story(world, story_emails)
        with connectors(world) as (hubspot, _):
            story.prepare(hubspot, maps)
        if setup is not None:
            setup(story)
        for control in world.controls.values():
            control.counters.reset()
        played = Played({}, {})
        phase = ""

        def entered(step: Phase) -> None:
            nonlocal phase
            phase = step.name

        def before_cycle() -> None:
            if on_cycle is not None:
                on_cycle(story, runner)
            if arm is not None and routes is not None:
                played.armed += arm(world, routes, phase)

        with in_process(
            world, config, maps, folder, smtp_url, mailbox.sent, timeout=timeout, log_in=True
        ) as runner:
            runner.before_cycle = before_cycle
            play(story, runner, entered)
            phase = "settle"
            runner.settle()
            played.state = runner.snapshot()
            played.failed = [f"{r.job}: {r.error}" for r in runner.runs if not r.ok]
            for run in runner.runs:
                played.counts.update(run.counts)
        played.routes = {
            service: sorted(control.counters.snapshot())
            for service, control in world.controls.items()
        }
    return played


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, maps: FieldMaps) -> Played:
    """The story without faults: the end state every family must reach, and the routes."""
    return play_in_process(tmp_path_factory.mktemp("clean"), maps)


# --- the families --------------------------------------------------------------------------


class Arming:
    """Keeps a fault armed on every route: a route whose fault a call has met gets a new one
    before the next cycle (`per_phase`: before the first cycle of the next phase)."""

    def __init__(self, make: Callable[[str, str], list[Fault]], *, per_phase: bool = False):
        self.make = make
        self.per_phase = per_phase
        self.last: dict[tuple[str, str], tuple[str, list[Fault]]] = {}

    def __call__(
        self, world: Emulators, routes: Routes, phase: str
    ) -> list[tuple[str, str, Fault]]:
        armed = []
        for service, names in routes.items():
            for route in names:
                phase_armed, faults = self.last.get((service, route), ("", []))
                if any(f.times for f in faults) or (self.per_phase and phase_armed == phase):
                    continue
                faults = self.make(service, route)
                self.last[(service, route)] = (phase, faults)
                for fault in faults:
                    world.controls[service].faults.add(fault)
                    armed.append((service, route, fault))
        return armed


def _exactly(route: str) -> str:
    return f"^{re.escape(route)}$"


def _hubspot_body(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": "8c5ac5f1-2e3d-4c1a-9f3b-5b1f0f0e7d21",
        "category": category,
    }


def _salesforce_body(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code}]


def _soap_fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail>"
        '<sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def _rate_limited(service: str, route: str) -> list[Fault]:
    if service == "salesforce":
        if SOAP in route:
            return []  # the login call is not rate limited (no REQUEST_LIMIT_EXCEEDED there)
        body: Any = _salesforce_body(
            "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
        )
        return [Fault(route=_exactly(route), status=403, body=body, times=1)]
    search = route.endswith("/search")
    policy = "SECONDLY" if search else "TEN_SECONDLY_ROLLING"
    body = {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "3f2b3a4e-8a64-4e5b-9d1c-6a1d8f0c2b7e",
        "policyName": policy,
        "groupName": "private-app:emulator",
    }
    headers = (
        {}
        if search  # search answers carry no rate-limit headers
        else {
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": "249000",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Secondly": "10",
            "X-HubSpot-RateLimit-Secondly-Remaining": "0",
        }
    )
    return [Fault(route=_exactly(route), status=429, body=body, headers=headers, times=1)]


def _server_errors(service: str, route: str) -> list[Fault]:
    if service == "hubspot":
        first: Any = _hubspot_body("internal error", "INTERNAL_ERROR")
        second: Any = _hubspot_body("Service Unavailable", "SERVICE_UNAVAILABLE")
    elif SOAP in route:
        first = _soap_fault("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        second = "<html><body><h1>503 Service Unavailable</h1></body></html>"
    else:
        first = _salesforce_body(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact"
            " support: 1455213297-101166 (-1797606233)",
        )
        second = _salesforce_body("SERVER_UNAVAILABLE", "Server temporarily unavailable")
    return [
        Fault(route=_exactly(route), status=500, body=first, times=1),
        Fault(route=_exactly(route), status=503, body=second, times=1),
    ]


def _held_back(service: str, route: str) -> list[Fault]:
    return [Fault(route=_exactly(route), kind="latency", seconds=2 * TIMEOUT, times=1)]


def _dropped(service: str, route: str) -> list[Fault]:
    return [Fault(route=_exactly(route), kind="drop", times=1)]


def _session_expired(service: str, route: str) -> list[Fault]:
    if service != "salesforce" or SOAP in route:
        return []
    body = _salesforce_body("INVALID_SESSION_ID", "Session expired or invalid")
    return [Fault(route=_exactly(route), status=401, body=body, times=1)]


class _Expiring(Arming):
    def __call__(
        self, world: Emulators, routes: Routes, phase: str
    ) -> list[tuple[str, str, Fault]]:
        world.salesforce.expire_sessions()  # the session the connector holds dies too
        return super().__call__(world, routes, phase)


FAMILIES: dict[str, tuple[Callable[[], Arm], float | None]] = {
    "rate_limit": (lambda: Arming(_rate_limited), None),
    "server_error": (lambda: Arming(_server_errors), None),
    "timeout": (lambda: Arming(_held_back, per_phase=True), TIMEOUT),
    "dropped": (lambda: Arming(_dropped), None),
    "expired_session": (lambda: _Expiring(_session_expired), None),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_faults_on_every_route_end_as_a_clean_run(
    family: str, reference: Played, maps: FieldMaps, tmp_path: Path
) -> None:
    """The story with this family of faults on every route ends as it ends without."""
    make, timeout = FAMILIES[family]
    faulted = play_in_process(tmp_path, maps, arm=make(), routes=reference.routes, timeout=timeout)

    assert differences(reference.state, faulted.state) == []
    assert faulted.failed == []  # every fault was waited out or retried within its job
    if family == "rate_limit":  # waited as the services said, not merely retried
        assert faulted.counts["rate_limit_waits.hubspot"] > 0
        assert faulted.counts["rate_limit_waits.salesforce"] > 0
    met = {(service, route) for service, route, fault in faulted.armed if fault.times == 0}
    armed = {(service, route) for service, route, _ in faulted.armed}
    assert armed - met == set(), "routes whose fault no call met"
    assert met


def test_the_reference_uses_every_route_and_tells_the_story(reference: Played) -> None:
    """The clean run is the story itself, and reaches every route the faults are meant for."""
    assert story_problems(reference.state) == []
    for service, routes in EXPECTED_ROUTES.items():
        assert routes <= set(reference.routes[service])
    assert any(SOAP in route for route in reference.routes["salesforce"])  # the login


# --- a bad record in a batch -----------------------------------------------------------------

IDN_EMAIL = "ito.goro@サンプル製作所5.jp"
"""An address with an internationalised domain: HubSpot takes it, Salesforce refuses it."""
REMOVED_OPTION = ("leadloop_problem_clarity", "vague")
"""A HubSpot option an admin removed, which the write-back of 一郎's assessment needs."""


def test_refused_records_are_quarantined_and_replayed(
    reference: Played,
    maps: FieldMaps,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Salesforce lead and a HubSpot write-back, each refused within its batch, are
    quarantined with the CRM's own words while the rest of the batch is written; once the
    data is right, `leadloop errors --replay` brings the story to the clean run's end."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    options: list[tuple[str, str]] = []
    refused: dict[str, tuple[str, str | None, str, set[str]]] = {}

    def setup(story: Story) -> None:
        prop = story.world.hubspot.properties[REMOVED_OPTION[0]]
        options.extend(prop.options)
        prop.options = [o for o in prop.options if o[0] != REMOVED_OPTION[1]]

    def on_cycle(story: Story, runner: InProcess) -> None:
        with runner.store.transaction() as repo:
            records = repo.quarantined()
            contact_of = {lead.key: lead.hubspot_id or "" for lead in repo.leads()}
        if not records:
            return
        world = story.world
        for record in records:
            # What the rest of the refused record's batch left in the CRMs meanwhile.
            if record.operation == "handoff.upsert_lead":
                rest = {str(row[CONTACT_ID]) for row in world.salesforce.rows("Lead")}
            else:
                rest = {
                    contact
                    for contact in story.contacts.values()
                    if world.hubspot.contact_view(contact)["properties"].get("hs_lead_status")
                    in ("BAD_TIMING", "UNQUALIFIED")
                }
            refused[record.operation] = (
                contact_of[record.record_key],
                record.error_code,
                record.error_message,
                rest,
            )
        operations = {record.operation for record in records}
        if "handoff.upsert_lead" in operations:  # marketing corrects the address
            with connectors(world) as (hubspot, _):
                update = {story.contacts["neglected"]: {"email": email_of(PEOPLE[4])}}
                assert not hubspot.update_contacts(update).failed
        if "writeback.update_contact" in operations:  # the admin puts the option back
            world.hubspot.properties[REMOVED_OPTION[0]].options = options
        assert main(["errors", "--replay"]) == 0

    played = play_in_process(
        tmp_path,
        maps,
        on_cycle=on_cycle,
        setup=setup,
        story_emails={"neglected": IDN_EMAIL},
    )
    out = capsys.readouterr().out

    ids = sorted(played.state["contacts"], key=int)
    contacts = dict(zip((p.key for p in PEOPLE), ids, strict=True))
    handoff, writeback = refused["handoff.upsert_lead"], refused["writeback.update_contact"]
    assert handoff[:2] == (contacts["neglected"], "INVALID_EMAIL_ADDRESS")
    assert IDN_EMAIL in handoff[2]
    assert handoff[3] == {contacts[key] for key in TOUCHED}  # the rest of the batch
    assert writeback[:2] == (contacts["sql"], "INVALID_OPTION")
    assert "vague was not one of the allowed options" in writeback[2]
    assert writeback[3] == {contacts["recycled"], contacts["disqualified"]}
    assert "INVALID_EMAIL_ADDRESS" in out and "queued 1 write(s) again" in out
    assert played.state["quarantine"] == [
        ("hubspot", "writeback.update_contact", contacts["sql"], *writeback[1:3], True),
        ("salesforce", "handoff.upsert_lead", contacts["neglected"], *handoff[1:3], True),
    ]
    assert differences(_no_quarantine(reference.state), _no_quarantine(played.state)) == []


def _no_quarantine(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key != "quarantine"}
