"""Two ways to play the story of `tests.e2e.story`: in-process on a frozen clock, or as a
`leadloop run` process on the real clock that can be killed at any moment.

- `InProcess` runs `run_pipeline` on the emulators' frozen clock, one second later each
  cycle (what the daemon does with every job every second), with connectors whose retries
  do not sleep; a hook before each cycle lets a test arm faults.
- `Daemon` starts `leadloop run` as a user would (its environment, the emulators in this
  process, an SMTP server), polls the store, sends SIGTERM to stop it, and SIGKILL to kill
  it: then it drops the dead process's lease on the instance lock, as a supervisor that saw
  it die may, so the restart does not wait out the lease.
- `Killer` kills a `Daemon` at seeded random moments, some of them while a write to a CRM
  or an e-mail is in flight, and restarts it each time.

`play(story, runner)` acts out each phase and waits until the store shows it; `settle`
waits until the world is quiet: nothing queued or pending, and a full cycle of every job
that changes nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from connectors.emulator.runtime import Emulators
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Pacer
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage
from state import Store
from state.lock import LOCK_NAME
from sync.config import Config
from sync.ingest_types import FieldMaps
from sync.jobs.context import JobContext
from sync.jobs.runner import JOB_NAMES, JobRun, run_pipeline
from sync.mail import SmtpMailer, SmtpSettings
from tests.e2e.story import Phase, Sent, StoreView, Story, end_state

STEP = timedelta(seconds=1)
"""How far the frozen clock moves between two in-process cycles: the story's schedule."""
FAR = datetime(2100, 1, 1, tzinfo=UTC)
MIGRATIONS = threading.Lock()
"""Alembic keeps its running migration in module globals: one at a time per process."""


def pending(store: Store) -> int:
    """Outbox items not written yet and alerts not sent yet."""
    with store.transaction() as repo:
        items = sum(len(repo.pending_outbox(t, 100_000, FAR)) for t in ("hubspot", "salesforce"))
        return items + len(repo.pending_alerts())


class Runner(Protocol):
    """How a story is played: wait for a condition while leadloop runs, or for quiet."""

    @property
    def store(self) -> Store: ...

    def until(self, done: Callable[[], bool], what: str) -> None: ...

    def settle(self) -> None: ...


def play(story: Story, runner: Runner, on_phase: Callable[[Phase], None] | None = None) -> None:
    """Act out every phase, each once the store shows the one before (not settled yet)."""
    view = StoreView(runner.store)
    for phase in story.phases:
        if on_phase is not None:
            on_phase(phase)
        phase.act(story)
        runner.until(functools.partial(phase.done, story, view), phase.name)


# --- in-process ----------------------------------------------------------------------------


@contextmanager
def connectors(
    world: Emulators, *, timeout: float | None = None, log_in: bool = False
) -> Iterator[tuple[HubSpotConnector, SalesforceConnector]]:
    """Connectors for `world` whose retries and pacing never sleep. `timeout` shortens both
    clients' timeouts; `log_in` makes the Salesforce connector log in with the org's
    username and password (so it can log in again when the session expires) instead of
    using a session made by the emulator."""
    hubspot_settings = HubSpotSettings(
        access_token=world.hubspot_token,
        base_url=world.hubspot_url,
        search_per_second=10_000,
        ten_secondly_limit=1_000_000,
    )
    if timeout:
        hubspot_settings = dataclasses.replace(hubspot_settings, timeout_seconds=timeout)
    pacer = Pacer.for_settings(
        hubspot_settings, monotonic=world.clock.monotonic, now=world.clock.now, sleep=lambda _: None
    )
    usage = ApiUsage()
    hubspot = HubSpotConnector(
        hubspot_settings, usage=usage, retry=Retry(usage, sleep=lambda _: None), pacer=pacer
    )
    env = {
        "SALESFORCE_INSTANCE_URL": world.salesforce_url,
        "SALESFORCE_CA_BUNDLE": str(world.ca_bundle),
    }
    if log_in:
        org = world.salesforce
        env |= {
            "SALESFORCE_USERNAME": org.username,
            "SALESFORCE_PASSWORD": org.password,
            "SALESFORCE_SECURITY_TOKEN": org.security_token,
        }
    else:
        env["SALESFORCE_SESSION_ID"] = world.salesforce_session_id
    salesforce_settings = SalesforceSettings.from_env(env)
    if timeout:
        salesforce_settings = dataclasses.replace(salesforce_settings, timeout_seconds=timeout)
    salesforce = SalesforceConnector(
        salesforce_settings, retry=Retry(ApiUsage(), sleep=lambda _: None), bulk_poll_seconds=0
    )
    try:
        yield hubspot, salesforce
    finally:
        hubspot.close()
        salesforce.close()


