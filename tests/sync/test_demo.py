"""`leadloop demo`: days of a company's leads through the real jobs, the real SDKs and real
HTTP against in-process emulators, told as it happens and summed up at the end."""

from __future__ import annotations

import email
import io
import re
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from state import Store
from sync.cli import main
from sync.config import Config
from sync.demo import DemoOptions, DemoSummary, run_demo


def play(shipped: Config, folder: Path, **options: object) -> tuple[DemoSummary, str]:
    out = io.StringIO()
    chosen = {"leads": 60, "days": 5, "step": timedelta(hours=2), **options}
    summary = run_demo(shipped, DemoOptions(folder=folder, **chosen), out)  # type: ignore[arg-type]
    return summary, out.getvalue()


@pytest.fixture(scope="module")
def played(
    shipped: Config, tmp_path_factory: pytest.TempPathFactory
) -> tuple[DemoSummary, str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    summary, told = play(shipped, folder)
    return summary, told, folder


def mails(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((folder / "mail").glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def test_the_week_is_played_through_every_job_without_a_failure(
    played: tuple[DemoSummary, str, Path],
) -> None:
    summary, told, folder = played
    assert summary.failed_runs == 0
    with Store.connect(f"sqlite:///{folder / 'demo.db'}") as store, store.transaction() as repo:
        runs = repo.recent_runs(10_000)
    ticks = 5 * 24 // 2
    assert Counter(run.job for run in runs) == dict.fromkeys(
        ("ingest", "score", "handoff", "alerts", "feedback"), ticks
    )
    assert {run.status for run in runs} == {"ok"}
    assert "Summary:" in told and "API calls" in told


def test_new_mqls_are_handed_to_salesforce_once_each(
    played: tuple[DemoSummary, str, Path],
) -> None:
    summary, told, folder = played
    assert summary.transitions["mql"] > summary.history["mql"]  # MQLs during the days played
    with Store.connect(f"sqlite:///{folder / 'demo.db'}") as store, store.transaction() as repo:
        leads = repo.leads()
    handed = {lead.key: lead.times.handed_off_at for lead in leads if lead.times.handed_off_at}
    in_window = [key for key, at in handed.items() if at >= summary.started]
    assert len(in_window) == summary.handed_off > 0
    linked = [lead.salesforce_id for lead in leads if lead.salesforce_id]
    assert len(linked) == len(set(linked))  # no Salesforce lead is linked twice
    assert all(lead.salesforce_id for lead in leads if lead.key in handed)
    # each MQL is told with its score and the rules that made it
    assert re.search(r"MQL +\S+ \S+ \(.+\)  score \d+: [a-z_]+ \+\d+", told)


def test_every_alert_is_an_e_mail_in_the_mail_folder(
    played: tuple[DemoSummary, str, Path],
) -> None:
    summary, told, folder = played
    sent = mails(folder)
    kinds = Counter(
        "digest"
        if m["X-Leadloop-Digest"]
        else ("alert" if str(m["X-Leadloop-Alert"]).endswith("/1") else "escalation")
        for m in sent
    )
    assert kinds == summary.alerts and kinds["alert"] > 0
    for message in sent:
        assert message["From"] == "leadloop@example.co.jp"
        parts = [part.get_content_type() for part in message.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert str(message["Subject"]) in told  # each one told as it was sent


def test_calls_stay_close_to_the_batch_minimum(played: tuple[DemoSummary, str, Path]) -> None:
    calls = played[0].calls
    for system in ("hubspot", "salesforce"):
        made, least = calls.total(system), calls.minimum[system]
        assert least <= made <= 1.1 * least, (system, made, least, calls.made[system])


def test_the_same_seed_plays_the_same_days(shipped: Config, tmp_path: Path) -> None:
    first, _ = play(shipped, tmp_path / "a", leads=30, days=2)
    again, _ = play(shipped, tmp_path / "b", leads=30, days=2)
    assert (again.transitions, again.alerts, again.by_stage, again.handed_off) == (
        first.transitions,
        first.alerts,
        first.by_stage,
        first.handed_off,
    )
    assert again.calls.made == first.calls.made


def test_the_command_prints_the_summary_and_replaces_an_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "var"
    (folder / "mail").mkdir(parents=True)
    (folder / "mail" / "old.eml").write_text("from an earlier demo")
    (folder / "notes.txt").write_text("not the demo's")
    args = ["demo", "--leads", "30", "--days", "2", "--step", "180", "--folder", str(folder)]

    assert main([*args, "--quiet"]) == 0

    printed = capsys.readouterr().out
    assert printed.lstrip().startswith("Summary:") and "──" not in printed
    assert not (folder / "mail" / "old.eml").exists()
    assert (folder / "notes.txt").read_text() == "not the demo's"
    assert (folder / "demo.log").read_text().count('"event": "job.done"') == 5 * 16
