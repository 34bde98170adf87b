"""`leadloop run --once` as a user runs it: a process, its environment, the emulators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.emulator.runtime import Emulators, start_emulators
from tests.sync.builders import SHIPPED_PATH


@pytest.fixture
def world() -> Iterator[Emulators]:
    with start_emulators(seed="demo", leads=200) as started:
        yield started


def leadloop(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "import sys; from sync.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_run_once_hands_off_and_records_every_job(world: Emulators, tmp_path: Path) -> None:
    secret = world.hubspot_token
    env = {
        **{k: v for k, v in os.environ.items() if "PROXY" not in k.upper()},
        **world.client_environment(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "LEADLOOP_CONFIG": str(SHIPPED_PATH),
    }
    env.pop("SMTP_URL", None)
    fixed = leadloop(["check", "--connect", "--fix"], env)
    assert fixed.returncode == 0, fixed.stderr
    leads_before = len(world.salesforce.rows("Lead"))

    done = leadloop(["run", "--once"], env)

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    finished = [line["job"] for line in lines if line["event"] == "job.done"]
    assert finished == ["ingest", "score", "handoff", "alerts", "feedback"]
    assert all("timestamp" in line for line in lines)
    assert all("run_id" in line for line in lines if "job" in line)
    assert secret not in done.stdout + done.stderr
    assert len(world.salesforce.rows("Lead")) > leads_before  # MQLs handed to sales
    shown = leadloop(["runs", "-n", "5"], env)
    assert shown.returncode == 0
    assert [row.split()[2] for row in shown.stdout.splitlines()[1:]] == [
        "feedback",
        "alerts",
        "handoff",
        "score",
        "ingest",
    ]
