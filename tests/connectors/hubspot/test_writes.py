"""Batch update and upsert: bad records quarantined with HubSpot's words, good ones written."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from connectors.emulator.runtime import Emulators
from tests.connectors.hubspot.conftest import Harness

UPDATE = "POST /crm/v3/objects/contacts/batch/update"
UPSERT = "POST /crm/v3/objects/contacts/batch/upsert"
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)


def add(world: Emulators, count: int, **props: str) -> list[str]:
    return [
        world.hubspot.add_contact({"email": f"w{n}@example.jp", **props}, at=EPOCH)
        for n in range(count)
    ]


def value(world: Emulators, contact_id: str, name: str) -> str | None:
    found = world.hubspot.contact_view(contact_id)["properties"].get(name)
    return None if found is None else str(found)


@pytest.fixture(params=["atomic", "partial"])
def mode(request: pytest.FixtureRequest, harness: Harness) -> str:
    """HubSpot's usual answer to an invalid value (400 for the whole batch), and the 207
    it gives when it can apply the rest."""
    harness.world.hubspot.batch_errors = request.param
    return str(request.param)


class TestUpdate:
    def test_250_updates_take_3_calls(self, harness: Harness) -> None:
        """100 inputs a call, every id written."""
        ids = add(harness.world, 250)
        outcome = harness.connector.update_contacts({i: {"jobtitle": "CTO"} for i in ids})
        assert sorted(outcome.written) == sorted(ids) and outcome.failed == []
        assert harness.routes()[UPDATE] == 3
        assert harness.usage.snapshot().calls == {"contacts.batch_update": 3}
        assert all(value(harness.world, i, "jobtitle") == "CTO" for i in ids)

    def test_bad_records_are_quarantined_and_the_rest_written(
        self, harness: Harness, mode: str
    ) -> None:
        """One invalid option and one unknown property among 100: those two fail with
        HubSpot's message and code, the other 98 are written, in at most two calls."""
        world = harness.world
        ids = add(world, 100)
        updates = {i: {"jobtitle": "Engineer"} for i in ids}
        updates[ids[10]] = {"jobtitle": "Engineer", "hs_lead_status": "HOT"}
        updates[ids[20]] = {"jobtitle": "Engineer", "favourite_colour": "blue"}

        outcome = harness.connector.update_contacts(updates)

        failed = {f.key: f for f in outcome.failed}
        assert set(failed) == {ids[10], ids[20]}
        assert failed[ids[10]].fields == ("hs_lead_status",)
        assert "HOT was not one of the allowed options" in failed[ids[10]].message
        assert failed[ids[20]].fields == ("favourite_colour",)
        assert 'Property "favourite_colour" does not exist' in failed[ids[20]].message
        assert failed[ids[10]].code == "INVALID_OPTION"
        assert failed[ids[20]].code == "PROPERTY_DOESNT_EXIST"
        good = [i for i in ids if i not in failed]
        assert sorted(outcome.written) == sorted(good)
        assert all(value(world, i, "jobtitle") == "Engineer" for i in good)
        assert value(world, ids[10], "jobtitle") is None
        assert harness.routes()[UPDATE] == (2 if mode == "atomic" else 1)

    def test_a_bad_value_many_records_share_is_found_by_bisecting(self, harness: Harness) -> None:
        """When every input sets the property HubSpot complains about, bisecting finds the
        bad one in about 2 log2(100) extra calls, and the other 99 are written."""
        world = harness.world
        ids = add(world, 100)
        updates = {i: {"hs_lead_status": "OPEN"} for i in ids}
        updates[ids[63]] = {"hs_lead_status": "open-ish"}

        outcome = harness.connector.update_contacts(updates)

        assert [f.key for f in outcome.failed] == [ids[63]]
        assert outcome.failed[0].code == "INVALID_OPTION"
        assert "open-ish was not one of the allowed options" in outcome.failed[0].message
        assert len(outcome.written) == 99
        assert value(world, ids[0], "hs_lead_status") == "OPEN"
        assert harness.routes()[UPDATE] <= 1 + 2 * math.ceil(math.log2(100))

    def test_unknown_ids_fail_and_the_rest_is_written(self, harness: Harness) -> None:
        """An id HubSpot does not know comes back in the 207's errors and is quarantined."""
        ids = add(harness.world, 3)
        outcome = harness.connector.update_contacts(
            {**{i: {"jobtitle": "CFO"} for i in ids}, "424242": {"jobtitle": "CFO"}}
        )
        assert sorted(outcome.written) == sorted(ids)
        assert [(f.key, f.code) for f in outcome.failed] == [("424242", "OBJECT_NOT_FOUND")]
        assert "Could not get some CONTACT objects" in outcome.failed[0].message

    def test_lifecycle_moves_back_only_when_cleared_first(self, harness: Harness) -> None:
        """HubSpot ignores a move back from SQL to lead; cleared first, it takes it."""
        world = harness.world
        plain, cleared = add(world, 2, lifecyclestage="salesqualifiedlead")
        updates = {
            plain: {"lifecyclestage": "lead"},
            cleared: {"lifecyclestage": "lead", "hs_lead_status": "BAD_TIMING"},
        }

        outcome = harness.connector.update_contacts(updates, clear_lifecycle_first=[cleared])

        assert sorted(outcome.written) == sorted([plain, cleared]) and outcome.failed == []
        assert value(world, plain, "lifecyclestage") == "salesqualifiedlead"
        assert value(world, cleared, "lifecyclestage") == "lead"
        assert value(world, cleared, "hs_lead_status") == "BAD_TIMING"
        history = world.hubspot.contact_view(cleared)["propertiesWithHistory"]["lifecyclestage"]
        assert [e["value"] for e in history] == ["lead", "", "salesqualifiedlead"]
        assert harness.routes()[UPDATE] == 2

    def test_an_invalid_value_is_refused_before_the_stage_is_cleared(
        self, harness: Harness
    ) -> None:
        """A clear-first record with a bad value fails in the first call and keeps its stage."""
        world = harness.world
        (contact,) = add(world, 1, lifecyclestage="opportunity")
        outcome = harness.connector.update_contacts(
            {contact: {"lifecyclestage": "lead", "numemployees": "lots"}},
            clear_lifecycle_first=[contact],
        )
        assert [f.key for f in outcome.failed] == [contact] and outcome.written == []
        assert value(world, contact, "lifecyclestage") == "opportunity"


