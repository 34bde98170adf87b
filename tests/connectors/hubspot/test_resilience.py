"""Failures on the wire: retried when they pass, waited out when limited, stopped when fatal."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators, start_emulators
from connectors.errors import FatalError, RateLimitedError, RetriableError
from tests.conftest import WORLD_START
from tests.connectors.hubspot.conftest import Harness, MakeHarness

SEARCH = "POST /crm/v3/objects/contacts/search"
UPDATE = "POST /crm/v3/objects/contacts/batch/update"
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)


def add(world: Emulators, count: int) -> list[str]:
    return [
        world.hubspot.add_contact({"email": f"r{n}@example.jp"}, at=EPOCH + timedelta(seconds=n))
        for n in range(count)
    ]


def read_all(harness: Harness) -> list[str]:
    pages = harness.connector.changed_contacts(None, ["email"])
    return [record["id"] for page in pages for record in page]


def limit_body(policy: str) -> dict[str, str]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "0f0b5bd0-4a5d-4c1e-a0a5-1f1c5e8f7f3e",
        "policyName": policy,
        "groupName": "publicapi:private-app:62515",
    }


@pytest.fixture
def limited() -> Iterator[Emulators]:
    """Emulators enforcing HubSpot's private-app limits on their (frozen) clock."""
    with start_emulators(rate_limits=True, now=WORLD_START, frozen=True) as world:
        yield world


