"""Benchmark: the HubSpot and Salesforce emulators under load, and their memory.

    .venv/bin/python benchmarks/bench_emulators.py [--contacts 100000] [--leads N]
        [--seconds 5] [--clients 4] [--sdk-seconds 2] [--json]

Starts both emulators in this process (`ServerThread`, rate limits off, Salesforce over
HTTPS with a throwaway CA), loads `--contacts` seeded contacts with their history straight
into `HubSpotState` and `--leads` leads (default: as many) into `SalesforceState`, and reports
the resident memory after each load. Then it drives each route for `--seconds` (or at most
`--max-calls` calls) from `--clients` threads with keep-alive connections (urllib3). The
client threads run in one child process by default, so that they do not take the emulator's
GIL; `--same-process` runs them in this process instead. Last, one sequential run per route
through the official SDKs (hubspot-api-client, simple-salesforce), from this process, as the
tests use them.

Per route (`--routes` picks some): calls/s and records/s (wall clock), latency p50/p95,
errors, the CPU the emulators' process used (100% = one core: the server is one thread
under the GIL) and per call, the client process's CPU, what the rest of the machine used
meanwhile (figures taken beside other work are low), and the calls the emulators' own
`Control.counters` saw. Loopback only; bounded in time and calls.
Target (issue): >= 1,000 requests/s on the search and batch routes, 100,000 contacts in
<= 500 MB. Figures: connectors/emulator/hubspot/NOTES.md, "Throughput and memory".
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import urllib3

from connectors.emulator._control import Clock, Control
from connectors.emulator._http import ServerThread
from connectors.emulator._tls import make_tls_files
from connectors.emulator.hubspot import DEFAULT_TOKEN, HubSpotState, build_hubspot_app
from connectors.emulator.load import add_activity, contact_properties
from connectors.emulator.salesforce import SalesforceState, build_salesforce_app
from connectors.emulator.seed import Person, generate

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
WEEKS = 6
CHUNK = 5_000  # people generated at a time, so the generator's garbage stays small
API = "/services/data/v59.0"
SEARCH_PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "industry",
    "numemployees",
    "lifecyclestage",
    "hs_lead_status",
    "hs_analytics_source",
    "recent_conversion_event_name",
    "recent_conversion_date",
    "hs_email_optout",
]
LEAD_STATUS = ("NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING")
SOQL = (  # the connector's incremental read (connectors/salesforce/reads.py)
    "SELECT Id, SystemModstamp, HubSpot_Contact_Id__c, Status, OwnerId, Lead_Score__c "
    "FROM Lead WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id"
)


# -- memory --------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine spent so far (/proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_cpu_seconds() -> float:
    """The kernel's part of `cpu_seconds` (sockets: loopback TCP is charged here)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


# -- loading -------------------------------------------------------------------------------


def people(count: int, seed: int) -> Iterator[tuple[int, Person]]:
    """`count` seeded people; chunks keep the generator's memory small, the chunk number
    keeps the e-mail addresses unique."""
    for chunk, start in enumerate(range(0, count, CHUNK)):
        population = generate(min(CHUNK, count - start), seed + chunk, NOW, weeks=WEEKS)
        for n, person in enumerate(population.people):
            yield start + n, person


def load_hubspot(state: HubSpotState, count: int, seed: int) -> list[str]:
    """Contacts with their form submissions, page views and e-mail events; their e-mails."""
    emails = []
    for n, person in people(count, seed):
        local, _, domain = person.email.partition("@")
        email = f"{local}.{n // CHUNK}@{domain}"
        values = {**contact_properties(person), "email": email}
        if person.sales is not None:
            values["hs_lead_status"] = "OPEN"
        contact_id = state.add_contact(values, at=person.created_at)
        emails.append(email)
        for activity in person.activities:
            add_activity(state, contact_id, activity)
    return emails


def load_salesforce(state: SalesforceState, clock: Clock, count: int) -> None:
    """Leads keyed by HubSpot contact ids 1..count, modified over the last weeks."""
    step = timedelta(weeks=WEEKS) / max(count, 1)
    clock.set(NOW - timedelta(weeks=WEEKS), frozen=True)
    rng = random.Random(count)
    for n in range(1, count + 1):
        state.create("Lead", lead_fields(rng, n))
        clock.advance(step)
    clock.set(NOW)  # running from now on