class TestUpsertByEmail:
    def test_creates_and_updates_in_one_call(self, harness: Harness) -> None:
        """Known e-mails are updated, new ones created; ids map each e-mail to its contact."""
        world = harness.world
        existing = world.hubspot.add_contact({"email": "known@example.jp"}, at=EPOCH)
        outcome = harness.connector.upsert_contacts_by_email(
            {
                "known@example.jp": {"jobtitle": "CEO"},
                "new@example.jp": {"firstname": "Hana", "lifecyclestage": "lead"},
            }
        )
        assert outcome.failed == []
        assert outcome.ids["known@example.jp"] == existing
        created = outcome.ids["new@example.jp"]
        assert outcome.created == [created]
        assert sorted(outcome.written) == sorted([existing, created])
        assert value(world, existing, "jobtitle") == "CEO"
        assert value(world, created, "email") == "new@example.jp"
        assert value(world, created, "lifecyclestage") == "lead"
        assert harness.routes()[UPSERT] == 1

    def test_a_bad_record_is_quarantined_by_email(self, harness: Harness, mode: str) -> None:
        """The refused record is keyed by its e-mail; the others are created."""
        emails = [f"u{n}@example.jp" for n in range(5)]
        values = {e: {"firstname": "A"} for e in emails}
        values[emails[2]] = {"firstname": "A", "numemployees": "a few"}
        outcome = harness.connector.upsert_contacts_by_email(values)
        assert [f.key for f in outcome.failed] == [emails[2]]
        assert "a few was not one of the allowed options" in outcome.failed[0].message
        assert sorted(outcome.ids) == sorted(e for e in emails if e != emails[2])
        assert len(outcome.created) == 4
