"""One deterministic story for the crash and fault tests, and the end state it must reach.

Seven people from manufacturing companies. Five of them download a white paper and sign up
for a seminar: they become MQLs and are handed to Salesforce. Two never qualify: one reads the
pricing page and asks a question but never downloads or attends anything, one downloads a
paper without the fit to reach the score. Then sales works in Salesforce, in phases:

1. `marketing`: the activity above; leadloop hands the five MQLs off.
2. `sales`: every lead gets an owner. 一郎 is called and confirms BANT 3 of 4 (an SQL), and
   sales corrects marketing's guess on two of the four axes; 二郎 is called and recycled
   with a reason; 三郎 is called and disqualified with a reason; 四郎 is called and
   confirms all of BANT. Nobody calls 五郎.
3. `deal`: 四郎's lead is converted and the opportunity won, with its amount.
4. `neglect`: 五郎's first-touch SLA is breached (his owner is e-mailed) and escalated (the
   sales manager is e-mailed).

The config is examples/leadloop.yaml with the first-touch SLA counted in seconds of calendar
time (`FIRST_TOUCH`, `ESCALATE`) and every job every second, so the story plays in real time
against a `leadloop run` process as well as on a frozen clock in-process. A phase acts on the
world once, then waits until the store shows its outcome (`Phase.done`).

`end_state` captures what must come out the same however the story was run: per HubSpot
contact, its Salesforce leads and their mapped fields, the HubSpot properties leadloop
writes, the stored lead, its stage history and corrections, its alerts and the e-mails sent
for them, and the quarantine. Timestamps and record ids that differ between runs are left
out or replaced by what they point at.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotConnector
from mappings.model import Lead
from state import Store
from sync.ingest_types import FieldMaps
from tests.sync.builders import SHIPPED_PATH

FIRST_TOUCH = timedelta(seconds=15)
"""The first-touch SLA of the story's config: long enough for sales to call every lead but
五郎 in time however often the daemon is killed meanwhile."""
ESCALATE = timedelta(seconds=5)
MANAGER = "sales-manager@example.co.jp"
CONTACT_ID = "HubSpot_Contact_Id__c"
SF_ID = re.compile(r"00Q[0-9A-Za-z]{15}")
"""A Salesforce lead id (18 characters), also inside a URL."""
SMTP_HOST = "127.0.0.1"
RECORD_MARGIN = 0.5
"""Seconds a sender may take, after the mail server's answer, to record an e-mail as sent."""


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the story: the contact's values and what marketing saw them do."""

    key: str
    first: str
    last: str
    title: str
    employees: str
    forms: tuple[tuple[str, str], ...]
    pages: tuple[str, ...] = ()


def email_of(person: Person) -> str:
    """The person's e-mail address in the story."""
    n = next(n for n, p in enumerate(PEOPLE, start=1) if p == person)
    return f"{person.key.replace('_', '-')}@sample-mfg{n}.co.jp"


