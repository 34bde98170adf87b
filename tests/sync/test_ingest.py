"""The ingest streams against the emulators, over real HTTP: what lands in the store, and
what it costs in calls."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.emulator.runtime import Emulators
from mappings.model import Activity, Lead
from state import Cursor, Store
from sync.ingest import (
    CONTACTS,
    EMAIL_EVENTS,
    LEADS,
    IngestOptions,
    StreamCounts,
    ingest_contacts,
    ingest_email_events,
    ingest_events,
    ingest_leads,
    ingest_opportunities,
    ingest_tasks,
)
from sync.ingest_stages import follow_sales, path_to
from sync.ingest_types import FieldMaps, cursor_text, parse_instant, start_from
from tests.sync.conftest import Crm

SEARCH = "POST /crm/v3/objects/contacts/search"
HISTORY = "POST /crm/v3/objects/contacts/batch/read"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def add_contact(world: Emulators, n: int, at: datetime, **props: str) -> str:
    """A contact `c<n>@example.jp` at a target company, created (and modified) at `at`."""
    values = {
        "email": f"c{n}@example.jp",
        "firstname": "太郎",
        "lastname": f"山田{n}",
        "company": "東和製作所",
        "jobtitle": "製造部 部長",
        "industry": "製造業",
        "numemployees": "100-500",
        "hs_analytics_source": "ORGANIC_SEARCH",
        **props,
    }
    return world.hubspot.add_contact(values, at=at)


def leads(store: Store) -> dict[str, Lead]:
    """Every stored lead, by HubSpot id (or key when it has none)."""
    with store.transaction() as repo:
        return {lead.hubspot_id or lead.key: lead for lead in repo.leads()}


def activities(store: Store, lead: Lead) -> list[Activity]:
    with store.transaction() as repo:
        return repo.activities_for(lead.key)


def contacts(crm: Crm, store: Store, maps: FieldMaps, **options: Any) -> StreamCounts:
    return ingest_contacts(store, crm.hubspot, maps, crm.now, IngestOptions(**options))


def calls(crm: Crm, before: dict[str, int], route: str) -> int:
    return crm.routes().get(route, 0) - before.get(route, 0)


class TestContacts:
    def test_a_page_of_contacts_becomes_leads_with_fit_and_activity(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Contacts become leads with their fit, their forms classified and their page views."""
        world, start = crm.world, crm.now() - HOUR
        first = add_contact(world, 1, start)
        world.hubspot.add_form_submission(first, "製造業DX 資料ダウンロード", "/f", start + MINUTE)
        world.hubspot.add_page_view(first, "https://www.example.co.jp/pricing", start + 2 * MINUTE)
        world.hubspot.add_form_submission(first, "デモのお問い合わせ", "/f", start + 3 * MINUTE)
        add_contact(world, 2, start + 4 * MINUTE, numemployees="1000+")

        counts = contacts(crm, store, maps)

        assert (counts.read, counts.leads_created, counts.activities_added) == (2, 2, 3)
        stored = leads(store)
        lead = stored[first]
        assert lead.email == "c1@example.jp"
        assert (lead.fit.company, lead.fit.title, lead.fit.employees) == (
            "東和製作所",
            "製造部 部長",
            100,
        )
        assert lead.fit.source == "ORGANIC_SEARCH"
        assert lead.times.first_seen == start
        assert len(lead.key) == 32
        kinds = [(a.kind, a.detail.name or a.detail.url) for a in activities(store, lead)]
        assert kinds == [
            ("content_download", "製造業DX 資料ダウンロード"),
            ("page_view", "https://www.example.co.jp/pricing"),
            ("demo_request", "デモのお問い合わせ"),
        ]
        other = next(lead for key, lead in stored.items() if key != first)
        assert other.fit.employees == 1000
        assert activities(store, other) == []
        assert counts.api_calls == {"contacts.search": 1, "contacts.batch_read_history": 1}

    def test_the_cursor_moves_with_the_page(self, crm: Crm, store: Store, maps: FieldMaps) -> None:
        """The cursor holds the highest lastmodifieddate read, in the one cursor format."""
        at = crm.now() - HOUR
        add_contact(crm.world, 1, at)
        contacts(crm, store, maps)
        with store.transaction() as repo:
            cursor = repo.get_cursor(CONTACTS)
        assert cursor.value == cursor_text(at)
        assert cursor.boundary_keys  # the records of the lag window, to skip on re-read

    def test_pages_are_stored_together_once_they_hold_a_store_batch(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Pages of 2 in transactions of 5 new contacts or more, the cursor moved over the
        last page of each; the rest at the end of the run."""
        start = crm.now() - HOUR
        for n in range(13):
            add_contact(crm.world, n, start + n * MINUTE)
        seen: list[tuple[int, str | None]] = []  # after each page stored: leads, cursor

        def page_stored(counts: StreamCounts) -> None:
            with store.transaction() as repo:
                seen.append((len(list(repo.leads())), repo.get_cursor(CONTACTS).value))

        options = IngestOptions(hubspot_page_size=2, store_batch=5)
        counts = ingest_contacts(store, crm.hubspot, maps, crm.now, options, page_stored)

        commits = list(dict.fromkeys(seen))  # one state per transaction, in order
        assert len(seen) == counts.pages > len(commits) > 1
        held = [leads for leads, _ in commits]
        added = [later - earlier for earlier, later in itertools.pairwise([0, *held])]
        assert all(n >= 5 for n in added[:-1])  # the last one: what was left
        assert commits[-1] == (13, cursor_text(start + 12 * MINUTE))

    def test_a_stopping_run_stores_each_page_read_at_once(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        start = crm.now() - HOUR
        for n in range(6):
            add_contact(crm.world, n, start + n * MINUTE)
        held: list[int] = []

        def page_stored(counts: StreamCounts) -> None:
            with store.transaction() as repo:
                held.append(len(list(repo.leads())))

        options = IngestOptions(hubspot_page_size=2, store_batch=5)
        counts = ingest_contacts(
            store, crm.hubspot, maps, crm.now, options, page_stored, stopping=lambda: True
        )

        assert len(held) == counts.pages and held == sorted(set(held)) and held[-1] == 6

    def test_running_again_reads_nothing_new_and_asks_for_no_history(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A second run re-reads the lag window, skips it, and makes no history call."""
        world, start = crm.world, crm.now() - 2 * MINUTE
        for n in range(3):
            contact = add_contact(world, n, start + n * timedelta(seconds=10))
            world.hubspot.add_form_submission(contact, "お問い合わせ", "/f", start + MINUTE)
        contacts(crm, store, maps)
        before, stored = crm.routes(), leads(store)

        counts = contacts(crm, store, maps)

        assert counts.read == 3 and counts.skipped == 3
        assert (counts.leads_created, counts.leads_updated, counts.activities_added) == (0, 0, 0)
        assert calls(crm, before, SEARCH) == 1 and calls(crm, before, HISTORY) == 0
        assert leads(store) == stored

    def test_a_record_re_read_past_the_window_keys_costs_no_history_call(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Without the window keys, a re-read contact is found up to date in the store."""
        world, start = crm.world, crm.now() - 2 * MINUTE
        contact = add_contact(world, 1, start)
        world.hubspot.add_form_submission(contact, "お問い合わせ", "/f", start + MINUTE)
        world.hubspot.add_page_view(contact, "https://www.example.co.jp/", start + MINUTE)
        contacts(crm, store, maps, window_keys=0)
        before = crm.routes()

        counts = contacts(crm, store, maps, window_keys=0)

        assert (counts.read, counts.skipped, counts.leads_updated) == (1, 0, 0)
        assert calls(crm, before, HISTORY) == 0

    def test_a_contact_changed_later_is_re_read_and_its_new_form_found(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A new form on a known contact costs one history call and adds one activity."""
        world, start = crm.world, crm.now() - HOUR
        ids = [add_contact(world, n, start + n * 10 * MINUTE) for n in range(5)]
        world.hubspot.add_form_submission(ids[1], "DX Webinar registration", "/f", start)
        contacts(crm, store, maps)
        world.clock.advance(HOUR)
        world.hubspot.add_form_submission(ids[1], "Request a quote", "/f", crm.now())
        world.hubspot.write(
            world.hubspot.contacts[ids[3]], {"jobtitle": "取締役"}, "INTEGRATION", crm.now()
        )
        before = crm.routes()

        counts = contacts(crm, store, maps)

        # the two changed, and the first run's last contact again (the lag window): skipped
        assert (counts.read, counts.skipped) == (3, 1)
        assert (counts.leads_updated, counts.activities_added) == (1, 1)
        assert calls(crm, before, SEARCH) == 1 and calls(crm, before, HISTORY) == 1
        stored = leads(store)
        assert [a.kind for a in activities(store, stored[ids[1]])] == [
            "webinar_attended",
            "quote_request",
        ]
        assert stored[ids[3]].fit.title == "取締役"

    def test_the_lag_window_is_re_read_and_de_duplicated(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A contact that shows up late, modified before the cursor, is read on the next run;
        the ones already read in that window are skipped."""
        world, start = crm.world, crm.now() - 10 * MINUTE
        early = add_contact(world, 1, start)
        last = add_contact(world, 2, start + 4 * MINUTE)
        contacts(crm, store, maps)
        late = add_contact(world, 3, start + 2 * MINUTE)  # indexed after the first run

        counts = contacts(crm, store, maps)

        assert (counts.read, counts.skipped, counts.leads_created) == (3, 2, 1)
        assert set(leads(store)) == {early, last, late}

    def test_a_bad_record_is_quarantined_and_the_page_goes_on(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A value the map cannot read quarantines that contact with the map's error."""
        world, start = crm.world, crm.now() - HOUR
        good = add_contact(world, 1, start)
        bad = add_contact(world, 2, start + MINUTE)
        world.hubspot.write(
            world.hubspot.contacts[bad], {"numemployees": "lots"}, "IMPORT", start + MINUTE
        )
        after = add_contact(world, 3, start + 2 * MINUTE)

        counts = contacts(crm, store, maps)

        assert (counts.read, counts.leads_created, counts.quarantined) == (3, 2, 1)
        assert set(leads(store)) == {good, after}
        with store.transaction() as repo:
            [entry] = repo.quarantined()
            cursor = repo.get_cursor(CONTACTS)
        assert (entry.operation, entry.record_key) == ("ingest.contact", bad)
        assert "numemployees" in entry.error_message and "lots" in entry.error_message
        assert cursor.value == cursor_text(start + 2 * MINUTE)

    def test_an_unreadable_form_date_is_quarantined_not_ignored(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A form date the classifier cannot read sends the contact to quarantine."""
        world, start = crm.world, crm.now() - HOUR
        bad = add_contact(world, 1, start)
        world.hubspot.write(
            world.hubspot.contacts[bad],
            {"recent_conversion_date": "yesterday", "recent_conversion_event_name": "x"},
            "FORM",
            start,
        )

        counts = contacts(crm, store, maps)

        assert (counts.leads_created, counts.quarantined) == (0, 1)
        with store.transaction() as repo:
            [entry] = repo.quarantined()
        assert entry.record_key == bad and "yesterday" in entry.error_message

    def test_an_email_links_a_contact_to_a_stored_lead(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A stored lead with the contact's address and no HubSpot id is linked, not doubled."""
        with store.transaction() as repo:
            repo.save_lead(Lead(key="sales-only", email="c1@example.jp", salesforce_id="00Q1"))
        contact = add_contact(crm.world, 1, crm.now() - HOUR)

        counts = contacts(crm, store, maps)

        assert (counts.leads_created, counts.leads_updated) == (0, 1)
        lead = leads(store)[contact]
        assert (lead.key, lead.salesforce_id) == ("sales-only", "00Q1")

    def test_a_lifecycle_stage_lost_after_a_move_back_is_written_again(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A recycled lead whose contact shows no lifecycle stage (the clearing write of the
        two-step move back applied late) has its write-back queued again; a contact showing
        its stage, or a lead that is not moved back, queues nothing."""
        world, start = crm.world, crm.now() - HOUR
        recycled, kept, forward = (add_contact(world, n, start) for n in (1, 2, 3))
        contacts(crm, store, maps)
        with store.transaction() as repo:
            for contact in (recycled, kept):
                lead = repo.find_lead(hubspot_id=contact)
                assert lead is not None
                times = dataclasses.replace(lead.times, recycled_at=start)
                repo.save_lead(dataclasses.replace(lead, stage="recycled", times=times))
        world.clock.advance(MINUTE)
        crm.hubspot.update_contacts(
            {recycled: {"lifecyclestage": ""}, kept: {"lifecyclestage": "lead"}, forward: {}}
        )
        crm.hubspot.update_contacts({forward: {"lifecyclestage": ""}})

        contacts(crm, store, maps)
        contacts(crm, store, maps)  # the same read again queues nothing more

        with store.transaction() as repo:
            queued = repo.pending_outbox("hubspot", 10, datetime.now(UTC) + HOUR)
            keys = {lead.key: lead.hubspot_id for lead in repo.leads()}
        assert [(keys[item.lead_key], item.payload["event"]) for item in queued] == [
            (recycled, "lifecycle_lost")
        ]

    def test_incremental_calls_stay_at_the_batch_minimum(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """N changed contacts, M of them with a new form: ceil(N/200) searches and
        ceil(M/50) history reads, however the M fall on the pages."""
        world, start = crm.world, crm.now() - 3 * HOUR
        ids = [add_contact(world, n, start + n * timedelta(seconds=1)) for n in range(450)]
        contacts(crm, store, maps)
        world.clock.advance(HOUR)
        now, changed, with_form = crm.now(), len(ids), ids[::7][:60]
        for n, contact in enumerate(ids):
            at = now + n * timedelta(milliseconds=10)
            world.hubspot.write(world.hubspot.contacts[contact], {"jobtitle": "CTO"}, "IMPORT", at)
            if contact in with_form:
                world.hubspot.add_form_submission(contact, "Whitepaper: Smart Factory", "/f", at)
        world.clock.advance(MINUTE)
        before = crm.routes()

        counts = contacts(crm, store, maps)

        assert counts.read == changed
        assert calls(crm, before, SEARCH) == math.ceil(changed / 200) == 3
        assert calls(crm, before, HISTORY) == math.ceil(len(with_form) / 50) == 2
        assert counts.activities_added == len(with_form)
        assert counts.leads_updated == changed


class TestEmailEvents:
    def test_events_become_activities_of_the_recipients(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Opens, clicks and unsubscribes become activities; other status changes do not."""
        world, start = crm.world, crm.now() - HOUR
        contact = add_contact(world, 1, start)
        contacts(crm, store, maps)
        world.hubspot.add_email_event(contact, "OPEN", "メールマガジン", start + MINUTE)
        world.hubspot.add_email_event(
            contact, "CLICK", "メールマガジン", start + 2 * MINUTE, "https://x.jp/pricing"
        )
        world.hubspot.add_email_event(contact, "UNSUBSCRIBED", "メールマガジン", start + 3 * MINUTE)
        world.hubspot.add_email_event(contact, "DELIVERED", "メールマガジン", start + 4 * MINUTE)

        counts = ingest_email_events(store, crm.hubspot, maps, crm.now)

        assert (counts.read, counts.activities_added) == (3, 3)
        lead = leads(store)[contact]
        found = [(a.kind, a.detail.url) for a in activities(store, lead)]
        assert found == [
            ("email_open", None),
            ("email_click", "https://x.jp/pricing"),
            ("unsubscribe", None),
        ]
        assert all(a.dedupe_key.startswith("hubspot:email:") for a in activities(store, lead))
        assert counts.api_calls == {"email.events": 1}  # one unfiltered page holds them all
        with store.transaction() as repo:
            assert repo.get_cursor(EMAIL_EVENTS).value == cursor_text(crm.now())

    def test_unknown_recipients_are_counted_and_a_rerun_adds_nothing(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Events of a contact not stored yet are skipped; reading the window again adds
        no duplicate."""
        world, start = crm.world, crm.now() - 2 * MINUTE
        known = add_contact(world, 1, start)
        contacts(crm, store, maps)
        stranger = add_contact(world, 2, start)
        world.hubspot.add_email_event(known, "OPEN", "seminar", start + MINUTE)
        world.hubspot.add_email_event(stranger, "OPEN", "seminar", start + MINUTE)

        first = ingest_email_events(store, crm.hubspot, maps, crm.now)
        again = ingest_email_events(store, crm.hubspot, maps, crm.now)

        assert (first.read, first.unmatched, first.activities_added) == (2, 1, 1)
        assert (again.read, again.activities_added) == (2, 0)  # the lag window, re-read


HS = "HubSpot_Contact_Id__c"


def sf_lead(world: Emulators, email: str, **fields: Any) -> str:
    """A Salesforce lead created now (on the emulators' clock)."""
    values = {"LastName": "山田", "Company": "東和製作所株式会社", "Email": email, **fields}
    return world.salesforce.create("Lead", values)


def salesforce(crm: Crm, store: Store, maps: FieldMaps) -> list[StreamCounts]:
    """Every Salesforce stream, in order."""
    streams = (ingest_leads, ingest_tasks, ingest_events, ingest_opportunities)
    return [stream(store, crm.salesforce, maps, crm.now) for stream in streams]


def by_salesforce_id(store: Store, salesforce_id: str) -> Lead:
    with store.transaction() as repo:
        lead = repo.find_lead(salesforce_id=salesforce_id)
    assert lead is not None
    return lead


class TestSalesforceLeads:
    def test_leads_link_by_external_id_then_email(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """HubSpot_Contact_Id__c links first, then the address; a lead found nowhere is a new,
        Salesforce-only lead. Every one is handed off when it appeared in Salesforce."""
        world = crm.world
        by_id, by_email = (add_contact(world, n, crm.now() - HOUR) for n in (1, 2))
        contacts(crm, store, maps)
        world.clock.advance(MINUTE)
        handed = crm.now()
        x = sf_lead(world, "taro@other.example.jp", **{HS: by_id})
        y = sf_lead(world, "C2@example.jp")
        z = sf_lead(world, "new@example.jp", Title="CTO")

        [counts] = [ingest_leads(store, crm.salesforce, maps, crm.now)]

        assert (counts.read, counts.leads_created, counts.leads_updated) == (3, 1, 2)
        stored = leads(store)
        assert len(stored) == 3
        assert stored[by_id].salesforce_id == x and stored[by_email].salesforce_id == y
        only = by_salesforce_id(store, z)
        assert (only.hubspot_id, only.email, only.fit.title) == (None, "new@example.jp", "CTO")
        for lead in (stored[by_id], stored[by_email], only):
            assert lead.stage == "mql" and lead.times.handed_off_at == handed
        # the conflict rule: Salesforce's company (not blank), HubSpot's address (never)
        assert stored[by_id].fit.company == "東和製作所株式会社"
        assert stored[by_id].email == "c1@example.jp"
        with store.transaction() as repo:
            [change] = repo.stage_history(only.key)
        assert (change.from_stage, change.to_stage) == ("lead", "mql")
        assert counts.stage_changes == 3

    def test_a_linked_lead_keeps_salesforce_values_when_hubspot_changes(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Once linked, a field both CRMs hold follows the HubSpot map's rule: Salesforce's
        value unless it is blank; a HubSpot-only field follows HubSpot."""
        world = crm.world
        contact = add_contact(world, 1, crm.now() - HOUR)
        contacts(crm, store, maps)
        sf_lead(world, "c1@example.jp", Title="部長", **{HS: contact})
        ingest_leads(store, crm.salesforce, maps, crm.now)
        world.clock.advance(HOUR)
        world.hubspot.write(
            world.hubspot.contacts[contact],
            {"jobtitle": "課長", "hs_analytics_source": "REFERRALS"},
            "INTEGRATION",
            crm.now(),
        )

        contacts(crm, store, maps)

        lead = leads(store)[contact]
        assert lead.fit.title == "部長"
        assert lead.fit.source == "REFERRALS"

    def test_running_again_changes_nothing(self, crm: Crm, store: Store, maps: FieldMaps) -> None:
        """The cursor's boundary Ids skip what the inclusive SOQL re-reads."""
        sf_lead(crm.world, "a@example.jp")
        ingest_leads(store, crm.salesforce, maps, crm.now)
        stored = leads(store)

        again = ingest_leads(store, crm.salesforce, maps, crm.now)

        assert (again.read, again.skipped, again.leads_updated) == (1, 1, 0)
        assert again.api_calls == {"query": 1}
        assert leads(store) == stored

    def test_sales_status_moves_the_lead_through_the_lifecycle(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Recycled with a reason and converted leads move by allowed steps, each recorded."""
        world = crm.world
        recycled = sf_lead(world, "r@example.jp")
        converted = sf_lead(world, "c@example.jp")
        world.clock.advance(HOUR)
        world.salesforce.set_fields(
            recycled, {"Status": "Recycled", "Recycle_Reason__c": "予算は来期"}
        )
        world.salesforce.set_fields(
            converted, {"BANT_Budget__c": True, "Problem_Clarity__c": "clear"}
        )
        world.salesforce.convert_lead(converted, crm.now())

        ingest_leads(store, crm.salesforce, maps, crm.now)

        back = by_salesforce_id(store, recycled)
        assert (back.stage, back.stage_reason, back.times.recycled_at) == (
            "recycled",
            "予算は来期",
            crm.now(),
        )
        deal = by_salesforce_id(store, converted)
        assert (deal.stage, deal.bant.budget, deal.assessment.problem.observed) == (
            "opportunity",
            True,
            "clear",
        )
        with store.transaction() as repo:
            moves = [(c.from_stage, c.to_stage) for c in repo.stage_history(deal.key)]
            [correction] = repo.corrections(deal.key)
        assert moves == [("lead", "mql"), ("mql", "sql"), ("sql", "opportunity")]
        assert (correction.axis, correction.observed, correction.source) == (
            "problem",
            "clear",
            "salesforce",
        )

    def test_deleted_and_merged_leads_are_unlinked_or_relinked(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A deleted lead's link is dropped; a merged-away lead's link moves to the master
        when no stored lead holds it."""
        world = crm.world
        gone = sf_lead(world, "gone@example.jp")
        duplicate = sf_lead(world, "dup@example.jp")
        ingest_leads(store, crm.salesforce, maps, crm.now)
        kept = by_salesforce_id(store, duplicate)
        world.clock.advance(MINUTE)
        master = sf_lead(world, "master@example.jp")  # new: read in the same page as the merge
        world.clock.advance(MINUTE)
        world.salesforce.delete_lead(gone)
        world.salesforce.merge_leads(master, duplicate)

        counts = ingest_leads(store, crm.salesforce, maps, crm.now)

        assert counts.unlinked == 2  # the deleted one, and the duplicate: the master is held
        with store.transaction() as repo:
            assert repo.find_lead(salesforce_id=gone) is None
            assert repo.find_lead(email="gone@example.jp") is not None  # kept, unlinked
            assert repo.get_lead(kept.key) == dataclasses.replace(kept, salesforce_id=None)

    def test_a_merged_lead_moves_its_link_to_an_unheld_master(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """The master was never read (older than the cursor): the link moves to it."""
        world = crm.world
        master = sf_lead(world, "master@example.jp")
        with store.transaction() as repo:
            repo.save_cursor(Cursor(LEADS, cursor_text(crm.now() + MINUTE)))
        world.clock.advance(HOUR)
        duplicate = sf_lead(world, "dup@example.jp")
        ingest_leads(store, crm.salesforce, maps, crm.now)
        key = by_salesforce_id(store, duplicate).key
        world.clock.advance(MINUTE)
        world.salesforce.delete("Lead", duplicate)
        world.salesforce.force_value("Lead", duplicate, "MasterRecordId", master)

        counts = ingest_leads(store, crm.salesforce, maps, crm.now)

        assert (counts.unlinked, counts.leads_updated) == (0, 1)
        assert by_salesforce_id(store, master).key == key

    def test_a_bad_lead_is_quarantined_and_the_page_goes_on(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A status the map cannot read quarantines that lead with the map's words."""
        world = crm.world
        bad = sf_lead(world, "bad@example.jp")
        world.salesforce.force_value("Lead", bad, "Status", "Bogus")
        good = sf_lead(world, "good@example.jp")

        counts = ingest_leads(store, crm.salesforce, maps, crm.now)

        assert (counts.leads_created, counts.quarantined) == (1, 1)
        by_salesforce_id(store, good)
        with store.transaction() as repo:
            [entry] = repo.quarantined()
        assert (entry.system, entry.record_key, entry.error_code) == ("salesforce", bad, "mapping")
        assert "Status" in entry.error_message


class TestSalesActivity:
    def test_calls_and_meetings_give_the_first_touch(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """A completed call after handoff is the first touch; a meeting is an activity; a
        planned task is no touch."""
        world = crm.world
        lead_id = sf_lead(world, "a@example.jp")
        handed = crm.now()
        world.clock.advance(HOUR)
        called = crm.now()
        world.salesforce.log_call(lead_id, called)
        world.salesforce.create(
            "Task", {"WhoId": lead_id, "Type": "Call", "Status": "Not Started", "Subject": "x"}
        )
        world.clock.advance(HOUR)
        world.salesforce.log_meeting(lead_id, crm.now())

        counts = salesforce(crm, store, maps)

        tasks, events = counts[1], counts[2]
        assert (tasks.read, tasks.activities_added, tasks.skipped) == (2, 1, 1)
        assert events.activities_added == 1
        lead = by_salesforce_id(store, lead_id)
        assert (lead.times.handed_off_at, lead.times.first_touch_at) == (handed, called)
        found = [(a.kind, a.dedupe_key[:17]) for a in activities(store, lead)]
        assert found == [("call", "salesforce:task:0"), ("meeting", "salesforce:event:")]

    def test_a_task_of_an_unknown_lead_is_counted(
        self, crm: Crm, store: Store, maps: FieldMaps
    ) -> None:
        """Tasks of leads not stored (not read yet) are unmatched, not errors."""
        lead_id = sf_lead(crm.world, "a@example.jp")
        crm.world.salesforce.log_call(lead_id, crm.now())

        counts = ingest_tasks(store, crm.salesforce, maps, crm.now)

        assert (counts.read, counts.unmatched, counts.activities_added) == (1, 1, 0)

    def test_a_closed_deal_closes_the_lead(self, crm: Crm, store: Store, maps: FieldMaps) -> None:
        """A won opportunity, found by the lead's ConvertedOpportunityId, closes the lead won
        with the amount; a lost one lost."""
        world = crm.world
        won, lost = sf_lead(world, "w@example.jp"), sf_lead(world, "l@example.jp")
        world.clock.advance(HOUR)
        deals = {lead: world.salesforce.convert_lead(lead, crm.now()) for lead in (won, lost)}
        salesforce(crm, store, maps)
        world.clock.advance(HOUR)
        closed_at = crm.now()
        world.salesforce.close_opportunity(deals[won], True, 1_200_000, closed_at)
        world.salesforce.close_opportunity(deals[lost], False, None, closed_at)

        [*_, counts] = salesforce(crm, store, maps)

        assert (counts.read, counts.stage_changes, counts.leads_updated) == (2, 2, 2)
        assert counts.api_calls == {"query": 2}  # the page, and the leads converted into it
        winner = by_salesforce_id(store, won)
        assert (winner.stage, winner.times.closed_at) == ("won", closed_at)
        assert winner.outcome is not None and winner.outcome.amount == 1_200_000
        assert by_salesforce_id(store, lost).stage == "lost"


class TestRules:
    """The pure parts: cursor format, where a read starts, the stage chains."""

    def test_cursor_text_is_utc_with_milliseconds(self) -> None:
        """Every stream writes its instants in one sortable form."""
        from datetime import UTC, timezone

        tokyo = timezone(timedelta(hours=9))
        at = datetime(2026, 1, 9, 10, 0, 0, 123456, tzinfo=tokyo)
        assert cursor_text(at) == "2026-01-09T01:00:00.123Z"
        assert parse_instant("2026-01-09T01:00:00.123+0000") == datetime(
            2026, 1, 9, 1, 0, 0, 123000, tzinfo=UTC
        )
        assert parse_instant("1767920400123") == parse_instant("2026-01-09T01:00:00.123Z")

    def test_a_read_starts_at_the_cursor_minus_the_lag_but_not_before_since(self) -> None:
        """`since` bounds a stream without a cursor, or with an older one."""
        from datetime import UTC

        since = datetime(2026, 1, 1, tzinfo=UTC)
        assert start_from(None, HOUR, None) is None
        assert start_from(None, HOUR, since) == since
        assert start_from("2025-06-01T00:00:00.000Z", HOUR, since) == since
        assert start_from("2026-01-05T01:00:00.000Z", HOUR, since) == datetime(
            2026, 1, 5, tzinfo=UTC
        )

    def test_sales_stages_are_reached_by_allowed_moves_never_through_mql(self) -> None:
        """A converted MQL passes SQL; a recycled lead cannot jump to a deal; a won lead
        stays won."""
        assert path_to("mql", "opportunity") == ["sql", "opportunity"]
        assert path_to("sql", "recycled") == ["recycled"]
        assert path_to("recycled", "opportunity") is None
        assert path_to("won", "recycled") is None
        assert path_to("lost", "lost") == []

    def test_a_lead_requalified_after_sales_last_changed_it_keeps_its_stage(self) -> None:
        """A Salesforce status older than leadloop's MQL is stale, and ignored."""
        from datetime import UTC

        at = datetime(2026, 1, 9, tzinfo=UTC)
        lead = Lead(key="k", stage="mql")
        lead = dataclasses.replace(
            lead, times=dataclasses.replace(lead.times, mql_at=at, handed_off_at=None)
        )
        kept, changes = follow_sales(
            lead, "recycled", "予算", handed_off_at=at - HOUR, changed_at=at - MINUTE, record="x"
        )
        assert (kept.stage, changes) == ("mql", [])
        moved, [change] = follow_sales(
            lead, "recycled", "予算", handed_off_at=at - HOUR, changed_at=at + MINUTE, record="x"
        )
        assert (moved.stage, moved.stage_reason, change.reasons) == ("recycled", "予算", ("予算",))