class TestTransientFailures:
    def test_server_errors_are_retried(self, harness: Harness) -> None:
        """Two 503s, then the answer: the page arrives after two retries."""
        ids = add(harness.world, 5)
        faults = harness.world.controls["hubspot"].faults
        faults.add(Fault(route=SEARCH, status=503, body="", times=1))
        faults.add(Fault(route=SEARCH, status=502, body="<html>Bad Gateway</html>", times=1))
        assert read_all(harness) == ids
        assert harness.routes()[SEARCH] == 3
        assert harness.usage.snapshot().retries == 2

    def test_dropped_connections_are_retried(self, harness: Harness) -> None:
        """An answer cut off mid-body is sent again and the batch is written once."""
        ids = add(harness.world, 3)
        faults = harness.world.controls["hubspot"].faults
        faults.add(Fault(route=UPDATE, kind="drop", times=2))
        outcome = harness.connector.update_contacts({i: {"jobtitle": "COO"} for i in ids})
        assert sorted(outcome.written) == sorted(ids)
        assert harness.routes()[UPDATE] == 3
        assert harness.usage.snapshot().retries == 2

    def test_a_slow_answer_times_out_and_is_retried(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """An answer slower than timeout_seconds is abandoned and asked for again."""
        harness = make_harness(emulators, timeout_seconds=0.2)
        ids = add(emulators, 2)
        faults = emulators.controls["hubspot"].faults
        faults.add(Fault(route=SEARCH, kind="latency", seconds=1.0, times=1))
        assert read_all(harness) == ids
        assert harness.usage.snapshot().retries == 1

    def test_an_unreachable_host_gives_up_as_retriable(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """Refused connections are retried `attempts` times, then raised as retriable."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        unreachable = make_harness(emulators, attempts=3, base_url=f"http://127.0.0.1:{port}")
        with pytest.raises(RetriableError):
            read_all(unreachable)
        assert unreachable.usage.snapshot().calls == {"contacts.search": 3}


class TestFatalFailures:
    def test_a_refused_token_stops_with_the_fix(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """401: FatalError naming HUBSPOT_ACCESS_TOKEN, after one call; the token appears
        in neither the error nor the logs."""
        token = "pat-na1-00000000-dead-beef-0000-000000000000"
        harness = make_harness(emulators, access_token=token)
        with capture_logs() as logs, pytest.raises(FatalError) as info:
            read_all(harness)
        assert info.value.status == 401 and info.value.code == "INVALID_AUTHENTICATION"
        assert "HUBSPOT_ACCESS_TOKEN" in info.value.fix
        assert harness.routes()[SEARCH] == 1
        assert token not in str(info.value) and token not in repr(logs)

    def test_a_wrong_base_url_stops_with_the_fix(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """404 on a route that does not exist: FatalError naming HUBSPOT_BASE_URL."""
        harness = make_harness(emulators, base_url=f"{emulators.hubspot_url}/v0")
        with pytest.raises(FatalError) as info:
            harness.connector.contact_properties()
        assert "HUBSPOT_BASE_URL" in info.value.fix


class TestRateLimits:
    def test_injected_429s_are_waited_out_as_hubspot_says(self, harness: Harness) -> None:
        """SECONDLY waits 1 s, TEN_SECONDLY_ROLLING its Retry-After; then every record."""
        ids = add(harness.world, 450)
        faults = harness.world.controls["hubspot"].faults
        faults.add(Fault(route=SEARCH, status=429, body=limit_body("SECONDLY"), times=2))
        retry_after = {"Retry-After": "4", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
        faults.add(
            Fault(
                route=SEARCH,
                status=429,
                body=limit_body("TEN_SECONDLY_ROLLING"),
                headers=retry_after,
                times=1,
            )
        )
        with capture_logs() as logs:
            assert read_all(harness) == ids
        assert harness.sleep.pauses == [1.0, 1.0, 4.0]
        usage = harness.usage.snapshot()
        assert (usage.rate_limit_waits, usage.waited_seconds) == (3, 6.0)
        assert [e["policy"] for e in logs if e["event"] == "hubspot.rate_limited"] == [
            "SECONDLY",
            "SECONDLY",
            "TEN_SECONDLY_ROLLING",
        ]

    def test_paced_runs_stay_under_real_limits_near_full_speed(
        self, limited: Emulators, make_harness: MakeHarness
    ) -> None:
        """Against enforced limits, a 12,000-contact pull and 120 batch updates see no 429;
        the pull runs at >= 90% of 5 searches a second, the writes of 100 calls per 10 s."""
        harness = make_harness(limited)
        ids = add(limited, 12_000)

        started = limited.clock.monotonic()
        assert read_all(harness) == ids
        searches = harness.routes()[SEARCH]
        pulled_in = limited.clock.monotonic() - started
        assert pulled_in <= searches / (0.9 * 5)

        limited.clock.advance(timedelta(seconds=10))
        started = limited.clock.monotonic()
        outcome = harness.connector.update_contacts({i: {"jobtitle": "VP"} for i in ids})
        written_in = limited.clock.monotonic() - started
        assert len(outcome.written) == 12_000
        assert written_in <= (math.ceil(120 / 100) - 1) * 10 / 0.9

        usage = harness.usage.snapshot()
        assert usage.retries == 0, "no 429 was answered"
        assert usage.calls == {"contacts.search": searches, "contacts.batch_update": 120}

    def test_a_429_storm_without_pacing_is_waited_out(
        self, limited: Emulators, make_harness: MakeHarness
    ) -> None:
        """With client pacing off, the real limits answer 429s; each is waited out for the
        policy's time and the pull and the writes finish with every record."""
        limited.hubspot.limiter.ten_secondly_max = 12
        harness = make_harness(limited, ten_secondly_limit=10_000, search_per_second=1_000)
        ids = add(limited, 2_000)
        assert read_all(harness) == ids
        outcome = harness.connector.update_contacts({i: {"jobtitle": "VP"} for i in ids})
        assert sorted(outcome.written) == sorted(ids)
        usage = harness.usage.snapshot()
        assert usage.rate_limit_waits > 0 and usage.retries == usage.rate_limit_waits
        assert set(harness.sleep.pauses) == {1.0, 10.0}  # SECONDLY and TEN_SECONDLY_ROLLING

    def test_a_spent_daily_quota_is_raised_not_slept_through(
        self, limited: Emulators, make_harness: MakeHarness
    ) -> None:
        """DAILY: RateLimitedError at once, with the hours to midnight for the caller."""
        limited.hubspot.limiter.daily_max = 1
        harness = make_harness(limited)
        harness.connector.contact_properties()
        with pytest.raises(RateLimitedError) as info:
            harness.connector.contact_properties()
        assert info.value.policy == "DAILY"
        assert info.value.retry_after == pytest.approx(23 * 3600)
        assert harness.sleep.pauses == []
        assert harness.usage.snapshot().calls == {"properties.list": 2}

    def test_the_connectors_own_daily_budget_stops_before_calling(
        self, emulators: Emulators, make_harness: MakeHarness
    ) -> None:
        """daily_limit leaves the rest of the quota to others: the call is not even sent."""
        harness = make_harness(emulators, daily_limit=2)
        harness.connector.contact_properties()
        harness.connector.contact_properties()
        with pytest.raises(RateLimitedError) as info:
            harness.connector.contact_properties()
        assert info.value.policy == "DAILY"
        assert harness.routes()["GET /crm/v3/properties/contacts"] == 2