@dataclass
class InProcess:
    """The jobs run here, a cycle at a time, each cycle one `STEP` later on the frozen clock."""

    world: Emulators
    ctx: JobContext
    mails: list[Sent]
    before_cycle: Callable[[], None] | None = None
    max_cycles: int = 60
    runs: list[JobRun] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.ctx.store

    def cycle(self) -> None:
        self.world.clock.advance(STEP)
        if self.before_cycle is not None:
            self.before_cycle()
        self.runs += run_pipeline(self.ctx)

    def until(self, done: Callable[[], bool], what: str) -> None:
        for _ in range(self.max_cycles):
            if done():
                return
            self.cycle()
        raise AssertionError(f"{what}: not reached in {self.max_cycles} cycles; {self.failures()}")

    def settle(self) -> None:
        before = self.snapshot()
        for _ in range(self.max_cycles):
            self.cycle()
            after = self.snapshot()
            if after == before and not pending(self.store):
                return
            before = after
        raise AssertionError(f"never settled; {self.failures()}")

    def snapshot(self) -> dict[str, Any]:
        return end_state(self.world, self.store.url, self.mails, self.ctx.maps)

    def failures(self) -> list[str]:
        return [f"{run.job}: {run.error}" for run in self.runs if not run.ok][-5:]


@contextmanager
def in_process(
    world: Emulators,
    config: Config,
    maps: FieldMaps,
    folder: Path,
    smtp_url: str,
    mails: list[Sent],
    *,
    timeout: float | None = None,
    log_in: bool = False,
) -> Iterator[InProcess]:
    """An `InProcess` runner with a fresh store in `folder`, mailing through `smtp_url`."""
    mailer = SmtpMailer(SmtpSettings.from_env({"SMTP_URL": smtp_url}))
    url = f"sqlite:///{folder / 'state.db'}"
    with (
        connectors(world, timeout=timeout, log_in=log_in) as (hubspot, salesforce),
        Store.connect(url, migrate=True, clock=world.clock.now) as store,
    ):
        ctx = JobContext(store, hubspot, salesforce, config, maps, world.clock.now, mailer)
        yield InProcess(world, ctx, mails)


# --- a leadloop run process ----------------------------------------------------------------


