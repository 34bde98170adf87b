"""Benchmark: `backfill` of N seeded people against the emulators, its calls and its memory.

    .venv/bin/python benchmarks/bench_backfill.py [--contacts 10000 100000] [--json]

For each N: starts both emulators in this process (rate limits off), loads N demo people
(contacts with their form, page and e-mail history; the ones handed to sales as Salesforce
leads with calls, meetings and deals), then runs `sync.backfill.backfill` against a SQLite
file in a temporary folder in a fresh child process (spawned, so its peak RSS is the
backfill's alone, not the emulator's). Reports the API calls per route and per operation
against the batch minimum, the wall time, and the child's peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`, and the kernel's VmHWM). Then ten minutes
pass, 10,000 contacts (or all, if fewer) are edited, one in ten with a new form, and the
child runs one ingest cycle:
its HubSpot calls against ceil(N/200) searches + ceil(M/50) history reads + one e-mail
events page (the re-read lag window holds fewer than 1,000 events).

Batch minimum: ceil(N/200) searches, ceil(M/50) history reads (M: contacts with a form or a
page view), for the e-mail events one unfiltered page and, when the window holds more than
1,000 events, ceil(E_t/1000) pages per type (at least one each),
ceil(R/2000) SOQL pages per sObject (at least one each), ceil(C/200) lead queries for C
closed deals.
Targets (issue): HubSpot calls within 1.1x of the minimum; peak RSS of the backfill for
100,000 contacts under 400 MB, growing less than 1.5x from 10,000 to 100,000.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import resource
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.emulator.load import load
from connectors.emulator.runtime import Emulators, start_emulators
from connectors.emulator.seed import Population, generate

NOW = datetime(2026, 3, 2, 1, tzinfo=UTC)
CHUNK = 5_000  # people generated at a time, with e-mail addresses made unique per chunk
INCREMENTAL = 10_000  # contacts changed for the incremental cycle after the backfill
CONFIG = Path(__file__).parents[1] / "examples" / "leadloop.yaml"
ROUTES = {
    "search": "POST /crm/v3/objects/contacts/search",
    "history": "POST /crm/v3/objects/contacts/batch/read",
}


def seed(world: Emulators, count: int) -> dict[str, int]:
    """Load `count` demo people into both emulators; what the batch minimum depends on."""
    for number, start in enumerate(range(0, count, CHUNK)):
        population = generate(min(CHUNK, count - start), number + 1, NOW, weeks=6)
        people = tuple(
            dataclasses.replace(p, email=p.email.replace("@", f".{number}@", 1))
            for p in population.people
        )
        load(Population(people), world.hubspot, world.salesforce)
    contacts = world.hubspot.contacts.values()
    events = Counter(e.type for e in world.hubspot.events)
    records = world.salesforce.records
    return {
        "contacts": len(world.hubspot.contacts),
        "with_activity": sum(
            1
            for c in contacts
            if c.properties.get("recent_conversion_date")
            or c.properties.get("hs_analytics_last_url")
        ),
        "OPEN": events["OPEN"],
        "CLICK": events["CLICK"],
        "STATUSCHANGE": events["STATUSCHANGE"],
        "Lead": len(records["Lead"]),
        "Task": len(records["Task"]),
        "Event": len(records["Event"]),
        "Opportunity": len(records["Opportunity"]),
        "closed": sum(1 for o in records["Opportunity"].values() if o.get("IsClosed")),
    }


def high_water_mb() -> float:
    """This process's peak resident memory as the kernel counts it (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def change(world: Emulators, count: int) -> tuple[int, int]:
    """Ten minutes on: `count` contacts edited, one in ten of them with a new form."""
    world.clock.advance(timedelta(minutes=10))
    now = world.clock.now()
    contacts = list(world.hubspot.contacts.values())[:count]
    with_form = 0
    for n, contact in enumerate(contacts):
        at = now + timedelta(milliseconds=n)
        world.hubspot.write(contact, {"jobtitle": f"部長 {n}"}, "INTEGRATION", at)
        if n % 10 == 0:
            world.hubspot.add_form_submission(contact.id, "Request a demo", "/forms", at)
            with_form += 1
    world.clock.set(now + timedelta(minutes=1), frozen=True)
    return count, with_form


EVENT_TYPES = ("OPEN", "CLICK", "STATUSCHANGE")


def minimum(seeded: dict[str, int]) -> dict[str, int]:
    """The fewest calls a backfill of this world can make, per operation."""
    hubspot = {
        "contacts.search": math.ceil(seeded["contacts"] / 200),
        "contacts.batch_read_history": math.ceil(seeded["with_activity"] / 50),
        "email.events": 1  # one unfiltered page: all of the window when it holds < 1,000
        + (
            sum(max(1, math.ceil(seeded[t] / 1000)) for t in EVENT_TYPES)
            if sum(seeded[t] for t in EVENT_TYPES) > 1000
            else 0
        ),
    }
    soql = sum(max(1, math.ceil(seeded[s] / 2000)) for s in ("Lead", "Task", "Event"))
    soql += max(1, math.ceil(seeded["Opportunity"] / 2000)) + math.ceil(seeded["closed"] / 200)
    return {**hubspot, "salesforce.soql": soql}