def lead_fields(rng: random.Random, contact_id: int) -> dict[str, Any]:
    return {
        "HubSpot_Contact_Id__c": str(contact_id),
        "FirstName": "Taro",
        "LastName": f"Yamada{contact_id}",
        "Company": f"Bench KK {contact_id % 997}",
        "Email": f"lead{contact_id}@bench.example.co.jp",
        "Lead_Score__c": round(rng.uniform(0, 100), 1),
        "Score_Reasons__c": "content_download +20; webinar_attended +15; pricing page +10",
        "Campaign__c": "製造業DX ウェビナー",
        "MQL_Date__c": "2026-02-20T01:00:00Z",
    }


# -- the load generator (client side) -------------------------------------------------------


@dataclass
class Job:
    """One route to drive: where, how long, and what the scenario needs to know."""

    route: str
    url: str
    seconds: float
    clients: int
    max_calls: int
    seed: int
    contacts: int
    leads: int
    token: str
    ca_bundle: str | None = None
    emails: list[str] = field(default_factory=list)


Call = tuple[str, str, str, bytes | None, dict[str, str]]  # label, method, path, body, headers


class Scenario:
    """Makes the next request of one client thread and reads its answer."""

    def __init__(self, job: Job, rng: random.Random) -> None:
        self.job = job
        self.rng = rng
        self.headers = {
            "Authorization": f"Bearer {job.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def next(self) -> Call:
        raise NotImplementedError

    def seen(self, status: int, data: bytes) -> int:
        """Records in a 2xx answer (and whatever the next call needs from it)."""
        raise NotImplementedError

    def ids(self, count: int) -> list[int]:
        return self.rng.sample(range(1, self.job.contacts + 1), count)

    def post(self, label: str, path: str, body: Any) -> Call:
        return label, "POST", path, json.dumps(body).encode(), self.headers


class HubSpotSearch(Scenario):
    """The connector's incremental sync: lastmodifieddate >= since, ascending, 200 a page,
    `after` until the end or the 10,000-result wall (then narrow to the last one seen)."""

    def __init__(self, job: Job, rng: random.Random) -> None:
        super().__init__(job, rng)
        self.restart()

    def restart(self) -> None:
        window = int(timedelta(days=3).total_seconds() * 1000)
        self.since = int(NOW.timestamp() * 1000) - self.rng.randrange(window)
        self.after: str | None = None

    def next(self) -> Call:
        body: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": str(self.since),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "properties": SEARCH_PROPERTIES,
            "limit": 200,
        }
        if self.after is not None:
            body["after"] = self.after
        return self.post("HubSpot search (200 a page)", "/crm/v3/objects/contacts/search", body)

    def seen(self, status: int, data: bytes) -> int:
        if status != 200:
            self.restart()
            return 0
        page = orjson.loads(data)
        results = page["results"]
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if after is None:
            self.restart()
        elif int(after) + 200 > 10_000:
            last = results[-1]["properties"]["lastmodifieddate"]
            stamp = datetime.fromisoformat(last.replace("Z", "+00:00"))
            self.since, self.after = int(stamp.timestamp() * 1000), None
        else:
            self.after = after
        return len(results)


class HubSpotSearchAnchored(HubSpotSearch):
    """The connector's own paging (connectors/hubspot/contacts.py): no `after`; every page
    is a fresh search anchored on the last lastmodifieddate of the page before."""

    def next(self) -> Call:
        _, method, path, body, headers = super().next()
        return "HubSpot search, re-anchored (200)", method, path, body, headers

    def seen(self, status: int, data: bytes) -> int:
        if status != 200:
            self.restart()
            return 0
        page = orjson.loads(data)
        results = page["results"]
        first, last = (_ms(results[i]) for i in (0, -1)) if results else (0, 0)
        if not (page.get("paging") or {}).get("next") or first == last:
            self.restart()  # (the connector reads a page-long instant by id instead)
        else:
            self.since = last  # GTE the last instant; the connector drops the ones it saw
        return len(results)


