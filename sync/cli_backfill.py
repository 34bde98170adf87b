"""`leadloop backfill [--since DATE]`: the command, its progress display and its report.

Register it on the `leadloop` app with `app.command()(backfill)`. The database is
`$DATABASE_URL` (migrated first), the CRMs come from the `HUBSPOT_*` and `SALESFORCE_*`
variables. On a terminal a progress bar per stream shows the records read and the rate;
otherwise each stored page is one `backfill.progress` log line. Exit codes: 0 done, 1 a CRM
stopped it (run it again to continue), 2 bad config, field map or environment.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer

from sync.backfill import BackfillReport, LogProgress, Progress
from sync.ingest_types import StreamCounts

SinceOption = Annotated[
    datetime | None,
    typer.Option(
        "--since",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        help="Only what changed since this date (in the config's timezone) for streams that"
        " have not been read yet. Default: everything.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="leadloop.yaml to use (default: $LEADLOOP_CONFIG, then ./leadloop.yaml).",
        dir_okay=False,
    ),
]


def backfill(since: SinceOption = None, config: ConfigOption = None) -> None:
    """Load every contact, lead and activity from HubSpot and Salesforce, link and score them.

    Resumable: interrupted, run it again and it continues where it stopped.
    """
    from connectors.errors import ConnectorError, FatalError
    from connectors.hubspot import HubSpotConnector, HubSpotSettings
    from connectors.salesforce import SalesforceConnector, SalesforceSettings
    from mappings.exceptions import FieldMapError
    from state import Store, database_url, utc_now
    from sync.backfill import backfill as run_backfill
    from sync.backfill import field_maps
    from sync.cli import UsageError, find_config
    from sync.config import load_config

    loaded = load_config(find_config(config))
    start = None
    if since is not None:
        start = since if since.tzinfo is not None else since.replace(tzinfo=loaded.tz)
    try:
        maps = field_maps(loaded)
    except FieldMapError as exc:
        typer.echo(f"leadloop: a field map has problems:\n{exc}", err=True)
        raise typer.Exit(2) from None
    try:
        hubspot_settings = HubSpotSettings.from_env()
        salesforce_settings = SalesforceSettings.from_env()
    except FatalError as exc:
        raise UsageError(str(exc)) from None
    with (
        Store.connect(database_url(), migrate=True) as store,
        HubSpotConnector(hubspot_settings) as hubspot,
        SalesforceConnector(salesforce_settings) as salesforce,
        progress_display() as progress,
    ):
        try:
            report = run_backfill(
                store,
                hubspot,
                salesforce,
                loaded,
                utc_now,
                since=start,
                progress=progress,
                maps=maps,
            )
        except ConnectorError as exc:
            typer.echo(f"leadloop: the backfill stopped: {exc}", err=True)
            typer.echo("leadloop: run `leadloop backfill` again to continue", err=True)
            raise typer.Exit(1) from None
    for line in render(report):
        typer.echo(line)


@contextmanager
def progress_display() -> Iterator[Progress]:
    """A progress bar per stream on a terminal (stderr), else one log line per page."""
    if sys.stderr.isatty():
        with _Bars() as bars:
            yield bars
    else:
        yield LogProgress()


class _Bars:
    """rich progress bars: the stream, the records read so far, the rate, the time."""

    def __init__(self) -> None:
        from rich import progress as rich
        from rich.console import Console

        self._progress = rich.Progress(
            rich.SpinnerColumn(),
            rich.TextColumn("{task.description:<24}"),
            rich.TextColumn("{task.completed:>10,.0f} records"),
            rich.TextColumn("{task.fields[rate]:>8,.0f}/s"),
            rich.TextColumn("{task.fields[calls]:>6} calls"),
            rich.TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, float] = {}

    def __enter__(self) -> _Bars:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, counts: StreamCounts) -> None:
        now = time.monotonic()
        started = self._started.setdefault(counts.stream, now)
        task = self._tasks.get(counts.stream)
        if task is None:
            task = self._progress.add_task(counts.stream, total=None, rate=0.0, calls=0)
            self._tasks[counts.stream] = task
        elapsed = now - started
        self._progress.update(
            task,
            completed=counts.read,
            rate=counts.read / elapsed if elapsed > 0 else 0.0,
            calls=sum(counts.api_calls.values()),
        )


def render(report: BackfillReport) -> list[str]:
    """The report as lines: each stream's counts, the leads, the calls per system."""
    lines = []
    for s in report.streams:
        line = (
            f"{s.stream:<24} read {s.read:>7,}  new leads {s.leads_created:>6,}"
            f"  updated {s.leads_updated:>6,}  activities {s.activities_added:>7,}"
        )
        extra = [
            f"{name} {value:,}"
            for name, value in (
                ("skipped", s.skipped),
                ("unmatched", s.unmatched),
                ("unlinked", s.unlinked),
                ("stage changes", s.stage_changes),
                ("quarantined", s.quarantined),
            )
            if value
        ]
        lines.append(line + ("  " + ", ".join(extra) if extra else ""))
    score = report.score
    lines.append(
        f"leads {score.scored:,}: linked {score.linked:,}, HubSpot only {score.hubspot_only:,},"
        f" Salesforce only {score.salesforce_only:,}"
    )
    stages = ", ".join(f"{stage} {n:,}" for stage, n in sorted(score.stages.items()) if n)
    lines.append(
        f"scored {score.scored:,} ({score.rescored:,} changed); new MQLs {score.mqls:,},"
        f" new SQLs {score.sqls:,}; handoffs queued {score.handoffs_queued:,}; stages: {stages}"
    )
    for system, calls in report.api_calls.items():
        detail = ", ".join(f"{op} {n:,}" for op, n in sorted(calls.items()))
        lines.append(f"API calls, {system}: {sum(calls.values()):,} ({detail or 'none'})")
    lines.append(f"done in {report.seconds:,.1f} s")
    return lines