class Daemon:
    """`leadloop run` in a process of its own, against the emulators of this process."""

    def __init__(
        self,
        world: Emulators,
        config_path: Path,
        folder: Path,
        smtp_url: str,
        mails: list[Sent],
        maps: FieldMaps,
        lease: str | None = None,
    ) -> None:
        self.world = world
        self.mails = mails
        self.lease = lease
        self.folder = folder
        self.maps = maps
        self.url = f"sqlite:///{folder / 'state.db'}"
        self.env = {
            **{k: v for k, v in os.environ.items() if "PROXY" not in k.upper()},
            **world.client_environment(),
            "DATABASE_URL": self.url,
            "LEADLOOP_CONFIG": str(config_path),
            "SMTP_URL": smtp_url,
        }
        if lease is not None:  # a restart waits for the dead process's lease to end
            self.env["LEADLOOP_LOCK_LEASE"] = lease
        with MIGRATIONS:
            self.store = Store.connect(self.url, migrate=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            assert self.process is None or self.process.poll() is not None
            self.starts += 1
            log = self.folder / f"run-{self.starts:03d}.log"
            with log.open("wb") as output:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "import sys; from sync.cli import main; sys.exit(main())",
                        "run",
                        "--health-port",
                        "0",
                    ],
                    env=self.env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )

    def kill(self) -> None:
        """SIGKILL; then, unless the daemon runs with a `lease` of its own, clear the dead
        process's lease so that the next start takes over at once."""
        with self._lock:
            process = self.process
            assert process is not None
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            if self.lease is None:  # the dead process held the lock: nobody else runs
                with self.store.transaction() as repo:
                    holder = repo.lease_holder(LOCK_NAME)
                    if holder is not None:
                        repo.drop_lease(LOCK_NAME, holder)

    def stop(self) -> int:
        """SIGTERM and the exit code (0 when the daemon stopped as it should)."""
        with self._lock:
            process = self.process
            assert process is not None
            process.send_signal(signal.SIGTERM)
            return process.wait(timeout=60)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.store.dispose()

    def until(self, done: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            self._check_running()
            time.sleep(0.1)
        raise AssertionError(f"{what}: not reached in {timeout:.0f} s; {self.failures()}")

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until nothing is pending and a full cycle of every job changed nothing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mark = datetime.now(UTC)
            before = self.snapshot()
            cycled = functools.partial(self._cycled_since, mark)
            self.until(cycled, "a full cycle", deadline - time.monotonic())
            if self.snapshot() == before and not pending(self.store):
                return
        raise AssertionError(f"never settled in {timeout:.0f} s; {self.failures()}")

    def snapshot(self) -> dict[str, Any]:
        return end_state(self.world, self.url, list(self.mails), self.maps)

    def _cycled_since(self, mark: datetime) -> bool:
        with self.store.transaction() as repo:
            runs = repo.recent_runs(100)
        done = {r.job for r in runs if r.started_at >= mark and r.status == "ok"}
        return done >= set(JOB_NAMES)

    def _check_running(self) -> None:
        with self._lock:
            process = self.process
            if process is not None and process.poll() is not None and process.returncode != -9:
                raise AssertionError(f"leadloop run exited with {process.returncode}")

    def failures(self) -> list[str]:
        with self.store.transaction() as repo:
            runs = repo.recent_runs(200)
        return [f"{r.job}: {r.error}" for r in runs if r.status == "failed"][:5]


# --- kills ---------------------------------------------------------------------------------

Trigger = Literal["running", "starting", "salesforce_write", "hubspot_write", "mail"]
"""When a kill comes: at a random moment once the process runs its jobs, while it is still
starting, or while a write to a CRM or an e-mail is in flight (within the latency the story
adds to those)."""
WRITE_ROUTES: dict[str, tuple[str, str]] = {
    "salesforce_write": ("salesforce", "composite/sobjects"),
    "hubspot_write": ("hubspot", "batch/update"),
}
IN_FLIGHT_TRIGGERS: dict[str, Trigger] = {
    "marketing": "salesforce_write",
    "sales": "hubspot_write",
    "deal": "hubspot_write",
    "neglect": "mail",
}
"""What is in flight in each phase of the story: the handoff, the write-back, the alerts."""


TRIGGER_WAIT: dict[Trigger, float] = {
    "running": 10.0,
    "salesforce_write": 10.0,
    "hubspot_write": 10.0,
    "mail": 40.0,
}
"""Seconds a kill waits for its trigger before it comes anyway (at a random moment); the
first alert comes some 20 seconds into the last phase."""


@dataclass(frozen=True, slots=True)
class Kill:
    phase: str
    trigger: Trigger
    delay: float
    """Seconds after the trigger."""
    down: float
    """Seconds the process stays dead before the restart."""


def kill_plan(seed: int, count: int, phases: list[str], in_flight: float) -> list[Kill]:
    """`count` kills spread evenly over `phases`, chosen by `seed`. The first kill of each
    phase comes while the phase's write or e-mail is in flight (`in_flight` seconds of added
    latency: the write is done, its answer not yet read); the others at random moments, a
    few of them while the process is still starting."""
    rng = random.Random(seed)
    plan: list[Kill] = []
    for n in range(count):
        phase = phases[n * len(phases) // count]
        first = not plan or plan[-1].phase != phase
        trigger: Trigger
        if first and phase in IN_FLIGHT_TRIGGERS:
            trigger = IN_FLIGHT_TRIGGERS[phase]
        else:
            trigger = rng.choice(["running", "running", "running", "starting"])
        if trigger in ("running", "starting"):
            delay = rng.uniform(0.0, 1.5)
        else:
            delay = rng.uniform(0.0, in_flight * 0.75)
        plan.append(Kill(phase, trigger, round(delay, 3), round(rng.uniform(0.0, 0.3), 3)))
    return plan


class Killer:
    """Carries out a kill plan against a `Daemon` while the story plays."""

    def __init__(
        self, daemon: Daemon, plan: list[Kill], phases: list[str], mails: list[Sent]
    ) -> None:
        self.daemon = daemon
        self.plan = plan
        self.phases = phases
        self.mails = mails
        self.current = -1
        self.done: list[tuple[Kill, bool]] = []
        self.killed_at: list[float] = []
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="killer", daemon=True)
        self.error: BaseException | None = None

    def entered(self, phase: Phase) -> None:
        self.current = self.phases.index(phase.name)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float = 120.0) -> None:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            for kill in self.plan:
                while self.current < self.phases.index(kill.phase):
                    if self.stopping.wait(0.02):
                        return
                caught = self._wait_for(kill)
                if self.stopping.is_set():
                    return
                self.killed_at.append(time.monotonic())
                self.daemon.kill()
                self.done.append((kill, caught))
                time.sleep(kill.down)
                self.daemon.start()
        except BaseException as exc:  # reported by join()
            self.error = exc

    def _wait_for(self, kill: Kill) -> bool:
        """Wait for the kill's moment; whether its trigger came (else it is a random kill)."""
        if kill.trigger == "starting":
            self.stopping.wait(kill.delay)
            return True
        seen = self._count(kill.trigger)
        deadline = time.monotonic() + TRIGGER_WAIT[kill.trigger]
        while time.monotonic() < deadline and not self.stopping.is_set():
            if self._count(kill.trigger) > seen:
                self.stopping.wait(kill.delay)
                return True
            time.sleep(0.005)
        return False

    def _count(self, trigger: Trigger) -> int:
        """Calls to the write routes of `trigger`, e-mails received, or (`running`) calls to
        either CRM: the process makes some every second once it runs its jobs."""
        if trigger == "mail":
            return len(self.mails)
        counts = self.daemon.world.counters()
        if trigger == "running":
            return sum(sum(routes.values()) for routes in counts.values())
        service, part = WRITE_ROUTES[trigger]
        return sum(n for route, n in counts[service].items() if part in route)