def _ms(result: dict[str, Any]) -> int:
    stamp = datetime.fromisoformat(result["properties"]["lastmodifieddate"].replace("Z", "+00:00"))
    return int(stamp.timestamp() * 1000)


class HubSpotBatchRead(Scenario):
    def next(self) -> Call:
        body = {
            "inputs": [{"id": str(i)} for i in self.ids(100)],
            "properties": SEARCH_PROPERTIES,
            "propertiesWithHistory": [],
        }
        return self.post("HubSpot batch/read (100)", "/crm/v3/objects/contacts/batch/read", body)

    def seen(self, status: int, data: bytes) -> int:
        return len(orjson.loads(data)["results"])


class HubSpotBatchUpdate(Scenario):
    """What sales learned, written back: a lead status and a changed job title."""

    counter = 0

    def next(self) -> Call:
        self.counter += 1
        inputs = [
            {
                "id": str(i),
                "properties": {
                    "hs_lead_status": self.rng.choice(LEAD_STATUS),
                    "jobtitle": f"Manager {self.counter}",
                },
            }
            for i in self.ids(100)
        ]
        path = "/crm/v3/objects/contacts/batch/update"
        return self.post("HubSpot batch/update (100)", path, {"inputs": inputs})

    def seen(self, status: int, data: bytes) -> int:
        return len(orjson.loads(data)["results"])


class HubSpotBatchUpsert(Scenario):
    """Upserts by e-mail of known contacts."""

    counter = 0

    def next(self) -> Call:
        self.counter += 1
        inputs = [
            {
                "id": email,
                "idProperty": "email",
                "properties": {
                    "hs_lead_status": self.rng.choice(LEAD_STATUS),
                    "industry": f"製造業 {self.counter}",
                },
            }
            for email in self.rng.sample(self.job.emails, 100)
        ]
        path = "/crm/v3/objects/contacts/batch/upsert"
        return self.post("HubSpot batch/upsert (100)", path, {"inputs": inputs})

    def seen(self, status: int, data: bytes) -> int:
        return len(orjson.loads(data)["results"])


class HubSpotGet(Scenario):
    def next(self) -> Call:
        path = (
            f"/crm/v3/objects/contacts/{self.ids(1)[0]}"
            "?properties=email,firstname,lastname,lifecyclestage,hs_lead_status"
        )
        return "HubSpot GET contact", "GET", path, None, self.headers

    def seen(self, status: int, data: bytes) -> int:
        return 1 if orjson.loads(data)["id"] else 0


class SalesforceUpsert(Scenario):
    """sObject Collections upsert of 200 leads by HubSpot_Contact_Id__c (all known)."""

    def next(self) -> Call:
        records = [
            {"attributes": {"type": "Lead"}, **lead_fields(self.rng, n)}
            for n in self.rng.sample(range(1, self.job.leads + 1), 200)
        ]
        body = {"allOrNone": False, "records": records}
        path = f"{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c"
        label = "Salesforce composite upsert (200)"
        return label, "PATCH", path, json.dumps(body).encode(), self.headers

    def seen(self, status: int, data: bytes) -> int:
        results = orjson.loads(data)
        return sum(1 for r in results if r["success"])


