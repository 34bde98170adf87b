"""`leadloop run`, `leadloop runs` and `leadloop errors`: the daemon and what it recorded.

Registered on the `leadloop` app by `sync.cli`. The database is `$DATABASE_URL`; the CRMs
come from the `HUBSPOT_*` and `SALESFORCE_*` variables, the mail server from `SMTP_URL`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sync.jobs.context import JobContext

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="leadloop.yaml to use (default: $LEADLOOP_CONFIG, then ./leadloop.yaml).",
        dir_okay=False,
    ),
]
REPLAYABLE = {
    "handoff.upsert_lead": ("salesforce", "upsert_lead"),
    "writeback.update_contact": ("hubspot", "update_contact"),
}
"""Quarantined writes `errors --replay` queues again, by the operation that failed."""
MIN_LEASE = timedelta(seconds=3)
"""The shortest instance lock lease: it is renewed every third of it."""


def run(
    once: Annotated[
        bool, typer.Option("--once", help="Run every job once in order, then exit.")
    ] = False,
    health_port: Annotated[
        int | None,
        typer.Option(
            "--health-port",
            envvar="LEADLOOP_HEALTH_PORT",
            help="Serve /healthz and /metrics on this port (default 8080; 0 picks one).",
        ),
    ] = 8080,
    lease: Annotated[
        str | None,
        typer.Option(
            "--lease",
            envvar="LEADLOOP_LOCK_LEASE",
            help="How long a dead instance's SQLite lock lease keeps its standby waiting,"
            " such as 30s (the default) or 2m; renewed every third of it.",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the daemon: every job on its interval until SIGTERM. Exit 1 if a job failed
    (with --once) or the instance lock was lost."""
    from connectors.errors import FatalError
    from sync.cli import UsageError, find_config
    from sync.config import load_config
    from sync.daemon import LEASE, freeze_startup_objects, open_context, serve
    from sync.logs import configure_logging
    from sync.mail import MailConfigError

    held_for = LEASE if lease is None else _lease(lease)
    loaded = load_config(find_config(config))
    configure_logging()
    with ExitStack() as stack:
        try:
            ctx = stack.enter_context(open_context(loaded))
        except (FatalError, MailConfigError) as exc:
            raise UsageError(str(exc)) from None
        freeze_startup_objects()
        stop = ctx.stopping if once else threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if once:
            raise typer.Exit(_run_once(ctx, held_for))
        raise typer.Exit(serve(ctx, stop=stop, health_port=health_port, lease=held_for))


def _lease(text: str) -> timedelta:
    from sync.calendar import parse_duration
    from sync.cli import UsageError

    try:
        duration = parse_duration(text.strip())
    except ValueError as exc:
        raise UsageError(f"--lease / LEADLOOP_LOCK_LEASE: {exc}") from None
    if duration.business or duration.amount < MIN_LEASE:
        raise UsageError(
            f"--lease / LEADLOOP_LOCK_LEASE: {text!r} is not allowed; give calendar time of"
            f" at least {MIN_LEASE.seconds}s, such as 30s or 2m"
        )
    return duration.amount


def _run_once(ctx: JobContext, lease: timedelta) -> int:
    from state.lock import InstanceLock
    from sync.daemon import LockRenewer, close_interrupted_runs, instance_name, run_once

    lock = InstanceLock(ctx.store, instance_name(), lease)
    if not lock.acquire():
        typer.echo(
            f"leadloop: another instance is running ({lock.holder_now() or lock.kind});"
            " --once runs only while none is",
            err=True,
        )
        return 1
    close_interrupted_runs(ctx)
    renewer = LockRenewer(lock, ctx.stopping.set)
    renewer.start()
    try:
        runs = run_once(ctx)
    finally:
        renewer.stop()
        lock.release()
    failed = [r for r in runs if not r.ok]
    for r in failed:
        typer.echo(f"leadloop: job {r.job} failed: {r.error}", err=True)
    if renewer.lost.is_set():
        typer.echo("leadloop: the instance lock was lost; stopped early", err=True)
    return 1 if failed or renewer.lost.is_set() else 0


def runs(
    count: Annotated[int, typer.Option("-n", help="How many runs to show.", min=1)] = 20,
) -> None:
    """The latest job runs, newest first, with their counts."""
    from state import Store, database_url

    with Store.connect(database_url(), migrate=True) as store, store.transaction() as repo:
        records = repo.recent_runs(count)
    if not records:
        typer.echo("no runs yet")
        return
    typer.echo(f"{'started (UTC)':<20} {'job':<9} {'status':<7} {'ms':>7}  counts / error")
    for record in records:
        counts = dict(record.counts)
        ms = counts.pop("milliseconds", 0)
        shown = ", ".join(f"{k} {v:,}" for k, v in counts.items() if "." not in k)
        calls = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k.startswith("calls."))
        detail = record.error or "; ".join(p for p in (shown, calls) if p) or "-"
        started = record.started_at.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{started:<20} {record.job:<9} {record.status:<7} {ms:>7,}  {detail}")


def errors(
    replay: Annotated[
        bool,
        typer.Option("--replay", help="Queue the quarantined writes again for the next run."),
    ] = False,
) -> None:
    """Records a CRM refused, with the CRM's own message; --replay queues the writes again."""
    from state import Store, database_url, utc_now

    with Store.connect(database_url(), migrate=True) as store:
        with store.transaction() as repo:
            records = repo.quarantined()
        if not records:
            typer.echo("no quarantined records")
            return
        for r in records:
            code = f"{r.error_code}: " if r.error_code else ""
            typer.echo(
                f"#{r.id} {r.system} {r.operation} {r.record_key} (x{r.attempts},"
                f" last {r.last_attempt_at:%Y-%m-%d %H:%M}) {code}{r.error_message}"
            )
        if not replay:
            return
        queued = 0
        with store.transaction() as repo:
            now = utc_now()
            for r in records:
                target = REPLAYABLE.get(r.operation)
                if target is None:
                    continue
                key = f"{r.record_key}:replay:{r.id}:{r.attempts}"
                payload = {"event": "replay", "quarantine_id": r.id}
                system, operation = target
                repo.enqueue(system, operation, r.record_key, key, payload)  # type: ignore[arg-type]
                repo.resolve(r.id, now)
                queued += 1
        skipped = len(records) - queued
        typer.echo(f"queued {queued} write(s) again; the next handoff or feedback run sends them")
        if skipped:
            typer.echo(
                f"{skipped} record(s) failed on reading: correct them in the CRM; they are read"
                " again when they change"
            )
