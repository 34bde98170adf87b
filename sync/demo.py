"""`leadloop demo`: two weeks of a company's leads, played in about a minute.

No credentials and no network: both emulators start in this process with the demo seed (six
weeks of marketing and sales history), and `connectors.emulator.world.LiveWorld` keeps the
world moving on their clock: people convert, reps call, qualify, recycle and close. Against
it leadloop runs for real: the field maps are checked and the HubSpot properties created as
`leadloop check --connect --fix` does; then every simulated hour one cycle of the real jobs
(ingest, score, handoff, alerts, feedback) runs through the official SDKs over real HTTP,
with the state in SQLite under `folder` and every alert e-mail written to `folder/mail`.

What happens is printed as it happens (MQLs with their reasons, handoffs, SQLs, recycles,
deals, alerts); the closing summary counts it all, with the API calls each system answered
against the batch minimum (`CallLedger`). The full JSON sync log goes to `folder/demo.log`.
"""

from __future__ import annotations

import email
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import structlog

from connectors.emulator.runtime import Emulators, start_emulators
from connectors.emulator.world import LiveWorld
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Pacer
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage
from mappings.model import Lead, StageChange
from state import Store
from sync.backfill import field_maps
from sync.check import check_deployment
from sync.config import Config
from sync.jobs.context import JobContext
from sync.jobs.runner import JobRun, run_pipeline
from sync.logs import configure_logging
from sync.mail import FolderMailer

JST = ZoneInfo("Asia/Tokyo")
DEMO_START = datetime(2026, 4, 27, 9, 0, tzinfo=JST)
"""Monday before Golden Week: the two weeks hold four national holidays and a weekend
between them, so the SLA deadlines show the Japanese business calendar at work."""
STAGE_LABELS = {
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "商談化 opportunity",
    "won": "受注 won",
    "lost": "失注 lost",
    "recycled": "リサイクル recycled",
    "disqualified": "対象外 disqualified",
    "lead": "lead",
}
WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the demo plays: `leads` seeded people, `days` from `start`, one cycle a `step`."""

    folder: Path = Path("var")
    leads: int = 300
    days: int = 14
    seed: int = 1
    start: datetime = DEMO_START
    step: timedelta = timedelta(hours=1)
    quiet: bool = False


@dataclass
class CallLedger:
    """API calls made per system and operation, and the fewest calls the same work needs.

    The minimum is worked out from what each run read and wrote, not from the calls made:
    every read stream costs at least one call a cycle (the HubSpot contact search and e-mail
    events, one SOQL query per Salesforce object), plus one call per full page of what it
    read (200 contacts a search, 50 contacts a property-history read, 1,000 e-mail events,
    2,000 SOQL rows) and one per full batch of what it wrote (100 contacts a HubSpot batch
    update, 200 leads a Salesforce collection upsert).
    """

    made: dict[str, Counter[str]] = field(
        default_factory=lambda: {"hubspot": Counter(), "salesforce": Counter()}
    )
    minimum: Counter[str] = field(default_factory=Counter)

    def add(self, run: JobRun) -> None:
        for system, used in run.api.items():
            self.made[system].update(used.calls)
        counts = run.counts
        if run.job == "ingest":
            self.minimum["hubspot"] += (
                _pages(counts.get("hubspot.contacts.read", 0), 200)
                + math.ceil(counts.get("hubspot.contacts.history_read", 0) / 50)
                + _pages(counts.get("hubspot.email_events.read", 0), 1000)
            )
            self.minimum["salesforce"] += sum(
                _pages(counts.get(f"salesforce.{kind}.read", 0), 2000)
                for kind in ("Lead", "Task", "Event", "Opportunity")
            )
        elif run.job in ("handoff", "feedback"):
            self.minimum["salesforce"] += math.ceil(counts.get("salesforce_upserted", 0) / 200)
            self.minimum["hubspot"] += math.ceil(counts.get("written_back", 0) / 100)

    def total(self, system: str) -> int:
        return sum(self.made[system].values())


def _pages(records: int, page: int) -> int:
    """Calls to read `records` `page` at a time; a read that finds nothing costs one."""
    return max(1, math.ceil(records / page))


@dataclass
class DemoSummary:
    """What the two weeks came to."""

    started: datetime
    ended: datetime
    seconds: float
    leads: int
    by_stage: dict[str, int]
    transitions: Counter[str]
    """Stage changes by the stage moved to, the first cycle's included."""
    history: Counter[str]
    """The first cycle's stage changes: what the six weeks before the demo had come to."""
    handed_off: int
    breaches: int
    alerts: Counter[str]
    written_back: int
    corrections: Counter[str]
    won_amount: int
    calls: CallLedger
    mail_folder: Path
    log_file: Path
    failed_runs: int