class SalesforceQuery(Scenario):
    """A SOQL query on LastModifiedDate (the first page runs it), then its 2,000-record
    pages through nextRecordsUrl."""

    def __init__(self, job: Job, rng: random.Random) -> None:
        super().__init__(job, rng)
        self.next_url: str | None = None

    def next(self) -> Call:
        headers = {**self.headers, "Sforce-Query-Options": "batchSize=2000"}
        if self.next_url is not None:
            return "Salesforce queryMore page (2,000)", "GET", self.next_url, None, headers
        since = NOW - timedelta(seconds=self.rng.randrange(int(timedelta(days=2).total_seconds())))
        text = SOQL.format(since=since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        path = f"{API}/query/?q={quote(text)}"
        return "Salesforce query (runs SOQL, 1st page)", "GET", path, None, headers

    def seen(self, status: int, data: bytes) -> int:
        if status != 200:
            self.next_url = None
            return 0
        page = orjson.loads(data)
        self.next_url = page.get("nextRecordsUrl")
        return len(page["records"])


SCENARIOS: dict[str, Callable[[Job, random.Random], Scenario]] = {
    "hubspot_search": HubSpotSearch,
    "hubspot_search_anchored": HubSpotSearchAnchored,
    "hubspot_batch_read": HubSpotBatchRead,
    "hubspot_batch_update": HubSpotBatchUpdate,
    "hubspot_batch_upsert": HubSpotBatchUpsert,
    "hubspot_get": HubSpotGet,
    "salesforce_query": SalesforceQuery,
    "salesforce_upsert": SalesforceUpsert,
}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    records: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


def run_job(job: Job) -> dict[str, Any]:
    """Drive one route from `job.clients` threads; per-label tallies and the client's CPU."""
    host, _, port = job.url.split("://", 1)[1].partition(":")
    tallies: dict[str, Tally] = {}
    lock = threading.Lock()
    budget = [job.max_calls]
    start = threading.Barrier(job.clients + 1)

    def take() -> bool:
        with lock:
            budget[0] -= 1
            return budget[0] >= 0

    def client(index: int) -> None:
        pool: urllib3.HTTPConnectionPool
        if job.ca_bundle:
            pool = urllib3.HTTPSConnectionPool(
                host, int(port), maxsize=1, ca_certs=job.ca_bundle, cert_reqs="CERT_REQUIRED"
            )
        else:
            pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1)
        scenario = SCENARIOS[job.route](job, random.Random(job.seed * 1_000 + index))
        mine: dict[str, Tally] = {}
        start.wait()
        deadline = time.perf_counter() + job.seconds
        while time.perf_counter() < deadline and take():
            label, method, path, body, headers = scenario.next()
            began = time.perf_counter()
            response = pool.urlopen(method, path, body=body, headers=headers, retries=False)
            spent = time.perf_counter() - began
            tally = mine.setdefault(label, Tally())
            tally.latencies.append(spent)
            tally.statuses[response.status] += 1
            if 200 <= response.status < 300:
                tally.records += scenario.seen(response.status, response.data)
            else:
                tally.errors += 1
                scenario.seen(response.status, response.data)
        pool.close()
        with lock:
            for label, tally in mine.items():
                total = tallies.setdefault(label, Tally())
                total.latencies += tally.latencies
                total.records += tally.records
                total.errors += tally.errors
                total.statuses += tally.statuses

    threads = [threading.Thread(target=client, args=(i,)) for i in range(job.clients)]
    for thread in threads:
        thread.start()
    cpu = cpu_seconds()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "wall": wall,
        "client_cpu": cpu_seconds() - cpu,
        "labels": {
            label: {
                "calls": len(t.latencies),
                "records": t.records,
                "errors": t.errors,
                "statuses": dict(t.statuses),
                "p50_ms": _quantile(t.latencies, 0.50) * 1000,
                "p95_ms": _quantile(t.latencies, 0.95) * 1000,
            }
            for label, t in tallies.items()
        },
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def client_process(conn: Any) -> None:
    """The child process: says it is ready, then runs the jobs it is sent until None."""
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(run_job(job))


# -- the official SDKs, sequentially, in this process ----------------------------------------


