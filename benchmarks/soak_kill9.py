"""Soak: `leadloop run` killed with SIGKILL hundreds of times, the story ending as it should.

    .venv/bin/python benchmarks/soak_kill9.py [--kills 200] [--per-run 10] [--seed 1] [--json]

The long form of `tests/e2e/test_crash_safety.py`, with the same story (`tests/e2e/story.py`)
and the same process driver (`tests/e2e/drivers.py`). The story plays once undisturbed
against a `leadloop run` process: its end state is the reference. Then it plays again and
again, each time with `--per-run` kills (SIGKILL, then a restart) at seeded random moments
spread over its phases: while the Salesforce upsert, a HubSpot write-back or an alert
e-mail is in flight, while the process starts, at random moments while it works; until
`--kills` kills are done. Each run's end state must equal the reference: one Salesforce lead
per handed-off contact, every stage transition, every correction, every HubSpot property
leadloop writes, each alert claimed once; an alert e-mail may have gone again only when a
kill came while it was in flight, and with the same Message-ID.

A run of the story takes some 25 seconds whatever its kills (its last phase waits for an
SLA to be breached and escalated on the real clock), so the default 200 kills take about
ten minutes. `--lease 3s` makes every restart wait out the dead process's instance-lock
lease as it would in production (`LEADLOOP_LOCK_LEASE`) instead of clearing it.

The figures: runs, kills by moment (and how many came while their write or e-mail was in
flight), e-mails sent again, restarts, the time per run, and every difference found.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import structlog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the story lives with the end-to-end tests

from sync.ingest_types import FieldMaps  # noqa: E402
from tests.e2e.drivers import IN_FLIGHT, DaemonRun, daemon_story, kill_plan  # noqa: E402
from tests.e2e.story import PHASES, differences, story_problems  # noqa: E402


def soak(kills: int, per_run: int, seed: int, lease: str | None, folder: Path) -> dict[str, Any]:
    maps = FieldMaps.default()
    began = time.monotonic()
    reference = daemon_story(folder / "reference", maps, lease=lease)
    problems = story_problems(reference.state)
    runs: list[dict[str, Any]] = []
    moments: Counter[str] = Counter()
    in_flight: Counter[str] = Counter()
    resent = 0
    for number in range(math.ceil(kills / per_run)):
        count = min(per_run, kills - number * per_run)
        plan = kill_plan(seed + number, count, list(PHASES), IN_FLIGHT)
        run = daemon_story(folder / f"run-{number:03d}", maps, plan, lease=lease)
        found = differences(reference.state, run.state, kills=run.killed_at, in_flight=IN_FLIGHT)
        for kill, came in run.kills:
            moments[kill.trigger] += 1
            in_flight[kill.trigger] += int(came and kill.trigger not in ("running", "starting"))
        sent_again = sum(m["sends"] - 1 for m in run.state["mails"].values())
        resent += sent_again
        runs.append(_run_figures(number, run, found, sent_again))
        status = "ok" if not found and run.exit_code == 0 else "DIFFERENT"
        print(
            f"run {number + 1}: {len(run.kills)} kills, {run.starts} starts, "
            f"{sent_again} e-mail(s) sent again, {run.seconds:.0f} s: {status}",
            file=sys.stderr,
        )
        for line in found:
            print(f"    {line}", file=sys.stderr)
    done = sum(len(r["kills"]) for r in runs)
    return {
        "kills": done,
        "runs": len(runs),
        "kills_by_moment": dict(moments),
        "kills_while_in_flight": dict(in_flight),
        "emails_sent_again": resent,
        "runs_different": sum(1 for r in runs if r["differences"] or r["exit_code"]),
        "reference_problems": problems,
        "reference_seconds": round(reference.seconds, 1),
        "seconds_per_run": round(sum(r["seconds"] for r in runs) / max(len(runs), 1), 1),
        "seconds": round(time.monotonic() - began, 1),
        "lease": lease or "cleared after each kill",
        "detail": runs,
    }


def _run_figures(number: int, run: DaemonRun, found: list[str], again: int) -> dict[str, Any]:
    return {
        "run": number + 1,
        "kills": [(kill.phase, kill.trigger, came) for kill, came in run.kills],
        "starts": run.starts,
        "exit_code": run.exit_code,
        "emails_sent_again": again,
        "seconds": round(run.seconds, 1),
        "differences": found,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200, help="kills in all (default 200)")
    parser.add_argument("--per-run", type=int, default=10, help="kills per run of the story")
    parser.add_argument("--seed", type=int, default=1, help="the first run's seed")
    parser.add_argument("--lease", default=None, help="LEADLOOP_LOCK_LEASE, e.g. 3s")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.kills < 1 or args.per_run < 1:
        parser.error("--kills and --per-run must be at least 1")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with tempfile.TemporaryDirectory(prefix="leadloop-soak-") as folder:
        figures = soak(args.kills, args.per_run, args.seed, args.lease, Path(folder))
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        for name, value in figures.items():
            if name != "detail":
                print(f"{name}: {value}")
    return 0 if figures["runs_different"] == 0 and not figures["reference_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