QUALIFYING = (("DX白書 資料ダウンロード", "/whitepaper"), ("製造業DXセミナー 申込", "/seminar"))
PEOPLE = (
    Person("sql", "一郎", "山田", "情報システム部 部長", "100-500", QUALIFYING),
    Person("recycled", "二郎", "佐々木", "製造部 部長", "500-1000", QUALIFYING),
    Person("disqualified", "三郎", "高橋", "経営企画室 取締役", "100-500", QUALIFYING),
    Person("won", "四郎", "田中", "DX推進本部 本部長", "1000+", QUALIFYING),
    Person("neglected", "五郎", "伊藤", "生産技術部 部長", "100-500", QUALIFYING),
    Person(
        "no_required_action",
        "六郎",
        "渡辺",
        "工場長 部長",
        "100-500",
        (("お問い合わせ", "/contact"),),
        ("https://www.example.co.jp/pricing",),
    ),
    Person(
        "low_score", "七郎", "中村", "担当", "5-25", (("DX白書 資料ダウンロード", "/whitepaper"),)
    ),
)
QUALIFIED = ("sql", "recycled", "disqualified", "won", "neglected")
TOUCHED = ("sql", "recycled", "disqualified", "won")
REPS = {"sato@example.co.jp": "佐藤 営業", "suzuki@example.co.jp": "鈴木 営業"}
OWNER = {key: "sato@example.co.jp" for key in QUALIFIED} | {"neglected": "suzuki@example.co.jp"}
SALES_FIELDS: dict[str, dict[str, Any]] = {
    "sql": {
        "BANT_Budget__c": True,
        "BANT_Authority__c": True,
        "BANT_Need__c": True,
        "Problem_Clarity__c": "vague",
        "Decision_Structure__c": "consensus",
    },
    "recycled": {"Status": "Recycled", "Recycle_Reason__c": "予算の確保は来期 (budget next term)"},
    "disqualified": {
        "Status": "Disqualified",
        "Recycle_Reason__c": "競合製品を導入済み (already bought a competitor's product)",
    },
    "won": {
        "BANT_Budget__c": True,
        "BANT_Authority__c": True,
        "BANT_Need__c": True,
        "BANT_Timeline__c": True,
    },
}
AMOUNT = 3_000_000
PHASES = ("marketing", "sales", "deal", "neglect")


