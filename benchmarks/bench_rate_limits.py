"""Benchmark: how close the HubSpot connector runs to HubSpot's limits, on the real clock.

    .venv/bin/python benchmarks/bench_rate_limits.py [--contacts 50000] [--json]

Starts the emulators with HubSpot's private-app limits enforced (5 searches a second,
100 calls per rolling 10 seconds, on the wall clock: nothing is simulated), adds N contacts,
then, with the connector's default pacer and retries:

1. pulls every contact with `changed_contacts` (ceil(N/200) searches), and
2. writes a job title to each of them with `update_contacts` (ceil(N/100) batch updates).

For each it reports the calls (from the emulator's counters), the wall time, the sustained
rate against the limit (the calls after the first window's burst, over the whole time), the
pauses the pacer made and the 429s answered (the connector's retries: there are no other
faults). Target (issue): a sustained pull rate of at
least 90% of what the limits allow, without a 429. With the default N = 50,000 (250
searches, 500 batch updates) the run takes about 100 seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connectors.emulator.runtime import Emulators, start_emulators
from connectors.hubspot import HubSpotConnector, HubSpotSettings

SEARCH = "POST /crm/v3/objects/contacts/search"
UPDATE = "POST /crm/v3/objects/contacts/batch/update"
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)


def seed(world: Emulators, count: int) -> list[str]:
    return [
        world.hubspot.add_contact({"email": f"r{n}@example.jp"}, at=EPOCH + timedelta(seconds=n))
        for n in range(count)
    ]


def phase(
    world: Emulators, route: str, allowed_per_second: float, burst: int, work: Any
) -> dict[str, Any]:
    """Run `work`; its calls on `route` and their sustained rate. A rolling window lets its
    first `burst` calls go at once, so the sustained rate is that of the calls after them."""
    before = world.controls["hubspot"].counters.snapshot().get(route, 0)
    started = time.monotonic()
    work()
    seconds = time.monotonic() - started
    calls = world.controls["hubspot"].counters.snapshot().get(route, 0) - before
    rate = (calls - burst) / seconds if seconds > 0 else float("inf")
    return {
        "calls": calls,
        "seconds": round(seconds, 2),
        "per_second": round(rate, 2),
        "allowed_per_second": allowed_per_second,
        "share_of_limit": round(rate / allowed_per_second, 3),
    }


def run(count: int) -> dict[str, Any]:
    with start_emulators(seed="none", rate_limits=True) as world:
        ids = seed(world, count)
        settings = HubSpotSettings(access_token=world.hubspot_token, base_url=world.hubspot_url)
        with HubSpotConnector(settings) as hubspot:
            pulled: list[str] = []

            def pull() -> None:
                for page in hubspot.changed_contacts(None, ["email"]):
                    pulled.extend(record["id"] for record in page)

            per_second = settings.search_per_second
            reading = phase(world, SEARCH, per_second, per_second, pull)
            if sorted(pulled) != sorted(ids):
                raise SystemExit(f"pull returned {len(pulled)} contacts, expected {len(ids)}")
            time.sleep(10)  # let the rolling window empty, as between two cycles

            def write() -> None:
                outcome = hubspot.update_contacts({i: {"jobtitle": "部長"} for i in ids})
                if len(outcome.written) != len(ids):
                    raise SystemExit(f"wrote {len(outcome.written)} of {len(ids)}")

            limit = settings.ten_secondly_limit
            writing = phase(world, UPDATE, limit / 10, limit, write)
            usage = hubspot.usage.snapshot()
    return {
        "contacts": count,
        "pull": {**reading, "minimum_calls": math.ceil(count / 200)},
        "write": {**writing, "minimum_calls": math.ceil(count / 100)},
        "pacer_waits": usage.rate_limit_waits - usage.retries,
        "answers_429": usage.retries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = run(args.contacts)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"{result['contacts']:,} contacts, HubSpot limits enforced on the wall clock")
    for name in ("pull", "write"):
        p = result[name]
        print(
            f"  {name:5}: {p['calls']} calls (minimum {p['minimum_calls']}) in {p['seconds']} s"
            f" = {p['per_second']}/s of {p['allowed_per_second']}/s allowed"
            f" ({p['share_of_limit']:.0%})"
        )
    print(f"  pauses by the pacer: {result['pacer_waits']}, 429s answered: {result['answers_429']}")


if __name__ == "__main__":
    main()