def run_demo(config: Config, options: DemoOptions, out: TextIO) -> DemoSummary:
    """Play the demo (see the module doc), printing to `out`; the summary printed last."""
    folder = options.folder
    mail_folder, database, log_file = folder / "mail", folder / "demo.db", folder / "demo.log"
    _fresh(folder, mail_folder, database, log_file)
    wall = time.monotonic()
    with ExitStack() as stack:
        world = stack.enter_context(
            start_emulators(
                seed="demo",
                leads=options.leads,
                seed_number=options.seed,
                now=options.start,
                frozen=True,
                tls_folder=None,
            )
        )
        env = _emulator_env(world)
        log_stream = stack.enter_context(log_file.open("w", encoding="utf-8"))
        stack.enter_context(_logging_to(log_stream, env))
        say = _Printer(out, options.quiet)
        say.header(world, options)
        report = check_deployment(config.field_map_paths, fix=True, env=env)
        if not report.passed:
            problems = "; ".join(finding.render() for finding in report.problems)
            raise RuntimeError(f"the demo's field maps do not fit the emulators: {problems}")
        say.line(f"HubSpot properties created as `leadloop check --fix` would: {report.created}")
        live = LiveWorld(world, options.start, days=options.days, seed=options.seed)
        store = stack.enter_context(
            Store.connect(f"sqlite:///{database}", migrate=True, clock=world.clock.now)
        )
        ctx = stack.enter_context(_context(world, env, store, config, mail_folder))
        ledger = CallLedger()
        story = _Story(ctx, say, mail_folder)
        end = options.start + timedelta(days=options.days)
        tick, first = options.start, True
        failed = 0
        while tick < end:
            world.clock.set(tick)
            live.advance(tick)
            runs = run_pipeline(ctx, observe=ledger.add)
            failed += sum(1 for run in runs if not run.ok)
            for run in runs:
                if not run.ok:
                    say.line(f"{_when(tick)}  job {run.job} failed: {run.error}")
            live.assign_new_leads(world.clock.now())
            story.tell(tick, runs, first=first)
            first = False
            tick += options.step
        summary = story.summary(
            options.start, end, time.monotonic() - wall, ledger, log_file, failed
        )
    say.summary(summary)
    return summary


# -- wiring ---------------------------------------------------------------------------------


def _fresh(folder: Path, mail_folder: Path, database: Path, log_file: Path) -> None:
    """The demo's own files from an earlier run are replaced; nothing else is touched."""
    folder.mkdir(parents=True, exist_ok=True)
    mail_folder.mkdir(exist_ok=True)
    for old in mail_folder.glob("*.eml"):
        old.unlink()
    for path in (database, log_file):
        path.unlink(missing_ok=True)


def _emulator_env(world: Emulators) -> dict[str, str]:
    """The environment a user would set, aimed at the emulators (loopback, never a proxy)."""
    loopback = "127.0.0.1,localhost"
    os.environ["NO_PROXY"] = ",".join(filter(None, (os.environ.get("NO_PROXY"), loopback)))
    os.environ["no_proxy"] = os.environ["NO_PROXY"]
    return world.client_environment()


@contextmanager
def _context(
    world: Emulators, env: dict[str, str], store: Store, config: Config, mail_folder: Path
) -> Iterator[JobContext]:
    """The jobs' context on the emulators. HubSpot's rate limits are kept on the emulated
    clock: the calls of two weeks are spread over two weeks there, however fast they run."""
    settings = HubSpotSettings.from_env(env)
    pacer = Pacer.for_settings(settings, monotonic=world.clock.monotonic, now=world.clock.now)
    hubspot = HubSpotConnector(settings, usage=ApiUsage(), pacer=pacer)
    salesforce = SalesforceConnector(SalesforceSettings.from_env(env))
    mailer = FolderMailer(mail_folder, world.clock.now)
    with hubspot, salesforce:
        yield JobContext(
            store, hubspot, salesforce, config, field_maps(config), world.clock.now, mailer
        )


