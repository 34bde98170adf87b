"""Benchmark: scoring plus MQL evaluation of many leads on one core.

    .venv/bin/python benchmarks/bench_scoring.py [--leads 100000] [--activities 20]

Builds the leads and activities first (not timed), then times `LeadRules.score` and
`LeadRules.mql` for every lead with the shipped definition. Target: >= 20,000 leads/s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mappings.model import Activity, ActivityDetail, Fit, Lead
from sync.config import load_config
from sync.definitions import LeadRules

CONFIG = Path(__file__).parents[1] / "examples" / "leadloop.yaml"
KINDS = [
    "email_open",
    "email_click",
    "page_view",
    "content_download",
    "webinar_attended",
    "form_submit",
    "inquiry",
    "unsubscribe",
]
URLS = ["https://example.co.jp/pricing", "https://example.co.jp/case/1", "https://example.co.jp/"]
INDUSTRIES = ["製造業", "情報通信業", "小売業", "Manufacturing", "IT", "金融業"]
TITLES = ["製造部 部長", "担当", "取締役", "CTO", "Engineer", "営業課長"]


def build(leads: int, per_lead: int, seed: int) -> list[tuple[Lead, list[Activity]]]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    population = []
    for n in range(leads):
        key = f"lead-{n}"
        lead = Lead(
            key=key,
            fit=Fit(
                industry=rng.choice(INDUSTRIES),
                title=rng.choice(TITLES),
                employees=rng.randint(5, 20000),
            ),
        )
        when = sorted(
            start + timedelta(minutes=rng.randint(0, 60 * 24 * 60)) for _ in range(per_lead)
        )
        acts = [
            Activity(key, rng.choice(KINDS), at, ActivityDetail(url=rng.choice(URLS)), f"{key}:{i}")  # type: ignore[arg-type]
            for i, at in enumerate(when)
        ]
        population.append((lead, acts))
    return population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rules = LeadRules(load_config(CONFIG))
    population = build(args.leads, args.activities, args.seed)
    now = datetime(2026, 3, 10, tzinfo=UTC)
    mqls = 0
    began = time.process_time()
    for lead, activities in population:
        score = rules.score(lead, activities, now)
        if rules.mql(lead, score, activities).met:
            mqls += 1
    spent = time.process_time() - began
    print(
        f"scored and evaluated {args.leads:,} leads x {args.activities} activities "
        f"in {spent:.2f} s CPU: {args.leads / spent:,.0f} leads/s ({mqls:,} MQLs)"
    )


if __name__ == "__main__":
    main()