def child(answer: Any) -> None:
    """Run the backfill in this (spawned) process and send back its report and peak RSS."""
    info: dict[str, Any] = answer.recv()
    from _connectors import unlimited_connectors

    from state import Store
    from sync.backfill import backfill
    from sync.config import load_config
    from sync.ingest import FieldMaps, ingest_all

    hubspot, salesforce = unlimited_connectors(info)
    now = datetime.fromisoformat(info["now"])
    store = Store.connect(f"sqlite:///{info['database']}", migrate=True)
    started = time.monotonic()
    report = backfill(
        store, hubspot, salesforce, load_config(CONFIG), lambda: now, progress=lambda c: None
    )
    answer.send(
        {
            "seconds": time.monotonic() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "vm_hwm_mb": high_water_mb(),
            "api_calls": report.api_calls,
            "leads": report.score.scored,
            "linked": report.score.linked,
            "mqls": report.score.mqls,
            "streams": {s.stream: s.totals() for s in report.streams},
        }
    )
    later = datetime.fromisoformat(answer.recv())  # the world changed: one ingest cycle
    before = hubspot.usage.snapshot()
    started = time.monotonic()
    counts = ingest_all(store, hubspot, salesforce, FieldMaps.default(), lambda: later)
    answer.send(
        {
            "seconds": time.monotonic() - started,
            "hubspot_calls": hubspot.usage.snapshot().since(before).calls,
            "contacts": counts[0].totals(),
        }
    )


def bench(count: int) -> dict[str, Any]:
    # The child is spawned before the emulators are loaded: Linux keeps the high-water RSS of
    # the forked copy across the exec in `ru_maxrss`, so a child spawned by a loaded parent
    # would report the parent's memory.
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    process = context.Process(target=child, args=(child_end,))
    process.start()
    started = time.monotonic()
    with start_emulators(now=NOW, frozen=True) as world, tempfile.TemporaryDirectory() as tmp:
        seeded = seed(world, count)
        loading = time.monotonic() - started
        world.clock.set(NOW + timedelta(minutes=1), frozen=True)
        info = {
            **world.info(),
            "database": str(Path(tmp) / "state.db"),
            "now": world.clock.now().isoformat(),
        }
        parent.send(info)
        result = parent.recv()
        routes = world.counters()
        changed, with_form = change(world, min(count, INCREMENTAL))
        # The cycle re-reads the lag window before the backfill's end: its e-mail events
        # (fewer than 1,000) come in the one unfiltered page.
        parent.send(world.clock.now().isoformat())
        cycle = parent.recv()
        process.join()
    floor = minimum(seeded)
    hubspot = result["api_calls"]["hubspot"]
    salesforce = result["api_calls"]["salesforce"]
    made = {
        **{op: hubspot.get(op, 0) for op in floor if op.startswith(("contacts", "email"))},
        "salesforce.soql": salesforce.get("query", 0) + salesforce.get("query_more", 0),
    }
    return {
        "contacts": count,
        "seeded": seeded,
        "load_seconds": round(loading, 1),
        "backfill_seconds": round(result["seconds"], 1),
        "contacts_per_second": round(count / result["seconds"]),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "vm_hwm_mb": round(result["vm_hwm_mb"], 1),
        "leads": result["leads"],
        "linked": result["linked"],
        "mqls": result["mqls"],
        "calls": {op: {"made": made[op], "minimum": floor[op]} for op in floor},
        "hubspot_ratio": round(
            sum(hubspot.values()) / sum(v for k, v in floor.items() if k != "salesforce.soql"), 3
        ),
        "routes": {name: routes["hubspot"].get(route, 0) for name, route in ROUTES.items()},
        "streams": result["streams"],
        "incremental": {
            "changed": changed,
            "with_new_form": with_form,
            "seconds": round(cycle["seconds"], 1),
            "calls": cycle["hubspot_calls"],
            "minimum": {
                "contacts.search": math.ceil(changed / 200),
                "contacts.batch_read_history": math.ceil(with_form / 50),
                "email.events": 1,
            },
            "contacts": cycle["contacts"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args()
    results = []
    for count in args.contacts:
        result = bench(count)
        results.append(result)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
            continue
        print(f"\n== {count:,} contacts (loaded in {result['load_seconds']} s)")
        print(
            f"backfill {result['backfill_seconds']} s ({result['contacts_per_second']:,}"
            f" contacts/s), peak RSS {result['peak_rss_mb']} MB (VmHWM {result['vm_hwm_mb']} MB);"
            f" leads {result['leads']:,}, linked {result['linked']:,}, new MQLs {result['mqls']:,}"
        )
        for op, calls in result["calls"].items():
            ratio = calls["made"] / calls["minimum"] if calls["minimum"] else 0
            made, least = calls["made"], calls["minimum"]
            print(f"  {op:<30} {made:>7,} calls, minimum {least:>7,} ({ratio:.2f}x)")
        print(f"  HubSpot calls / batch minimum: {result['hubspot_ratio']}x")
        cycle = result["incremental"]
        made, least = sum(cycle["calls"].values()), sum(cycle["minimum"].values())
        print(
            f"incremental cycle: {cycle['changed']:,} contacts changed,"
            f" {cycle['with_new_form']:,} with a new form: {cycle['seconds']} s,"
            f" HubSpot calls {cycle['calls']} vs minimum {cycle['minimum']}"
            f" ({made / least:.3f}x)"
        )
    if len(results) > 1 and not args.json:
        growth = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        sizes = f"{results[0]['contacts']:,} -> {results[-1]['contacts']:,}"
        print(f"\npeak RSS growth {sizes}: {growth:.2f}x")


if __name__ == "__main__":
    main()