@contextmanager
def _logging_to(stream: TextIO, env: dict[str, str]) -> Iterator[None]:
    """The sync log to `stream` for the demo, then logging as it was before."""
    root = logging.getLogger()
    handlers, level, config = list(root.handlers), root.level, structlog.get_config()
    configure_logging(stream=stream, json=True, env=env)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        structlog.configure(**config)


# -- the story as it happens -----------------------------------------------------------------


class _Story:
    """Turns what each cycle did into lines a person reads, and counts it for the summary."""

    def __init__(self, ctx: JobContext, say: _Printer, mail_folder: Path) -> None:
        self.ctx = ctx
        self.say = say
        self.mail_folder = mail_folder
        self.last_change = 0
        self.seen_mail: set[str] = set()
        self.transitions: Counter[str] = Counter()
        self.history: Counter[str] = Counter()
        self.handed_off = 0
        self.written_back = 0
        self.alerts: Counter[str] = Counter()

    def tell(self, tick: datetime, runs: list[JobRun], *, first: bool) -> None:
        counts: Counter[str] = Counter()
        for run in runs:
            counts.update(run.counts)
        self.handed_off += counts["handed_off"]
        self.written_back += counts["written_back"]
        with self.ctx.store.transaction() as repo:
            changes = repo.stage_changes_after(self.last_change)
            leads = repo.leads_by_key({change.lead_key for _, change in changes})
        if changes:
            self.last_change = changes[-1][0]
        for _, change in changes:
            self.transitions[change.to_stage] += 1
        if first:
            self._first_cycle(tick, counts, changes)
        else:
            for _, change in changes:
                self._change(change, leads.get(change.lead_key))
            if counts["handed_off"]:
                self.say.event(tick, "handoff", f"{counts['handed_off']} lead(s) → Salesforce")
        for message in self._new_mail():
            self._mail(tick, message)

    def _first_cycle(
        self, tick: datetime, counts: Counter[str], changes: list[tuple[int, StageChange]]
    ) -> None:
        stages = Counter(change.to_stage for _, change in changes)
        self.history.update(stages)
        with self.ctx.store.transaction() as repo:
            known = sum(repo.count_by_stage().values())
        found = ", ".join(f"{STAGE_LABELS[s]} {n}" for s, n in stages.most_common())
        self.say.event(tick, "first", f"read the history: {known} leads ({found})")
        self.say.event(
            tick,
            "handoff",
            f"{counts['handed_off']} MQL(s) not yet in Salesforce handed over;"
            f" {counts['written_back']} HubSpot contacts updated",
        )

    def _change(self, change: StageChange, lead: Lead | None) -> None:
        who = _who(lead, change.lead_key)
        label = STAGE_LABELS[change.to_stage]
        detail = ""
        if change.to_stage == "mql" and lead is not None:
            reasons = ", ".join(f"{r.rule} {r.points:+d}" for r in lead.score.reasons)
            detail = f"  score {lead.score.total}: {reasons}"
        elif change.reasons:
            detail = "  " + "; ".join(change.reasons)
        if change.to_stage == "won" and lead is not None and lead.outcome is not None:
            detail += f"  ¥{int(lead.outcome.amount or 0):,}"
        self.say.event(change.at, label, f"{who}{detail}")

    def _new_mail(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.mail_folder.glob("*.eml")):
            if path.name not in self.seen_mail:
                self.seen_mail.add(path.name)
                parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
                assert isinstance(parsed, EmailMessage)
                found.append(parsed)
        return found

    def _mail(self, tick: datetime, message: EmailMessage) -> None:
        alert = str(message.get("X-Leadloop-Alert", ""))
        kind = "digest"
        if alert:
            kind = "alert" if alert.endswith("/1") else "escalation"
        self.alerts[kind] += 1
        self.say.event(tick, kind, f"→ {message['To']}: {message['Subject']}")

    def summary(
        self,
        started: datetime,
        ended: datetime,
        seconds: float,
        calls: CallLedger,
        log_file: Path,
        failed: int,
    ) -> DemoSummary:
        with self.ctx.store.transaction() as repo:
            by_stage = repo.count_by_stage()
            corrections: Counter[str] = Counter()
            for (axis, _, _), count in repo.correction_counts().items():
                corrections[axis] += count
            won = [lead for lead in repo.leads("won") if lead.outcome is not None]
        return DemoSummary(
            started=started,
            ended=ended,
            seconds=seconds,
            leads=sum(by_stage.values()),
            by_stage=by_stage,
            transitions=self.transitions,
            history=self.history,
            handed_off=self.handed_off,
            breaches=self.alerts["alert"],
            alerts=self.alerts,
            written_back=self.written_back,
            corrections=corrections,
            won_amount=sum(int(lead.outcome.amount or 0) for lead in won if lead.outcome),
            calls=calls,
            mail_folder=self.mail_folder,
            log_file=log_file,
            failed_runs=failed,
        )