def sdk_runs(hubspot_url: str, sf: Any, contacts: int, leads: int, seconds: float) -> list[Any]:
    from hubspot import HubSpot
    from hubspot.crm.contacts import (
        BatchInputSimplePublicObjectBatchInput,
        BatchReadInputSimplePublicObjectId,
        PublicObjectSearchRequest,
    )

    client = HubSpot(access_token=DEFAULT_TOKEN, host=hubspot_url, base_url=hubspot_url)
    rng = random.Random(11)
    since = str(int((NOW - timedelta(days=2)).timestamp() * 1000))
    since_filter = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}
    paging: dict[str, str | None] = {"after": None}

    def search() -> int:
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": [since_filter]}],
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=SEARCH_PROPERTIES,
            limit=200,
            after=paging["after"],
        )
        page = client.crm.contacts.search_api.do_search(request)
        nxt = page.paging.next.after if page.paging else None
        paging["after"] = nxt if nxt is not None and int(nxt) + 200 <= 10_000 else None
        return len(page.results)

    def batch_read() -> int:
        body = BatchReadInputSimplePublicObjectId(
            inputs=[{"id": str(i)} for i in rng.sample(range(1, contacts + 1), 100)],
            properties=SEARCH_PROPERTIES,
            properties_with_history=[],
        )
        return len(client.crm.contacts.batch_api.read(body).results)

    def batch_update() -> int:
        inputs = [
            {"id": str(i), "properties": {"hs_lead_status": rng.choice(LEAD_STATUS)}}
            for i in rng.sample(range(1, contacts + 1), 100)
        ]
        body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        return len(client.crm.contacts.batch_api.update(body).results)

    def get_one() -> int:
        contact_id = str(rng.randrange(1, contacts + 1))
        found = client.crm.contacts.basic_api.get_by_id(contact_id, properties=["email"])
        return 1 if found.id == contact_id else 0

    def sf_upsert() -> int:
        records = [
            {"attributes": {"type": "Lead"}, **lead_fields(rng, n)}
            for n in rng.sample(range(1, leads + 1), 200)
        ]
        path = "composite/sobjects/Lead/HubSpot_Contact_Id__c"
        results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
        return sum(1 for r in results if r["success"])

    cursor: dict[str, str | None] = {"next": None}

    def sf_query() -> int:
        if cursor["next"] is None:
            since_sf = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            page = sf.query(SOQL.format(since=since_sf))
        else:
            page = sf.query_more(cursor["next"], identifier_is_url=True)
        cursor["next"] = page.get("nextRecordsUrl")
        return len(page["records"])

    runs = [
        ("SDK HubSpot search (200 a page)", search),
        ("SDK HubSpot batch/read (100)", batch_read),
        ("SDK HubSpot batch/update (100)", batch_update),
        ("SDK HubSpot GET contact", get_one),
        ("SDK Salesforce composite upsert (200)", sf_upsert),
        ("SDK Salesforce query + queryMore (2,000)", sf_query),
    ]
    rows = []
    for label, call in runs:
        latencies, records = [], 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            records += call()
            latencies.append(time.perf_counter() - began)
        total = sum(latencies)
        rows.append(
            {
                "route": label,
                "calls": len(latencies),
                "calls_per_s": len(latencies) / total,
                "records_per_s": records / total,
                "p50_ms": _quantile(latencies, 0.5) * 1000,
                "p95_ms": _quantile(latencies, 0.95) * 1000,
            }
        )
    return rows


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Emulators:
    hubspot: HubSpotState
    hubspot_control: Control
    hubspot_url: str
    salesforce: SalesforceState
    salesforce_control: Control
    salesforce_url: str
    ca_bundle: str
    servers: list[ServerThread]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=None, help="default: as many as contacts")
    parser.add_argument("--seconds", type=float, default=5.0, help="per route")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--max-calls", type=int, default=100_000, help="per route")
    parser.add_argument("--sdk-seconds", type=float, default=2.0, help="per SDK route; 0: skip")
    parser.add_argument("--routes", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--same-process", action="store_true", help="clients in this process")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    leads = args.contacts if args.leads is None else args.leads
    say = (lambda *_: None) if args.json else print

    gc.collect()
    memory = {"after imports": rss_mb()}
    hubspot_clock = Clock(NOW, frozen=True)
    hubspot = HubSpotState(hubspot_clock, rate_limits=False)
    began = time.perf_counter()
    emails = load_hubspot(hubspot, args.contacts, args.seed)
    hubspot_clock.set(NOW)  # running from now on
    loaded_hubspot = time.perf_counter() - began
    gc.collect()
    memory["with HubSpot contacts"] = rss_mb()
    history = sum(c.entry_count() for c in hubspot.contacts.values())
    say(
        f"HubSpot: {args.contacts:,} contacts ({history:,} history entries, "
        f"{len(hubspot.events):,} e-mail events) loaded in {loaded_hubspot:.1f} s; "
        f"RSS {memory['with HubSpot contacts']:.0f} MB "
        f"({memory['after imports']:.0f} MB before loading)"
    )

    salesforce_clock = Clock(NOW, frozen=True)
    salesforce = SalesforceState(salesforce_clock, daily_api_limit=10**9)
    began = time.perf_counter()
    load_salesforce(salesforce, salesforce_clock, leads)
    loaded_salesforce = time.perf_counter() - began
    gc.collect()
    memory["with Salesforce leads too"] = rss_mb()
    say(
        f"Salesforce: {leads:,} leads loaded in {loaded_salesforce:.1f} s; "
        f"RSS {memory['with Salesforce leads too']:.0f} MB"
    )

    with tempfile.TemporaryDirectory(prefix="bench-emulators-") as folder:
        tls = make_tls_files(Path(folder))
        hubspot_control = Control(hubspot_clock)
        salesforce_control = Control(salesforce_clock)
        hubspot_server = ServerThread(build_hubspot_app(hubspot, hubspot_control))
        salesforce_server = ServerThread(
            build_salesforce_app(salesforce, salesforce_control),
            certfile=tls.certfile,
            keyfile=tls.keyfile,
        )
        servers = [hubspot_server, salesforce_server]
        for server in servers:
            server.start()
        emulators = Emulators(
            hubspot,
            hubspot_control,
            hubspot_server.url,
            salesforce,
            salesforce_control,
            salesforce_server.url,
            str(tls.ca_bundle),
            servers,
        )
        try:
            rows = drive(args, emulators, emails, leads, say)
            sdk = sdk_phase(args, emulators, leads, say)
        finally:
            for server in servers:
                server.stop()
    memory["at the end"] = rss_mb()
    memory["peak"] = peak_rss_mb()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "uvicorn": uvicorn_stack(),
        },
        "command": vars(args),
        "contacts": args.contacts,
        "leads": leads,
        "load_seconds": {"hubspot": loaded_hubspot, "salesforce": loaded_salesforce},
        "rss_mb": memory,
        "routes": rows,
        "sdk": sdk,
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report)


