"""One story through every job, against both emulators over real HTTP with the real SDKs.

Two people from the same kind of company download a white paper and attend a seminar on
Friday 2026-01-09 (JST): both become MQLs and are handed to Salesforce. Sales calls one of
them on Tuesday and confirms three BANT items: an SQL, which HubSpot then shows, followed up
by a meeting on Wednesday within the SQL's 48 hours. Nobody
calls the other: on Thursday the first-touch SLA (3 business days, Monday 1/12 being a
holiday) is breached and the owner is e-mailed; on Friday it escalates to the sales
manager. Each e-mail goes once, however often the jobs run.
"""

from __future__ import annotations

import email
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import structlog

from connectors.emulator.runtime import Emulators
from state import Store
from sync.config import Config
from sync.ingest_types import FieldMaps
from sync.jobs.context import JobContext
from sync.jobs.runner import run_pipeline
from sync.logs import configure_logging
from sync.mail import FolderMailer
from tests.conftest import WORLD_START
from tests.sync.conftest import Crm

HOUR = timedelta(hours=1)
JST_DAY = timedelta(days=1)


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """The sync log as JSON lines; logging given back as found afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(stream=stream, json=True)
    yield stream
    structlog.reset_defaults()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def ctx(crm: Crm, tmp_path: Path, shipped: Config, maps: FieldMaps) -> Iterator[JobContext]:
    """The jobs' context on the emulators, with the HubSpot properties leadloop writes made
    first (as `leadloop check --connect --fix` makes them in a real account)."""
    for field in maps.hubspot.required_crm_fields():
        if field.custom is not None:
            crm.hubspot.create_property(field.custom.to_hubspot())
    store = Store.connect(f"sqlite:///{tmp_path / 'state.db'}", migrate=True, clock=crm.now)
    mailer = FolderMailer(tmp_path / "mail")
    yield JobContext(store, crm.hubspot, crm.salesforce, shipped, maps, crm.now, mailer)
    store.dispose()


def person(world: Emulators, n: int, name: str) -> str:
    contact = world.hubspot.add_contact(
        {
            "email": f"person{n}@sample-mfg.co.jp",
            "firstname": name,
            "lastname": "山田",
            "company": f"株式会社サンプル製作所{n}",
            "jobtitle": "情報システム部 部長",
            "industry": "製造業",
            "numemployees": "100-500",
        },
        at=WORLD_START - 3 * HOUR,
    )
    world.hubspot.add_form_submission(
        contact, "DX白書 資料ダウンロード", "/whitepaper", WORLD_START - 2 * HOUR
    )
    world.hubspot.add_form_submission(
        contact, "製造業DXセミナー 申込", "/seminar", WORLD_START - HOUR
    )
    return contact


def mails(ctx: JobContext) -> list[EmailMessage]:
    assert isinstance(ctx.mailer, FolderMailer)
    found = sorted(ctx.mailer.folder.glob("*.eml")) if ctx.mailer.folder.exists() else []
    return [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[misc]
        for path in found
    ]


def run(ctx: JobContext, world: Emulators, at: datetime) -> None:
    world.clock.set(at, frozen=True)
    outcomes = run_pipeline(ctx)
    assert [o.error for o in outcomes if not o.ok] == []


def test_mql_handoff_alert_sql_and_write_back(crm: Crm, ctx: JobContext, log: io.StringIO) -> None:
    world = crm.world
    touched = person(world, 1, "太郎")
    neglected = person(world, 2, "花子")
    rep = world.salesforce.add_user("佐藤 営業", "sato@example.co.jp")

    run(ctx, world, WORLD_START + 5 * 60 * timedelta(seconds=1))

    with ctx.store.transaction() as repo:
        leads = {lead.hubspot_id: lead for lead in repo.leads()}
    assert {leads[c].stage for c in (touched, neglected)} == {"mql"}
    assert all(leads[c].times.handed_off_at is not None for c in (touched, neglected))
    in_salesforce = {r["HubSpot_Contact_Id__c"]: r for r in world.salesforce.rows("Lead")}
    assert set(in_salesforce) == {touched, neglected}
    assert in_salesforce[touched]["Lead_Score__c"] == leads[touched].score.total
    assert world.hubspot.contact_view(touched)["properties"]["lifecyclestage"] == (
        "marketingqualifiedlead"
    )
    for contact in (touched, neglected):
        world.salesforce.set_fields(in_salesforce[contact]["Id"], {"OwnerId": rep})

    # Tuesday 1/13 (Monday is 成人の日): sales calls one of them and confirms BANT.
    tuesday = WORLD_START + 4 * JST_DAY
    world.clock.set(tuesday, frozen=True)
    first = in_salesforce[touched]["Id"]
    world.salesforce.log_call(first, tuesday)
    world.salesforce.set_fields(
        first, {"BANT_Budget__c": True, "BANT_Authority__c": True, "BANT_Need__c": True}
    )
    run(ctx, world, tuesday + HOUR)

    with ctx.store.transaction() as repo:
        now_touched = repo.find_lead(hubspot_id=touched)
    assert now_touched is not None and now_touched.stage == "sql"
    assert world.hubspot.contact_view(touched)["properties"]["lifecyclestage"] == (
        "salesqualifiedlead"
    )
    assert mails(ctx) == []

    # Wednesday: the meeting that follows up the SQL within its 48 hours.
    world.salesforce.log_meeting(first, tuesday + JST_DAY)

    # Thursday 1/15 after the deadline: the owner of the neglected lead hears of it, once.
    thursday = WORLD_START + 6 * JST_DAY + 3 * HOUR
    run(ctx, world, thursday)
    run(ctx, world, thursday + HOUR)
    sent = mails(ctx)
    assert [m["To"] for m in sent] == ["sato@example.co.jp"]
    assert "花子" in sent[0]["Subject"] and sent[0]["X-Leadloop-Alert"] == "first_touch/1"
    link = f"https://app.hubspot.com/contacts/{world.hubspot.portal_id}/record/0-1/{neglected}"
    for kind in ("plain", "html"):
        part = sent[0].get_body(preferencelist=(kind,))
        assert part is not None and link in part.get_content()

    # Friday 1/16 after the escalation delay: the sales manager is told.
    run(ctx, world, thursday + JST_DAY)
    sent = mails(ctx)
    alerts = [m for m in sent if m["X-Leadloop-Alert"]]
    assert [m["To"] for m in alerts] == ["sato@example.co.jp", "sales-manager@example.co.jp"]
    assert alerts[1]["X-Leadloop-Alert"] == "first_touch/2"
    # ...and, Friday being the first 09:30 since the deadline passed, the owner's digest.
    (digest,) = [m for m in sent if m["X-Leadloop-Digest"]]
    assert (digest["To"], digest["X-Leadloop-Digest"]) == ("sato@example.co.jp", "2026-01-16")

    # Monday 1/19: the neglected lead is called at last and recycled (budget next term); the
    # qualified one is converted and its deal won.
    monday = WORLD_START + 10 * JST_DAY
    world.clock.set(monday, frozen=True)
    second = in_salesforce[neglected]["Id"]
    world.salesforce.log_call(second, monday)
    world.salesforce.set_fields(second, {"Status": "Recycled", "Recycle_Reason__c": "予算は来期"})
    deal = world.salesforce.convert_lead(first, monday)
    world.salesforce.close_opportunity(deal, True, 2_400_000, monday + HOUR)
    run(ctx, world, monday + 2 * HOUR)

    with ctx.store.transaction() as repo:
        won, recycled = repo.find_lead(hubspot_id=touched), repo.find_lead(hubspot_id=neglected)
        history = [(c.from_stage, c.to_stage) for c in repo.stage_history(won.key)] if won else []
    assert won is not None and won.stage == "won"
    assert won.outcome is not None and won.outcome.amount == 2_400_000
    assert history == [
        ("lead", "mql"),
        ("mql", "sql"),
        ("sql", "opportunity"),
        ("opportunity", "won"),
    ]
    assert recycled is not None and recycled.stage == "recycled"
    properties = {c: world.hubspot.contact_view(c)["properties"] for c in (touched, neglected)}
    assert properties[touched]["lifecyclestage"] == "customer"
    assert properties[neglected]["lifecyclestage"] == "lead"
    assert properties[neglected]["leadloop_recycle_reason"] == "予算は来期"
    assert len(mails(ctx)) == len(sent)  # a recycled lead is owed nothing: no more e-mail

    # The sync log: JSON lines, each job line with its run, the alert lines with the lead.
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert all("run_id" in line for line in lines if "job" in line)
    alerted = [line for line in lines if line["event"] == "alerts.sent"]
    assert [(line["job"], line["lead"], line["alert_level"]) for line in alerted] == [
        ("alerts", recycled.key, 1),
        ("alerts", recycled.key, 2),
    ]
