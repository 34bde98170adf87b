"""Effectively once: `leadloop run` killed with SIGKILL at any moment and restarted loses no
transition, makes no duplicate lead on either side and sends no alert twice, except one
resend of the e-mail in flight.

The story of `tests.e2e.story` plays twice against real `leadloop run` processes on the real
clock: once undisturbed, once with the process killed (SIGKILL) and restarted at seeded
random moments spread over the story's phases: while a Salesforce upsert, a HubSpot
write-back or an alert e-mail is in flight (each held back by a little latency, so the
write is made and its answer not yet read), while the process is starting, and at random
moments while it works. Both runs play at the same time, each against its own emulators,
mail server and database. Their end states must be equal; an alert e-mail may have gone a
second time, with the same Message-ID. `benchmarks/soak_kill9.py` plays the same story with
many more kills.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sync.ingest_types import FieldMaps
from tests.e2e.drivers import IN_FLIGHT, DaemonRun, daemon_story, kill_plan
from tests.e2e.story import PHASES, differences, story_problems

SEED = 20260109
KILLS = 10


def test_kill9_at_random_moments_ends_as_an_undisturbed_run(tmp_path: Path) -> None:
    """Ten SIGKILLs and restarts across the story change nothing, but for alert e-mails
    sent again that were in flight when the process died."""
    maps = FieldMaps.default()
    plan = kill_plan(SEED, KILLS, list(PHASES), IN_FLIGHT)
    with ThreadPoolExecutor(2) as pool:
        clean_run = pool.submit(daemon_story, tmp_path / "clean", maps)
        killed_run = pool.submit(daemon_story, tmp_path / "killed", maps, plan)
        clean: DaemonRun = clean_run.result()
        killed: DaemonRun = killed_run.result()

    assert story_problems(clean.state) == []
    assert clean.exit_code == killed.exit_code == 0
    assert killed.starts == KILLS + 1
    assert [kill for kill, _ in killed.kills] == plan
    caught = {kill.trigger for kill, came in killed.kills if came}
    assert {"salesforce_write", "hubspot_write", "mail"} <= caught  # kills while in flight
    assert differences(clean.state, killed.state, kills=killed.killed_at, in_flight=IN_FLIGHT) == []
