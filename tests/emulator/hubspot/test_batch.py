"""Batch read, update and upsert through the SDK: limits and the 207 partial answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
)

from tests.emulator.hubspot.conftest import Emulator


def read(emu: Emulator, ids: list[str], history: list[str] | None = None, **kw: Any) -> Any:
    body = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": i} for i in ids],
        properties=["email", "lifecyclestage"],
        properties_with_history=history or [],
        **kw,
    )
    return emu.client.crm.contacts.batch_api.read(body)


def update(emu: Emulator, inputs: list[dict[str, Any]]) -> Any:
    body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    return emu.client.crm.contacts.batch_api.update(body)


def status_of(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


class TestBatchRead:
    def test_reads_by_id_and_by_email(self, emu: Emulator) -> None:
        """batch/read finds contacts by id, or by e-mail with idProperty."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        found = read(emu, [a])
        assert isinstance(found, BatchResponseSimplePublicObject)
        assert [r.id for r in found.results] == [a]
        by_email = read(emu, ["a@example.jp"], id_property="email")
        assert [r.id for r in by_email.results] == [a]

    def test_unknown_ids_give_207_with_errors(self, emu: Emulator) -> None:
        """Ids that name no contact come back as one OBJECT_NOT_FOUND error in a 207."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        found = read(emu, [a, "424242"])
        assert isinstance(found, BatchResponseSimplePublicObjectWithErrors)
        assert found.num_errors == 1
        assert found.errors[0].category == "OBJECT_NOT_FOUND"
        assert found.errors[0].context == {"ids": ["424242"]}
        assert [r.id for r in found.results] == [a]

    def test_101_inputs_are_refused(self, emu: Emulator) -> None:
        """More than 100 inputs is a 400."""
        status, body = status_of(lambda: read(emu, [str(i) for i in range(101)]))
        assert (status, body["category"]) == (400, "VALIDATION_ERROR")

    def test_51_inputs_with_history_are_refused(self, emu: Emulator) -> None:
        """With propertiesWithHistory the limit is 50 inputs."""
        ids = [str(i) for i in range(51)]
        status, _ = status_of(lambda: read(emu, ids, history=["lifecyclestage"]))
        assert status == 400
        read(emu, ids[:50], history=["lifecyclestage"])

    def test_history_is_returned(self, emu: Emulator) -> None:
        """propertiesWithHistory brings each property's writes."""
        a = emu.state.add_contact({"email": "h@example.jp", "lifecyclestage": "lead"})
        found = read(emu, [a], history=["lifecyclestage"])
        assert found.results[0].properties_with_history["lifecyclestage"][0].value == "lead"


class TestBatchUpdate:
    def test_updates_and_moves_lastmodifieddate(self, emu: Emulator) -> None:
        """batch/update writes every input."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        b = emu.state.add_contact({"email": "b@example.jp"})
        inputs = [
            {"id": a, "properties": {"hs_lead_status": "OPEN"}},
            {"id": b, "properties": {"hs_lead_status": "NEW"}},
        ]
        done = update(emu, inputs)
        assert isinstance(done, BatchResponseSimplePublicObject)
        assert {r.properties["hs_lead_status"] for r in done.results} == {"OPEN", "NEW"}

    def test_one_invalid_input_fails_the_whole_batch(self, emu: Emulator) -> None:
        """An invalid value in one input is a 400 for the batch; nothing is written."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        b = emu.state.add_contact({"email": "b@example.jp"})
        inputs = [
            {"id": a, "properties": {"hs_lead_status": "OPEN"}},
            {"id": b, "properties": {"hs_lead_status": "HOT"}},
        ]
        status, body = status_of(lambda: update(emu, inputs))
        assert (status, body["category"]) == (400, "VALIDATION_ERROR")
        assert "hs_lead_status" not in emu.state.contacts[a].properties

    def test_partial_mode_answers_207(self, make_emulator: Callable[..., Emulator]) -> None:
        """With batch_errors="partial" the valid inputs are written and the bad one listed."""
        emu = make_emulator(batch_errors="partial")
        a = emu.state.add_contact({"email": "a@example.jp"})
        b = emu.state.add_contact({"email": "b@example.jp"})
        inputs = [
            {"id": a, "properties": {"hs_lead_status": "OPEN"}},
            {"id": b, "properties": {"hs_lead_status": "HOT"}},
        ]
        done = update(emu, inputs)
        assert isinstance(done, BatchResponseSimplePublicObjectWithErrors)
        assert [r.id for r in done.results] == [a]
        assert done.errors[0].category == "VALIDATION_ERROR"
        assert done.errors[0].context == {"ids": [b]}

    def test_missing_ids_give_207(self, emu: Emulator) -> None:
        """An id that names no contact is listed in a 207; the others are written."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        done = update(
            emu,
            [
                {"id": a, "properties": {"firstname": "A"}},
                {"id": "9999", "properties": {"firstname": "B"}},
            ],
        )
        assert isinstance(done, BatchResponseSimplePublicObjectWithErrors)
        assert done.errors[0].context == {"ids": ["9999"]}

    def test_101_inputs_and_duplicates_are_refused(self, emu: Emulator) -> None:
        """More than 100 inputs, or one id twice, is a 400."""
        many = [{"id": str(i), "properties": {}} for i in range(101)]
        assert status_of(lambda: update(emu, many))[0] == 400
        twice = [{"id": "1", "properties": {}}, {"id": "1", "properties": {}}]
        assert status_of(lambda: update(emu, twice))[0] == 400


class TestBatchUpsert:
    def test_upsert_by_email_creates_and_updates(self, emu: Emulator) -> None:
        """batch/upsert by e-mail updates a known contact and creates an unknown one."""
        a = emu.state.add_contact({"email": "a@example.jp"})
        body = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "a@example.jp", "idProperty": "email", "properties": {"firstname": "A"}},
                {"id": "z@example.jp", "idProperty": "email", "properties": {"firstname": "Z"}},
            ]
        )
        done = emu.client.crm.contacts.batch_api.upsert(body)
        assert isinstance(done, BatchResponseSimplePublicUpsertObject)
        by_name = {r.properties["firstname"]: r for r in done.results}
        assert (by_name["A"].id, by_name["A"].new) == (a, False)
        assert by_name["Z"].new is True
        assert emu.state.id_for_email("z@example.jp") == by_name["Z"].id