def _who(lead: Lead | None, key: str) -> str:
    if lead is None:
        return key
    name = " ".join(part for part in (lead.last_name, lead.first_name) if part) or key
    return f"{name} ({lead.fit.company})" if lead.fit.company else name


def _when(at: datetime) -> str:
    local = at.astimezone(JST)
    return f"{local:%m/%d}({WEEKDAYS[local.weekday()]}) {local:%H:%M}"


class _Printer:
    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.day: str | None = None

    def line(self, text: str = "") -> None:
        if not self.quiet:
            self.out.write(text + "\n")
            self.out.flush()

    def header(self, world: Emulators, options: DemoOptions) -> None:
        self.line(
            f"leadloop demo: {options.days} simulated days from {_when(options.start)} JST,"
            f" {options.leads} people seeded (seed {options.seed}), one cycle every"
            f" {int(options.step.total_seconds() // 60)} simulated minutes"
        )
        self.line(
            f"HubSpot emulator {world.hubspot_url}, Salesforce emulator {world.salesforce_url}"
            " (in this process; no credentials, no network)"
        )

    def event(self, at: datetime, kind: str, text: str) -> None:
        local = at.astimezone(JST)
        day = f"{local:%Y-%m-%d}({WEEKDAYS[local.weekday()]})"
        if day != self.day:
            self.day = day
            self.line(f"\n── {day} ──")
        self.line(f"  {local:%H:%M}  {kind:<10} {text}")

    def summary(self, summary: DemoSummary) -> None:
        out = self.out
        t = summary.transitions
        lines = [
            "",
            f"Summary: {_when(summary.started)} to {_when(summary.ended)} JST,"
            f" played in {summary.seconds:.0f} s",
            f"  leads            {summary.leads}  now: "
            + ", ".join(f"{STAGE_LABELS[s]} {n}" for s, n in sorted(summary.by_stage.items())),
            f"  MQLs             {t['mql'] - summary.history['mql']} new"
            f" (+{summary.history['mql']} found in the history)"
            f"   handed to Salesforce {summary.handed_off}",
            f"  SLA breaches     {summary.breaches}   alerts sent {summary.alerts['alert']},"
            f" escalations {summary.alerts['escalation']}, digests {summary.alerts['digest']}",
            f"  SQLs             {t['sql']}   opportunities {t['opportunity']},"
            f" won {t['won']} (¥{summary.won_amount:,}), lost {t['lost']}",
            f"  recycled         {t['recycled']}   disqualified {t['disqualified']}",
            "  corrections      "
            + (
                ", ".join(f"{axis} {n}" for axis, n in sorted(summary.corrections.items()))
                or "none"
            ),
            f"  written back     {summary.written_back} HubSpot contact updates",
        ]
        for system in ("hubspot", "salesforce"):
            made, least = summary.calls.total(system), summary.calls.minimum[system]
            ratio = f"{made / least:.2f}x" if least else "-"
            lines.append(
                f"  API calls        {system:<10} {made:>6} (batch minimum {least}, {ratio})"
            )
        database = summary.log_file.with_name("demo.db")
        lines += [
            f"  e-mails          {summary.mail_folder}/*.eml",
            f"  sync log         {summary.log_file} (JSON lines)",
            f"  run history      DATABASE_URL=sqlite:///{database} leadloop runs",
        ]
        if summary.failed_runs:
            lines.append(f"  failed job runs  {summary.failed_runs} (see the sync log)")
        out.write("\n".join(lines) + "\n")
        out.flush()
