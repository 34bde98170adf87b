"""Contact search through the SDK: operators, limits, sorting and paging."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    PublicObjectSearchRequest,
)

from tests.emulator.hubspot.conftest import Emulator


def search(
    emu: Emulator, **body: Any
) -> CollectionResponseWithTotalSimplePublicObjectForwardPaging:
    result = emu.client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(**body))
    assert isinstance(result, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    return result


def refused(emu: Emulator, **body: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as info:
        search(emu, **body)
    assert info.value.status == 400
    parsed: dict[str, Any] = json.loads(info.value.body)
    assert parsed["category"] == "VALIDATION_ERROR"
    return parsed


def one(name: str, op: str, **rest: Any) -> list[dict[str, Any]]:
    return [{"filters": [{"propertyName": name, "operator": op, **rest}]}]


@pytest.fixture
def people(emu: Emulator) -> dict[str, str]:
    """Three contacts a day apart: ids by first name."""
    rows = [
        {
            "email": "aiko@alpha.jp",
            "firstname": "Aiko",
            "lifecyclestage": "lead",
            "jobtitle": "Head of Sales Ops",
        },
        {
            "email": "ben@beta.jp",
            "firstname": "Ben",
            "lifecyclestage": "customer",
            "hs_lead_status": "OPEN",
        },
        {
            "email": "chie@gamma.jp",
            "firstname": "Chie",
            "lifecyclestage": "lead",
            "numemployees": "25-50",
        },
    ]
    ids = {}
    for row in rows:
        ids[row["firstname"]] = emu.state.add_contact(row)
        emu.clock.advance(timedelta(days=1))
    return ids


DAY2 = "1768039200000"  # 2026-01-10T10:00Z: Ben's createdate, as epoch ms

OPERATORS = [
    ("EQ", one("email", "EQ", value="BEN@beta.jp"), {"Ben"}),
    ("NEQ", one("lifecyclestage", "NEQ", value="lead"), {"Ben"}),
    ("GT date", one("createdate", "GT", value=DAY2), {"Chie"}),
    ("GTE date", one("createdate", "GTE", value=DAY2), {"Ben", "Chie"}),
    ("LT date", one("createdate", "LT", value=DAY2), {"Aiko"}),
    ("LTE ISO date", one("createdate", "LTE", value="2026-01-10T10:00:00Z"), {"Aiko", "Ben"}),
    ("BETWEEN", one("createdate", "BETWEEN", value="0", highValue=DAY2), {"Aiko", "Ben"}),
    ("IN", one("firstname", "IN", values=["aiko", "chie"]), {"Aiko", "Chie"}),
    ("NOT_IN", one("lifecyclestage", "NOT_IN", values=["customer"]), {"Aiko", "Chie"}),
    ("HAS_PROPERTY", one("hs_lead_status", "HAS_PROPERTY"), {"Ben"}),
    ("NOT_HAS_PROPERTY", one("numemployees", "NOT_HAS_PROPERTY"), {"Aiko", "Ben"}),
    ("CONTAINS_TOKEN", one("jobtitle", "CONTAINS_TOKEN", value="sales"), {"Aiko"}),
    ("CONTAINS_TOKEN *", one("email", "CONTAINS_TOKEN", value="*@gamma.jp"), {"Chie"}),
    ("NOT_CONTAINS_TOKEN", one("jobtitle", "NOT_CONTAINS_TOKEN", value="ops"), {"Ben", "Chie"}),
    (
        "groups are ORed",
        one("firstname", "EQ", value="Aiko") + one("firstname", "EQ", value="Chie"),
        {"Aiko", "Chie"},
    ),
    (
        "filters are ANDed",
        [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                    {"propertyName": "numemployees", "operator": "EQ", "value": "25-50"},
                ]
            }
        ],
        {"Chie"},
    ),
]


class TestOperators:
    @pytest.mark.parametrize(
        ("groups", "expected"), [(g, e) for _, g, e in OPERATORS], ids=[n for n, _, _ in OPERATORS]
    )
    def test_operator(
        self, emu: Emulator, people: dict[str, str], groups: list[Any], expected: set[str]
    ) -> None:
        """Each operator selects the contacts HubSpot would."""
        found = search(emu, filter_groups=groups, properties=["firstname"])
        assert {c.properties["firstname"] for c in found.results} == expected
        assert found.total == len(expected)

    def test_unknown_property_in_a_filter_is_refused(self, emu: Emulator) -> None:
        """Filtering on a property that does not exist is a 400."""
        refused(emu, filter_groups=one("nope", "EQ", value="x"))


class TestLimits:
    def test_limit_201_is_refused(self, emu: Emulator) -> None:
        """A page of more than 200 is a 400 VALIDATION_ERROR."""
        refused(emu, limit=201)

    def test_six_filter_groups_are_refused(self, emu: Emulator) -> None:
        """More than five filter groups is a 400."""
        refused(emu, filter_groups=one("email", "HAS_PROPERTY") * 6)

    def test_seven_filters_in_a_group_are_refused(self, emu: Emulator) -> None:
        """More than six filters in one group is a 400."""
        filters = [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 7
        refused(emu, filter_groups=[{"filters": filters}])

    def test_nineteen_filters_in_all_are_refused(self, emu: Emulator) -> None:
        """More than eighteen filters across the groups is a 400, even with six a group."""
        group = {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 4}
        search(emu, filter_groups=[group] * 4 + [{"filters": group["filters"][:2]}])
        refused(emu, filter_groups=[group] * 4 + [{"filters": group["filters"][:3]}])

    def test_only_one_sort(self, emu: Emulator) -> None:
        """Two sorts are a 400."""
        refused(emu, sorts=[{"propertyName": "email"}, {"propertyName": "createdate"}])

    def test_no_paging_past_ten_thousand(self, emu: Emulator) -> None:
        """Paging reaches result 10,000 and then the next page is a 400."""
        for i in range(10_050):
            emu.state.add_contact({"email": f"bulk{i}@example.jp"})
        last = search(emu, limit=200, after="9800")
        assert last.total == 10_050
        assert last.paging.next.after == "10000"
        body = refused(emu, limit=200, after=last.paging.next.after)
        assert "10000" in body["message"]


class TestSortingAndPaging:
    def test_after_pages_through_all_results_in_sort_order(self, emu: Emulator) -> None:
        """Following paging.next.after visits every match once, in lastmodifieddate order."""
        ids = []
        for i in range(45):
            ids.append(emu.state.add_contact({"email": f"s{i}@example.jp"}))
            emu.clock.advance(timedelta(seconds=1))
        emu.state.write(
            emu.state.contacts[ids[0]], {"firstname": "Late"}, "INTEGRATION", emu.clock.now()
        )
        sort = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
        seen, after = [], None
        while True:
            page = search(emu, limit=10, after=after, sorts=sort)
            seen += [c.id for c in page.results]
            if page.paging is None:
                break
            after = page.paging.next.after
        assert seen == ids[1:] + ids[:1]

    def test_descending_sort(self, emu: Emulator, people: dict[str, str]) -> None:
        """DESCENDING reverses the order."""
        sort = [{"propertyName": "createdate", "direction": "DESCENDING"}]
        found = search(emu, sorts=sort, properties=["firstname"])
        assert [c.properties["firstname"] for c in found.results] == ["Chie", "Ben", "Aiko"]

    def test_properties_select_what_comes_back(self, emu: Emulator, people: dict[str, str]) -> None:
        """`properties` picks the returned properties; the default set is HubSpot's."""
        chosen = search(emu, properties=["lifecyclestage"]).results[0].properties
        assert set(chosen) == {"lifecyclestage", "createdate", "hs_object_id", "lastmodifieddate"}
        default = search(emu).results[0].properties
        assert set(default) == {
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        }
