"""`leadloop demo`: the whole product on embedded defaults, against in-process emulators."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="leadloop.yaml to play (default: the shipped example definition).",
        dir_okay=False,
    ),
]


def demo(
    leads: Annotated[
        int, typer.Option("--leads", min=10, max=20_000, help="People in the seeded history.")
    ] = 300,
    days: Annotated[
        int, typer.Option("--days", min=1, max=60, help="Simulated days to play.")
    ] = 14,
    seed: Annotated[int, typer.Option("--seed", help="The same seed plays the same story.")] = 1,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%d"],
            help="First simulated day (default 2026-04-27, the Monday before Golden Week).",
        ),
    ] = None,
    step: Annotated[
        int, typer.Option("--step", min=5, max=240, help="Simulated minutes between cycles.")
    ] = 60,
    folder: Annotated[
        Path,
        typer.Option(
            "--folder",
            file_okay=False,
            help="Where the state (demo.db), the sync log (demo.log) and the e-mails"
            " (mail/*.eml) go; the demo's files from an earlier run are replaced.",
        ),
    ] = Path("var"),
    quiet: Annotated[bool, typer.Option("--quiet", help="Print the summary only.")] = False,
    config: ConfigOption = None,
) -> None:
    """Play two simulated weeks of leads through every job against in-process HubSpot and
    Salesforce emulators: no credentials, no network. Alert e-mails go to ./var/mail."""
    from sync.cli import find_config
    from sync.config import load_config
    from sync.demo import DEMO_START, JST, DemoOptions, run_demo

    loaded = load_config(find_config(config, shipped_default=True))
    first = DEMO_START if start is None else start.replace(hour=9, tzinfo=JST)
    options = DemoOptions(
        folder=folder,
        leads=leads,
        days=days,
        seed=seed,
        start=first,
        step=timedelta(minutes=step),
        quiet=quiet,
    )
    summary = run_demo(loaded, options, sys.stdout)
    raise typer.Exit(1 if summary.failed_runs else 0)
