"""The `leadloop` command: exit codes, config lookup, one clear message per mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sync.cli import main

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "leadloop.yaml"
SCENARIO = ROOT / "examples" / "scenarios" / "01_mql_by_score_and_action.jsonl"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LEADLOOP_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


class TestCheck:
    def test_valid_config_exits_zero_with_a_summary(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`check` on the example prints ok and what the definition holds."""
        assert main(["check", "--config", str(EXAMPLE)]) == 0
        out = capsys.readouterr().out
        assert "ok" in out and "MQL at 50" in out and "timezone Asia/Tokyo" in out

    def test_bad_config_exits_two_listing_every_problem(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`check` on a broken file exits 2 and lists file:line: key: message lines."""
        path = tmp_path / "bad.yaml"
        path.write_text("timezone: Mars/Base\nmql:\n  min_score: -1\n", encoding="utf-8")
        assert main(["check", "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert "the configuration has 2 problems" in err
        assert f"{path}:1: timezone: unknown timezone" in err
        assert f"{path}:3: mql.min_score:" in err
        assert "Traceback" not in err

    def test_config_from_environment(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --config, $LEADLOOP_CONFIG is used."""
        monkeypatch.setenv("LEADLOOP_CONFIG", str(EXAMPLE))
        assert main(["check"]) == 0
        assert str(EXAMPLE) in capsys.readouterr().out

    def test_config_from_working_directory(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --config or $LEADLOOP_CONFIG, ./leadloop.yaml is used."""
        (tmp_path / "leadloop.yaml").write_text("mql:\n  min_score: 10\n", encoding="utf-8")
        assert main(["check"]) == 0
        assert "MQL at 10" in capsys.readouterr().out

    def test_no_config_anywhere_says_where_it_looked(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With no config to be found, the message says how to give one; exit 2."""
        assert main(["check"]) == 2
        err = capsys.readouterr().err
        assert "--config" in err and "LEADLOOP_CONFIG" in err and "./leadloop.yaml" in err


class TestSimulate:
    def test_prints_the_timeline_as_json_lines(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`simulate` on the shipped example config prints one JSON object per line."""
        assert main(["simulate", str(SCENARIO)]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert {"at", "lead", "event"} <= set(records[0])
        assert records[-1]["event"] == "summary"
        assert any(r["event"] == "stage" and r["to"] == "mql" for r in records)

    def test_another_config_changes_the_outcome(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A stricter definition given with --config keeps the same lead from qualifying."""
        strict = EXAMPLE.read_text("utf-8").replace("min_score: 50", "min_score: 80")
        path = tmp_path / "strict.yaml"
        path.write_text(strict, encoding="utf-8")
        assert main(["simulate", str(SCENARIO), "--config", str(path)]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert not any(r["event"] == "stage" for r in records)

    def test_bad_scenario_exits_two_with_the_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad scenario line gives file:line: message and exit 2, no traceback."""
        path = tmp_path / "s.jsonl"
        path.write_text('{"at": "2026-01-05T10:00:00+09:00", "type": "party"}\n', "utf-8")
        assert main(["simulate", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:1: unknown event type 'party'" in err

    def test_missing_scenario_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A scenario path that does not exist is a usage error."""
        assert main(["simulate", "absent.jsonl"]) == 2
        assert "cannot read the scenario" in capsys.readouterr().err


def test_console_script_exit_codes(tmp_path: Path) -> None:
    """The installed `leadloop` command exits 2 on a bad config, with no traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("mql: {min_score: x}\n", encoding="utf-8")
    script = Path(sys.executable).parent / "leadloop"
    done = subprocess.run(
        [str(script), "check", "--config", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "mql.min_score" in done.stderr and "Traceback" not in done.stderr


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown subcommand exits 2."""
    assert main(["frobnicate"]) == 2


class TestDbUpgrade:
    def test_creates_the_default_sqlite_database_under_var(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without DATABASE_URL, `db upgrade` creates ./var/leadloop.db with the schema."""
        monkeypatch.delenv("DATABASE_URL", raising=False)
        assert main(["db", "upgrade"]) == 0
        assert (tmp_path / "var" / "leadloop.db").exists()
        assert "up to date" in capsys.readouterr().out
        from state import Store

        store = Store.connect("sqlite:///var/leadloop.db")
        with store.transaction() as repo:
            assert repo.count_by_stage()["lead"] == 0
        store.dispose()