def uvicorn_stack() -> str:
    """The HTTP parser and event loop `ServerThread`'s uvicorn runs on (loop "auto": uvloop
    when installed)."""
    import importlib.util
    from importlib.metadata import version

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {version('uvicorn')} + httptools, loop {loop}"


def drive(
    args: argparse.Namespace,
    emu: Emulators,
    emails: list[str],
    leads: int,
    say: Callable[..., None],
) -> list[dict[str, Any]]:
    """Run every route's job; one row per label with the server-side measurements."""
    sessions = emu.salesforce.new_session()
    conn: Any = None
    child: Any = None
    if not args.same_process:
        context = multiprocessing.get_context("spawn")
        conn, child_conn = context.Pipe()
        child = context.Process(target=client_process, args=(child_conn,), daemon=True)
        child.start()
        conn.recv()  # started and imported: its start-up is not counted against a route
    rows: list[dict[str, Any]] = []
    try:
        for route in [r for r in args.routes.split(",") if r]:
            hubspot = route.startswith("hubspot")
            job = Job(
                route=route,
                url=emu.hubspot_url if hubspot else emu.salesforce_url,
                seconds=args.seconds,
                clients=args.clients,
                max_calls=args.max_calls,
                seed=args.seed,
                contacts=args.contacts,
                leads=leads,
                token=DEFAULT_TOKEN if hubspot else sessions,
                ca_bundle=None if hubspot else emu.ca_bundle,
                emails=emails if route == "hubspot_batch_upsert" else [],
            )
            control = emu.hubspot_control if hubspot else emu.salesforce_control
            before = control.counters.snapshot()
            cpu, busy, kernel = cpu_seconds(), machine_busy_seconds(), system_cpu_seconds()
            if conn is not None:
                conn.send(job)
                result = conn.recv()
            else:
                result = run_job(job)
            server_cpu = cpu_seconds() - cpu
            server_kernel = system_cpu_seconds() - kernel
            others = machine_busy_seconds() - busy - server_cpu
            if conn is not None:
                others -= result["client_cpu"]
            calls = sum(t["calls"] for t in result["labels"].values())
            after = control.counters.snapshot()
            counted = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
            for label, tally in result["labels"].items():
                row = {
                    "route": label,
                    "calls": tally["calls"],
                    "calls_per_s": tally["calls"] / result["wall"],
                    "records_per_s": tally["records"] / result["wall"],
                    "p50_ms": tally["p50_ms"],
                    "p95_ms": tally["p95_ms"],
                    "errors": tally["errors"],
                    "statuses": tally["statuses"],
                    "server_cpu_pct": (None if conn is None else 100 * server_cpu / result["wall"]),
                    "server_cpu_ms_per_call": (
                        None if conn is None else 1000 * server_cpu / max(calls, 1)
                    ),
                    "server_kernel_share_pct": 100 * server_kernel / max(server_cpu, 1e-9),
                    "client_cpu_pct": 100 * result["client_cpu"] / result["wall"],
                    "other_processes_cpu_pct": max(0.0, 100 * others / result["wall"]),
                    "counted": counted,
                }
                rows.append(row)
                say(
                    f"  {label}: {row['calls_per_s']:,.0f} calls/s, "
                    f"{row['records_per_s']:,.0f} records/s"
                )
    finally:
        if conn is not None:
            conn.send(None)
            child.join(timeout=10)
    return rows