# --- the story against a leadloop run process ----------------------------------------------


@dataclass
class DaemonRun:
    """How a story played against `leadloop run`: its end state and what happened."""

    state: dict[str, Any]
    seconds: float
    starts: int
    kills: list[tuple[Kill, bool]]
    killed_at: list[float]
    """When each kill came (`time.monotonic()`)."""
    exit_code: int
    calls: dict[str, dict[str, int]]


IN_FLIGHT = 0.4
"""Seconds added to every CRM write and to the mail server's answer, so that kills can land
while one is in flight (the write done, the answer not yet read)."""


def daemon_story(
    folder: Path, maps: FieldMaps, plan: list[Kill] | None = None, lease: str | None = None
) -> DaemonRun:
    """Play the story against a `leadloop run` process on the real clock, killing it as
    `plan` says (never, without one); SIGTERM once the world has settled. With `lease`
    (`LEADLOOP_LOCK_LEASE`, e.g. `3s`), each restart waits out the dead process's lease."""
    from connectors.emulator._control import Fault
    from connectors.emulator.runtime import start_emulators
    from tests.e2e.story import Mailbox, smtp_server, write_config

    started = time.monotonic()
    config_path = write_config(folder)
    mailbox = Mailbox(delay=IN_FLIGHT)
    with start_emulators() as world, smtp_server(mailbox) as smtp_url:
        for service, part in WRITE_ROUTES.values():
            world.controls[service].faults.add(
                Fault(route=part, kind="latency", seconds=IN_FLIGHT, times=None)
            )
        story = Story(world)
        with connectors(world) as (hubspot, _):
            story.prepare(hubspot, maps)
        daemon = Daemon(world, config_path, folder, smtp_url, mailbox.sent, maps, lease)
        try:
            daemon.start()
            names = [phase.name for phase in story.phases]
            killer = Killer(daemon, plan or [], names, mailbox.sent)
            killer.start()
            try:
                play(story, daemon, killer.entered)
            except BaseException:
                killer.stopping.set()
                raise
            finally:
                killer.join()
            daemon.settle()
            state = daemon.snapshot()
            code = daemon.stop()
        finally:
            daemon.close()
        return DaemonRun(
            state,
            time.monotonic() - started,
            daemon.starts,
            killer.done,
            killer.killed_at,
            code,
            world.counters(),
        )
