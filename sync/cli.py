"""The `leadloop` command line. Exit codes: 0 ok, 1 a job failed, 2 bad config or usage."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mappings.exceptions import FieldMapError
from sync.config import Config, load_config
from sync.exceptions import ConfigError, LeadloopError, ScenarioError

SHIPPED_CONFIG = Path(__file__).parent / "defaults" / "leadloop.yaml"
"""The example definition shipped with leadloop (also at examples/leadloop.yaml)."""

app = typer.Typer(
    name="leadloop",
    help="Hands B2B leads from HubSpot to Salesforce by one agreed definition, and learns back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The state database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="leadloop.yaml to use (default: $LEADLOOP_CONFIG, then ./leadloop.yaml).",
        dir_okay=False,
    ),
]


class UsageError(LeadloopError):
    """The command was called in a way that cannot work (exit code 2)."""


def find_config(option: Path | None, *, shipped_default: bool = False) -> Path:
    """The config file a command uses: the option, $LEADLOOP_CONFIG, ./leadloop.yaml.

    Commands that try rules out (`simulate`, `demo`) fall back to the shipped example.
    """
    if option is not None:
        return option
    if shipped_default:
        return SHIPPED_CONFIG
    from_env = os.environ.get("LEADLOOP_CONFIG")
    if from_env:
        return Path(from_env)
    local = Path("leadloop.yaml")
    if local.exists():
        return local
    raise UsageError(
        "no configuration found: pass --config FILE, set LEADLOOP_CONFIG, or create"
        " ./leadloop.yaml (copy examples/leadloop.yaml to start)"
    )


@app.command()
def check(
    config: ConfigOption = None,
    connect: Annotated[
        bool,
        typer.Option(
            "--connect",
            help="Also compare the field maps with HubSpot's properties and Salesforce's"
            " describe (reads HUBSPOT_* and SALESFORCE_* from the environment).",
        ),
    ] = False,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Create the HubSpot properties the map defines and HubSpot lacks (implies"
            " --connect). Salesforce is never changed.",
        ),
    ] = False,
) -> None:
    """Validate a configuration and its field maps; exit 0 when usable, 2 with every problem."""
    from sync.check import check_deployment

    path = find_config(config)
    loaded = load_config(path)
    typer.echo(f"{path}: ok ({_summary(loaded)})")
    report = check_deployment(loaded.field_map_paths, connect=connect or fix, fix=fix)
    for line in report.lines:
        typer.echo(line)
    if not report.passed:
        count = len(report.problems)
        typer.echo(f"leadloop: check found {_count(count, 'problem')}:", err=True)
        for finding in report.problems:
            typer.echo(f"  {finding.render()}", err=True)
        raise typer.Exit(2)


def _count(count: int, noun: str) -> str:
    return f"1 {noun}" if count == 1 else f"{count} {noun}s"


def _summary(config: Config) -> str:
    scoring = config.scoring
    return (
        f"{len(scoring.behaviour)} behaviour rules, {len(scoring.fit)} fit rules,"
        f" MQL at {config.mql.min_score}, SQL at BANT {config.sql.bant_min}/4,"
        f" {len(config.sla)} SLAs, timezone {config.timezone}"
    )


@app.command()
def simulate(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file: JSON lines in time order.", dir_okay=False)
    ],
    config: ConfigOption = None,
) -> None:
    """Replay a scenario through the rules and print the timeline as JSON lines."""
    from sync.scenario import read_scenario
    from sync.simulate import Simulation

    loaded = load_config(find_config(config, shipped_default=True))
    try:
        text = scenario.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{scenario}: cannot read the scenario ({exc})") from None
    events = read_scenario(scenario, text.splitlines())
    out = sys.stdout
    for record in Simulation(loaded, events).run():
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


class SeedChoice(StrEnum):
    demo = "demo"
    none = "none"


class RateLimits(StrEnum):
    real = "real"
    off = "off"


PortOption = Annotated[int, typer.Option(min=0, max=65535, help="0 picks a free port.")]


@app.command()
def emulate(
    hubspot_port: PortOption = 0,
    salesforce_port: PortOption = 0,
    seed: Annotated[
        SeedChoice, typer.Option(help="demo: a Japanese B2B population; none: empty.")
    ] = SeedChoice.demo,
    leads: Annotated[int, typer.Option(min=0, max=1_000_000, help="People to seed.")] = 200,
    seed_number: Annotated[int, typer.Option(help="The same number seeds the same world.")] = 1,
    rate_limits: Annotated[
        RateLimits, typer.Option(help="real: HubSpot's rate limits; off: none.")
    ] = RateLimits.real,
) -> None:
    """Serve the HubSpot and Salesforce emulators on loopback until SIGTERM or Ctrl-C.

    When both are ready, prints one JSON line on stdout: URLs, token, session id, login,
    CA bundle and the admin URL.
    """
    import signal
    import threading

    from connectors.emulator.runtime import start_emulators

    try:
        world = start_emulators(
            hubspot_port=hubspot_port,
            salesforce_port=salesforce_port,
            seed=seed.value,
            leads=leads,
            seed_number=seed_number,
            rate_limits=rate_limits is RateLimits.real,
        )
    except RuntimeError as exc:
        raise UsageError(f"the emulators could not start: {exc}") from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sys.stdout.write(json.dumps(world.info(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        typer.echo("emulators ready; stop with Ctrl-C or SIGTERM", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        world.stop()


def _register_backfill() -> None:
    from sync.cli_backfill import backfill

    app.command(
        "backfill",
        help="First load: every contact and lead from both CRMs into the state store, linked"
        " and scored; resumable.",
    )(backfill)


_register_backfill()


def _register_daemon() -> None:
    from sync.cli_daemon import errors, run, runs

    app.command("run")(run)
    app.command("runs")(runs)
    app.command("errors")(errors)


_register_daemon()


def _register_demo() -> None:
    from sync.cli_demo import demo

    app.command("demo")(demo)


_register_demo()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the state database at $DATABASE_URL (default: ./var/leadloop.db)."""
    from state.database import database_url, redact_url
    from state.migrate import upgrade

    url = database_url()
    upgrade(url)
    typer.echo(f"database at {redact_url(url)} is up to date")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors leadloop expects become one clear message and an exit code."""
    try:
        app(args=argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except (ConfigError, FieldMapError) as exc:
        what = "configuration" if isinstance(exc, ConfigError) else "field map"
        problems = _count(len(exc.problems), "problem")
        typer.echo(f"leadloop: {exc.file}: the {what} has {problems}:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem.render(exc.file)}", err=True)
        return 2
    except (ScenarioError, UsageError) as exc:
        typer.echo(f"leadloop: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
