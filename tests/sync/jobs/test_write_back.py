"""The feedback job's write-back to HubSpot: what the contact shows afterwards, and the
leads the drain reads (none the job has just worked out)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from mappings.model import Fit, Lead, Score, ScoreReason
from state import Repository, Store
from sync.config import Config
from sync.ingest_types import FieldMaps
from sync.jobs.context import JobContext
from sync.jobs.feedback import run_feedback
from sync.jobs.handoff import WriteBack, drain_hubspot
from tests.sync.conftest import Crm


@pytest.fixture
def ctx(crm: Crm, tmp_path: Path, shipped: Config, maps: FieldMaps) -> Iterator[JobContext]:
    for field in maps.hubspot.required_crm_fields():
        if field.custom is not None:
            crm.hubspot.create_property(field.custom.to_hubspot())
    store = Store.connect(f"sqlite:///{tmp_path / 'state.db'}", migrate=True, clock=crm.now)
    yield JobContext(store, crm.hubspot, crm.salesforce, shipped, maps, crm.now)
    store.dispose()


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every lead read by key from now on, in order."""
    keys: list[str] = []
    original = Repository.leads_by_key

    def counted(self: Repository, wanted: Iterable[str]) -> dict[str, Lead]:
        wanted = list(wanted)
        keys.extend(wanted)
        return original(self, wanted)

    monkeypatch.setattr(Repository, "leads_by_key", counted)
    return keys


def scored_lead(crm: Crm, n: int, total: int) -> Lead:
    """Lead `n`, linked to a new HubSpot contact, with a score of `total`."""
    contact = crm.world.hubspot.add_contact({"email": f"person{n}@example.co.jp"})
    return Lead(
        key=f"lead-{n}",
        email=f"person{n}@example.co.jp",
        hubspot_id=contact,
        fit=Fit(company=f"株式会社サンプル{n}"),
        score=Score(total=total, reasons=(ScoreReason("content_download", total),)),
    )


def score_in_hubspot(crm: Crm, lead: Lead) -> str | None:
    assert lead.hubspot_id is not None
    properties = crm.world.hubspot.contacts[lead.hubspot_id].properties
    value = properties.get("leadloop_score")
    return None if value is None else str(value)


def test_every_changed_lead_is_written_back_without_being_read_again(
    crm: Crm, ctx: JobContext, read: list[str]
) -> None:
    leads = [scored_lead(crm, n, 10 * n) for n in range(1, 4)]
    with ctx.store.transaction() as repo:
        repo.save_leads(leads)

    counts = run_feedback(ctx)

    assert counts["queued"] == counts["written_back"] == 3
    assert [score_in_hubspot(crm, lead) for lead in leads] == ["10", "20", "30"]
    assert sorted(read) == ["lead-1", "lead-2", "lead-3"]  # once, by the queuing step


def test_the_drain_reads_the_leads_it_was_not_given(
    crm: Crm, ctx: JobContext, read: list[str]
) -> None:
    given, other = scored_lead(crm, 1, 10), scored_lead(crm, 2, 20)
    with ctx.store.transaction() as repo:
        repo.save_leads([given, other])
        for lead in (given, other):
            repo.enqueue("hubspot", "update_contact", lead.key, f"{lead.key}:test", {})
    write = WriteBack.of(ctx.maps.hubspot, given)
    assert write is not None

    drain_hubspot(ctx, Counter(), {given.key: write})

    assert read == ["lead-2"]
    assert [score_in_hubspot(crm, lead) for lead in (given, other)] == ["10", "20"]
