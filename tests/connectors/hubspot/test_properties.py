"""Contact property definitions: listed as HubSpot describes them, and created."""

from __future__ import annotations

import pytest

from connectors.errors import RecordError
from tests.connectors.hubspot.conftest import Harness

DEFINITION = {
    "name": "leadloop_score",
    "label": "leadloop score",
    "type": "number",
    "fieldType": "number",
    "groupName": "contactinformation",
    "description": "Lead score computed by leadloop",
}


def test_properties_are_listed_in_hubspots_shape(harness: Harness) -> None:
    """One call lists every property with its type, field type, group and options."""
    properties = {p["name"]: p for p in harness.connector.contact_properties()}
    stage = properties["lifecyclestage"]
    assert (stage["type"], stage["fieldType"], stage["groupName"]) == (
        "enumeration",
        "select",
        "contactinformation",
    )
    assert {"label": "Lead", "value": "lead"}.items() <= stage["options"][1].items()
    assert harness.usage.snapshot().calls == {"properties.list": 1}


def test_a_property_is_created_and_then_listed(harness: Harness) -> None:
    """create_property returns HubSpot's definition; the next listing has it."""
    created = harness.connector.create_property(DEFINITION)
    assert (created["name"], created["type"]) == ("leadloop_score", "number")
    assert "leadloop_score" in {p["name"] for p in harness.connector.contact_properties()}


def test_an_existing_name_is_refused_as_a_record_error(harness: Harness) -> None:
    """Creating a property twice is HubSpot's 409, a record error with its message."""
    harness.connector.create_property(DEFINITION)
    with pytest.raises(RecordError) as info:
        harness.connector.create_property(DEFINITION)
    assert info.value.status == 409
    assert "already exists" in info.value.message