def sdk_phase(
    args: argparse.Namespace, emu: Emulators, leads: int, say: Callable[..., None]
) -> list[Any]:
    if args.sdk_seconds <= 0:
        return []
    import requests
    from simple_salesforce.api import Salesforce

    session = requests.Session()
    session.verify = emu.ca_bundle
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (psf/requests#3829)
    sf = Salesforce(
        instance_url=emu.salesforce_url,
        session_id=emu.salesforce.new_session(),
        session=session,
        version="59.0",
    )
    say("  official SDKs, one sequential client ...")
    try:
        return sdk_runs(emu.hubspot_url, sf, args.contacts, leads, args.sdk_seconds)
    finally:
        session.close()


def print_report(report: dict[str, Any]) -> None:
    machine = report["machine"]
    print()
    print(
        f"{machine['cpus']} CPUs, Python {machine['python']}, {machine['uvicorn']}; "
        f"{report['contacts']:,} contacts, {report['leads']:,} leads"
    )
    print("RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in report["rss_mb"].items()))
    print()
    head = (
        f"{'route':<40} {'calls':>7} {'calls/s':>8} {'records/s':>10} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'errors':>6} {'srv CPU':>7} {'ms/call':>7} {'cli CPU':>7} "
        f"{'others':>6}  counted by the emulator"
    )
    print(head)
    print("-" * len(head))
    for row in report["routes"]:
        server, per_call = "n/a", "n/a"
        if row["server_cpu_pct"] is not None:
            server = f"{row['server_cpu_pct']:.0f}%"
            per_call = f"{row['server_cpu_ms_per_call']:.2f}"
        counted = ", ".join(f"{k}: {v}" for k, v in sorted(row["counted"].items()))
        print(
            f"{row['route']:<40} {row['calls']:>7,} {row['calls_per_s']:>8,.0f} "
            f"{row['records_per_s']:>10,.0f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
            f"{row['errors']:>6} {server:>7} {per_call:>7} {row['client_cpu_pct']:>6.0f}% "
            f"{row['other_processes_cpu_pct']:>5.0f}%  {counted}"
        )
    print(
        "srv CPU: the emulators' process (100% = one core; the server is one thread), ms/call:"
        " its CPU per call; cli CPU: the client process; others: the rest of the machine"
    )
    if report["sdk"]:
        print()
        print(f"{'official SDK, one sequential client':<40} {'calls':>7} {'calls/s':>8} "
              f"{'records/s':>10} {'p50 ms':>7} {'p95 ms':>7}")  # fmt: skip
        for row in report["sdk"]:
            print(
                f"{row['route']:<40} {row['calls']:>7,} {row['calls_per_s']:>8,.0f} "
                f"{row['records_per_s']:>10,.0f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f}"
            )


if __name__ == "__main__":
    main()
