"""`leadloop emulate`: one JSON line when ready, both APIs served, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

LEADLOOP = str(Path(sys.executable).with_name("leadloop"))


@pytest.fixture
def emulate() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _start(started: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [LEADLOOP, "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    started.append(process)
    return process


def test_prints_one_json_line_serves_and_stops_on_sigterm(
    emulate: list[subprocess.Popen[str]],
) -> None:
    process = _start(emulate, "--seed", "demo", "--leads", "120", "--rate-limits", "off")
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    assert info["contacts"] == 120
    assert info["ca_bundle"].endswith(".pem") and Path(info["ca_bundle"]).exists()
    answer = requests.get(
        f"{info['hubspot_url']}/crm/v3/objects/contacts?limit=5",
        headers={"Authorization": f"Bearer {info['hubspot_token']}"},
        timeout=10,
    )
    assert answer.status_code == 200 and len(answer.json()["results"]) == 5
    with requests.Session() as session:
        session.verify = info["ca_bundle"]
        session.trust_env = False
        query = session.get(
            f"{info['salesforce_url']}/services/data/v59.0/query",
            params={"q": "SELECT COUNT() FROM Lead"},
            headers={"Authorization": f"Bearer {info['salesforce_session_id']}"},
            timeout=10,
        )
    assert query.status_code == 200 and query.json()["totalSize"] > 0
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    assert not Path(info["ca_bundle"]).exists()  # the throwaway CA is removed


def test_a_port_in_use_is_a_clear_usage_error(emulate: list[subprocess.Popen[str]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        process = _start(emulate, "--seed", "none", "--hubspot-port", port)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "could not start" in err and "Traceback" not in err