def write_config(folder: Path) -> Path:
    """examples/leadloop.yaml with the story's SLA in seconds, every job every second and no
    daily digest (its time of day would make the story depend on the wall clock)."""
    raw = yaml.safe_load(SHIPPED_PATH.read_text(encoding="utf-8"))
    first_touch = raw["sla"]["first_touch"]
    first_touch["within"] = f"{int(FIRST_TOUCH.total_seconds())}s"
    first_touch["escalate_after"] = f"{int(ESCALATE.total_seconds())}s"
    raw["schedule"] = {
        "ingest": "1s",
        "score": "1s",
        "handoff": "1s",
        "alerts": "1s",
        "feedback": "1s",
        "misfire_grace": "10s",
    }
    raw["alerts"]["digest_at"] = None
    raw["alerts"]["escalate_to"] = [MANAGER]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leadloop.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the mail server ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One e-mail the server accepted."""

    message_id: str
    alert: str
    to: tuple[str, ...]
    subject: str
    at: float
    """When it arrived (`time.monotonic()`)."""


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every message it accepts. `delay` holds the answer to
    DATA back after the message is kept: a sender killed meanwhile has delivered the message
    without knowing it (the e-mail in flight)."""

    delay: float = 0.0
    sent: list[Sent] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.original_content, bytes)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sent.append(
            Sent(
                message_id=str(parsed["Message-ID"]),
                alert=str(parsed["X-Leadloop-Alert"]),
                to=tuple(sorted(envelope.rcpt_tos)),
                subject=str(parsed["Subject"]),
                at=time.monotonic(),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 Message accepted for delivery"


@contextmanager
def smtp_server(mailbox: Mailbox) -> Iterator[str]:
    """A plain SMTP server on loopback keeping what it receives in `mailbox`; its SMTP_URL."""
    with socket.socket() as probe:  # aiosmtpd needs a port number; 0 does not work
        probe.bind((SMTP_HOST, 0))
        port: int = probe.getsockname()[1]
    controller = Controller(mailbox, hostname=SMTP_HOST, port=port, server_hostname="mail.test")
    controller.start()
    try:
        yield f"smtp://{SMTP_HOST}:{port}"
    finally:
        controller.stop()


# --- the story ---------------------------------------------------------------------------


class StoreView:
    """What the store says about the story's contacts, each look in one short transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def leads(self) -> dict[str, Lead]:
        """The stored leads by HubSpot contact id."""
        with self.store.transaction() as repo:
            return {lead.hubspot_id: lead for lead in repo.leads() if lead.hubspot_id}

    def alerts_sent(self, contact_id: str) -> set[tuple[str, int]]:
        """(SLA, level) of each alert sent for the contact's lead."""
        with self.store.transaction() as repo:
            lead = repo.find_lead(hubspot_id=contact_id)
            if lead is None:
                return set()
            return {(a.sla, a.level) for a in repo.alerts_for(lead.key) if a.status == "sent"}


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of the story: what the world does, and what the store shows once leadloop
    has taken it in."""

    name: str
    act: Callable[[Story], None]
    done: Callable[[Story, StoreView], bool]


class Story:
    """The story's world: its people as HubSpot contacts and Salesforce leads."""

    def __init__(self, world: Emulators, emails: Mapping[str, str] | None = None) -> None:
        self.world = world
        self.emails = {p.key: email_of(p) for p in PEOPLE} | dict(emails or {})
        """Each person's e-mail address as marketing imports it (a test may spoil one)."""
        self.contacts: dict[str, str] = {}
        self.users: dict[str, str] = {}

    def prepare(self, hubspot: HubSpotConnector, maps: FieldMaps) -> None:
        """What exists before leadloop starts: its HubSpot properties (as `leadloop check
        --connect --fix` makes them) and the sales reps in Salesforce."""
        for crm_field in maps.hubspot.required_crm_fields():
            if crm_field.custom is not None:
                hubspot.create_property(crm_field.custom.to_hubspot())
        for email, name in REPS.items():
            self.users[email] = self.world.salesforce.add_user(name, email)

    def salesforce_lead(self, key: str) -> str:
        """The Salesforce lead id of a person (there is exactly one once handed off)."""
        contact = self.contacts[key]
        rows = [r for r in self.world.salesforce.rows("Lead") if r[CONTACT_ID] == contact]
        assert len(rows) == 1, f"{key}: {len(rows)} Salesforce leads for contact {contact}"
        return str(rows[0]["Id"])

    @property
    def phases(self) -> tuple[Phase, ...]:
        acts = (_marketing, _sales, _deal, _neglect)
        dones = (_handed_off, _sales_taken_in, _won, _escalated)
        return tuple(Phase(*step) for step in zip(PHASES, acts, dones, strict=True))


def _marketing(story: Story) -> None:
    world = story.world
    now = world.clock.now()
    for n, person in enumerate(PEOPLE, start=1):
        contact = world.hubspot.add_contact(
            {
                "email": story.emails[person.key],
                "firstname": person.first,
                "lastname": person.last,
                "company": f"株式会社サンプル製作所{n}",
                "jobtitle": person.title,
                "industry": "製造業",
                "numemployees": person.employees,
            },
            at=now - timedelta(minutes=3),
        )
        story.contacts[person.key] = contact
        for step, (form, url) in enumerate(person.forms, start=1):
            at = now - timedelta(minutes=3) + step * timedelta(seconds=20)
            world.hubspot.add_form_submission(contact, form, url, at)
        for url in person.pages:
            world.hubspot.add_page_view(contact, url, now - timedelta(minutes=1))


def _handed_off(story: Story, view: StoreView) -> bool:
    leads = view.leads()
    if not set(story.contacts.values()) <= set(leads):
        return False
    return all(
        leads[story.contacts[key]].times.handed_off_at is not None
        and leads[story.contacts[key]].salesforce_id
        for key in QUALIFIED
    )


def _sales(story: Story) -> None:
    world = story.world
    for key in QUALIFIED:
        lead_id = story.salesforce_lead(key)
        values = {"OwnerId": story.users[OWNER[key]], **SALES_FIELDS.get(key, {})}
        world.salesforce.set_fields(lead_id, values)
        if key in TOUCHED:
            world.salesforce.log_call(lead_id, world.clock.now())


def _sales_taken_in(story: Story, view: StoreView) -> bool:
    expected = {"sql": "sql", "recycled": "recycled", "disqualified": "disqualified", "won": "sql"}
    leads = view.leads()
    for key in QUALIFIED:
        lead = leads.get(story.contacts[key])
        if lead is None or lead.fit.owner != OWNER[key]:
            return False
        if key in expected and lead.stage != expected[key]:
            return False
        if key in TOUCHED and lead.times.first_touch_at is None:
            return False
    return True


def _deal(story: Story) -> None:
    world = story.world
    opportunity = world.salesforce.convert_lead(story.salesforce_lead("won"), world.clock.now())
    world.salesforce.close_opportunity(opportunity, True, AMOUNT, world.clock.now())


def _won(story: Story, view: StoreView) -> bool:
    lead = view.leads().get(story.contacts["won"])
    return lead is not None and lead.stage == "won"


def _neglect(story: Story) -> None:
    """Nobody calls 五郎."""


def _escalated(story: Story, view: StoreView) -> bool:
    return {("first_touch", 1), ("first_touch", 2)} <= view.alerts_sent(story.contacts["neglected"])


# --- the end state -------------------------------------------------------------------------

SALESFORCE_LEFT_OUT = frozenset({"Id", "MQL_Date__c", "Owner.Email"})
"""Salesforce map fields left out of the end state: the record id (replaced by what it
points at) and the MQL instant (when the score job ran)."""
HUBSPOT_LEFT_OUT = frozenset({"leadloop_mql_date"})
HUBSPOT_ID_PROPERTIES = frozenset({"leadloop_salesforce_lead_id", "leadloop_salesforce_url"})


def end_state(
    world: Emulators, store_url: str, mails: list[Sent], maps: FieldMaps
) -> dict[str, Any]:
    """Everything the story must end with, keyed by HubSpot contact id (see the module)."""
    contacts = sorted(world.hubspot.contacts, key=int)
    sf_leads: dict[str, list[dict[str, Any]]] = {}
    strays = 0
    for row in world.salesforce.rows("Lead"):
        if row[CONTACT_ID]:
            sf_leads.setdefault(str(row[CONTACT_ID]), []).append(row)
        else:
            strays += 1
    ids = {
        str(row["Id"]): f"<salesforce lead of {contact}>"
        for contact, rows in sf_leads.items()
        for row in rows
    }
    state: dict[str, Any] = {
        "salesforce_leads_without_contact": strays,
        "hubspot_contacts": len(contacts),
        "contacts": {},
    }
    store = Store.connect(store_url)
    try:
        with store.transaction() as repo:
            stored: Counter[str] = Counter(lead.hubspot_id or "" for lead in repo.leads())
            state["stored_leads_per_contact"] = dict(sorted(stored.items()))
            for contact in contacts:
                lead = repo.find_lead(hubspot_id=contact)
                state["contacts"][contact] = {
                    "salesforce": [
                        _salesforce(world, row, maps, ids) for row in sf_leads.get(contact, [])
                    ],
                    "hubspot": _hubspot(world, contact, maps, ids),
                    "lead": _lead(lead, ids),
                    "stage_history": [
                        (c.from_stage, c.to_stage, tuple(_ids(r, ids) for r in c.reasons))
                        for c in (repo.stage_history(lead.key) if lead else [])
                    ],
                    "corrections": [
                        (c.axis, c.hypothesis, c.observed, c.source)
                        for c in (repo.corrections(lead.key) if lead else [])
                    ],
                    "alerts": sorted(
                        (a.sla, a.level, a.status, a.recipient)
                        for a in (repo.alerts_for(lead.key) if lead else [])
                    ),
                }
            keys = {lead.key: lead.hubspot_id or lead.key for lead in repo.leads()}
            state["quarantine"] = sorted(
                (
                    q.system,
                    q.operation,
                    keys.get(q.record_key, _ids(q.record_key, ids)),
                    q.error_code,
                    _ids(q.error_message, ids),
                    q.resolved_at is not None,
                )
                for q in repo.quarantined(include_resolved=True)
            )
    finally:
        store.dispose()
    state["mails"] = mail_sends(world, mails)
    return state


def mail_sends(world: Emulators, mails: list[Sent]) -> dict[str, dict[str, Any]]:
    """The alert e-mails by `<contact id>/<sla>/<level>`: recipients, sends, Message-IDs
    and when each send arrived."""
    by_name = {
        f"{view['properties'].get('lastname')} {view['properties'].get('firstname')}": contact
        for contact in world.hubspot.contacts
        if (view := world.hubspot.contact_view(contact))
    }
    found: dict[str, dict[str, Any]] = {}
    for mail in mails:
        contact = next((c for name, c in by_name.items() if name in mail.subject), "?")
        entry = found.setdefault(
            f"{contact}/{mail.alert}",
            {"to": mail.to, "sends": 0, "message_ids": set(), "arrived": []},
        )
        entry["sends"] += 1
        entry["message_ids"].add(mail.message_id)
        entry["arrived"].append(mail.at)
    return dict(sorted(found.items()))


def _ids(text: str, ids: dict[str, str]) -> str:
    """`text` with each Salesforce lead id replaced by the contact it belongs to."""
    return SF_ID.sub(lambda m: ids.get(m.group(0), "<unknown salesforce lead>"), text)


def _salesforce(
    world: Emulators, row: dict[str, Any], maps: FieldMaps, ids: dict[str, str]
) -> dict[str, Any]:
    names = {f.crm_field for f in maps.salesforce.fields} - SALESFORCE_LEFT_OUT
    values = {name: _plain(row.get(name)) for name in sorted(names)}
    values["IsConverted"] = row["IsConverted"]
    values["Owner"] = _owner(world, row.get("OwnerId"))
    opportunity = row.get("ConvertedOpportunityId")
    if opportunity:
        opp = world.salesforce.get("Opportunity", str(opportunity))
        values["Opportunity"] = (opp["StageName"], opp["Amount"])
    return values


def _owner(world: Emulators, user_id: Any) -> str | None:
    if not user_id:
        return None
    return str(world.salesforce.get("User", str(user_id))["Email"])


def _hubspot(
    world: Emulators, contact: str, maps: FieldMaps, ids: dict[str, str]
) -> dict[str, Any]:
    properties = world.hubspot.contact_view(contact)["properties"]
    written = {f.crm_field for f in maps.hubspot.fields if f.writes} - HUBSPOT_LEFT_OUT
    values: dict[str, Any] = {}
    for name in sorted(written):
        value = properties.get(name)
        values[name] = _ids(value, ids) if name in HUBSPOT_ID_PROPERTIES and value else value
    return values


def _lead(lead: Lead | None, ids: dict[str, str]) -> dict[str, Any] | None:
    if lead is None:
        return None
    times = lead.times
    return {
        "stage": lead.stage,
        "stage_reason": lead.stage_reason,
        "salesforce": ids.get(lead.salesforce_id or "", lead.salesforce_id),
        "owner": lead.fit.owner,
        "score": lead.score.total,
        "reasons": [(r.rule, r.points, r.count) for r in lead.score.reasons],
        "bant": (lead.bant.budget, lead.bant.authority, lead.bant.need, lead.bant.timeline),
        "assessment": [
            (axis, lead.assessment.axis(axis).hypothesis, lead.assessment.axis(axis).observed)
            for axis in ("problem", "solution", "decision", "timeline")
        ],
        "outcome": None if lead.outcome is None else (lead.outcome.won, str(lead.outcome.amount)),
        "times_set": sorted(name for name in times.__dataclass_fields__ if getattr(times, name)),
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def differences(
    expected: dict[str, Any],
    actual: dict[str, Any],
    *,
    kills: Sequence[float] = (),
    in_flight: float = 0.0,
) -> list[str]:
    """Where `actual` differs from `expected`, one line each. An alert e-mail may have gone
    again, with the same Message-ID, once for each of `kills` (`time.monotonic()` instants)
    that came while one of its sends was in flight: within `in_flight` seconds (plus a
    margin for the sender to record it) after the mail server had it."""
    found: list[str] = []
    _walk("", _without_mails(expected), _without_mails(actual), found)
    want, got = expected.get("mails", {}), actual.get("mails", {})
    for key in sorted(set(want) | set(got)):
        if key not in got or key not in want:
            found.append(f"mails/{key}: expected {want.get(key)}, got {got.get(key)}")
            continue
        w, g = want[key], got[key]
        window = in_flight + RECORD_MARGIN
        hits = sum(1 for k in kills if any(0 <= k - at <= window for at in g["arrived"]))
        if g["to"] != w["to"] or len(g["message_ids"]) != len(w["message_ids"]):
            found.append(f"mails/{key}: expected {w}, got {g}")
        elif not w["sends"] <= g["sends"] <= w["sends"] + hits:
            found.append(
                f"mails/{key}: {g['sends']} sends, expected {w['sends']} and at most {hits}"
                " more (the kills while one was in flight)"
            )
    return found


def _without_mails(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key != "mails"}


def _walk(path: str, expected: Any, actual: Any, found: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual or key not in expected:
                found.append(
                    f"{path}/{key}: expected {expected.get(key)!r}, got {actual.get(key)!r}"
                )
            else:
                _walk(f"{path}/{key}", expected[key], actual[key], found)
    elif expected != actual:
        found.append(f"{path}: expected {expected!r}, got {actual!r}")


STAGES = {
    "sql": "sql",
    "recycled": "recycled",
    "disqualified": "disqualified",
    "won": "won",
    "neglected": "mql",
    "no_required_action": "lead",
    "low_score": "lead",
}
"""Where each person's lead ends."""
LIFECYCLE = {
    "sql": "salesqualifiedlead",
    "recycled": "lead",
    "disqualified": "other",
    "won": "customer",
    "neglected": "marketingqualifiedlead",
    "no_required_action": "lead",
    "low_score": "lead",
}
"""The lifecycle stage HubSpot shows for each person in the end."""


def story_problems(state: dict[str, Any]) -> list[str]:
    """Where an end state departs from what the story itself promises (the module's
    summary), whatever run it came from: a check of the reference run itself."""
    found: list[str] = []
    contacts: dict[str, Any] = state["contacts"]
    by_key = dict(zip((p.key for p in PEOPLE), sorted(contacts, key=int), strict=True))
    for key, contact in by_key.items():
        entry = contacts[contact]
        stage = entry["lead"]["stage"] if entry["lead"] else None
        if stage != STAGES[key]:
            found.append(f"{key}: stage {stage}, expected {STAGES[key]}")
        shown = entry["hubspot"]["lifecyclestage"]
        if shown != LIFECYCLE[key]:
            found.append(f"{key}: HubSpot lifecycle stage {shown!r}, expected {LIFECYCLE[key]}")
        handed = 1 if key in QUALIFIED else 0
        if len(entry["salesforce"]) != handed:
            found.append(f"{key}: {len(entry['salesforce'])} Salesforce leads, expected {handed}")
    if state["stored_leads_per_contact"] != {c: 1 for c in by_key.values()}:
        found.append(f"stored leads per contact: {state['stored_leads_per_contact']}")
    corrections = contacts[by_key["sql"]]["corrections"]
    if len(corrections) != 2:
        found.append(f"sql: corrections {corrections}, expected two")
    won = contacts[by_key["won"]]["lead"]["outcome"]
    if won != (True, f"{AMOUNT}.00"):
        found.append(f"won: outcome {won}")
    neglected = by_key["neglected"]
    alerts = {
        f"{neglected}/first_touch/1": (OWNER["neglected"],),
        f"{neglected}/first_touch/2": (MANAGER,),
    }
    if {key: mail["to"] for key, mail in state["mails"].items()} != alerts:
        found.append(f"alert e-mails: {state['mails']}, expected {alerts}")
    for key, mail in state["mails"].items():
        if mail["sends"] != 1:
            found.append(f"{key}: sent {mail['sends']} times")
    return found
