"""SOQL literals: escaped so that no value can break or change a query, checked end to end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connectors.emulator.runtime import Emulators
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.soql import datetime_literal, in_list, quote, select
from tests.connectors.salesforce.conftest import new_lead

TRICKY = [
    "O'Brien",
    "' OR Name != '",
    "\\' OR Name != \\'",
    "C:\\Users\\tanaka\\",
    "line\nbreak\r\ttab",
    'say "hello"',
    "bell\b\fform",
    "100%_done",
    "山田 太郎（営業部）",
]


class TestLiterals:
    @pytest.mark.parametrize(
        ("value", "literal"),
        [
            ("O'Brien", "'O\\'Brien'"),
            ("a\\b", "'a\\\\b'"),
            ('"x"', "'\\\"x\\\"'"),
            ("1\n2\r3\t4\b5\f6", "'1\\n2\\r3\\t4\\b5\\f6'"),
            ("山田", "'山田'"),
            ("", "''"),
        ],
    )
    def test_quote(self, value: str, literal: str) -> None:
        """Quotes, backslashes and control characters are escaped; other text is kept."""
        assert quote(value) == literal

    def test_datetime_literal_is_utc_whole_seconds(self) -> None:
        """Aware datetimes become unquoted UTC literals; sub-seconds are dropped (earlier)."""
        jst = timezone(timedelta(hours=9))
        moment = datetime(2026, 1, 9, 10, 0, 5, 999_999, tzinfo=jst)
        assert datetime_literal(moment) == "2026-01-09T01:00:05Z"
        with pytest.raises(ValueError, match="timezone-aware"):
            datetime_literal(datetime(2026, 1, 9))

    def test_in_list(self) -> None:
        """Each value quoted; an empty list is refused (SOQL has no `IN ()`)."""
        assert in_list(["a", "O'B"]) == "('a','O\\'B')"
        with pytest.raises(ValueError):
            in_list([])

    def test_select_builds_and_checks_names(self) -> None:
        """Names must be API names; WHERE, ORDER BY and LIMIT are put in order."""
        text = select(
            "Lead",
            ["Id", "Owner.Email"],
            where="IsDeleted = false",
            order_by=["SystemModstamp", "Id DESC NULLS LAST"],
            limit=10,
        )
        assert text == (
            "SELECT Id, Owner.Email FROM Lead WHERE IsDeleted = false "
            "ORDER BY SystemModstamp, Id DESC NULLS LAST LIMIT 10"
        )
        for bad in ("Id, Name", "Id FROM Lead--", "Name'"):
            with pytest.raises(ValueError):
                select("Lead", [bad])
        with pytest.raises(ValueError):
            select("Lead; DELETE", ["Id"])
        with pytest.raises(ValueError):
            select("Lead", ["Id"], order_by=["Id; DROP"])


class TestAgainstTheOrg:
    def test_each_value_finds_exactly_its_lead(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """Every tricky name matches its own lead and nothing else."""
        ids = {value: new_lead(emulators, LastName=value) for value in TRICKY}
        for decoy in ("Brien", "O", "Users", "break", "hello", "山田"):
            new_lead(emulators, LastName=decoy)
        for value, lead_id in ids.items():
            soql = select("Lead", ["Id", "LastName"], where=f"LastName = {quote(value)}")
            (page,) = sf.query(soql)
            assert page == [{"Id": lead_id, "LastName": value}], value

    def test_in_list_finds_exactly_the_listed(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """An IN list of tricky values returns those leads only."""
        ids = {value: new_lead(emulators, LastName=value) for value in TRICKY}
        new_lead(emulators, LastName="Other")
        soql = select("Lead", ["Id"], where=f"LastName IN {in_list(TRICKY[:5])}")
        (page,) = sf.query(soql)
        assert sorted(r["Id"] for r in page) == sorted(ids[v] for v in TRICKY[:5])

    def test_datetime_literal_filters_by_time(
        self, emulators: Emulators, sf: SalesforceConnector
    ) -> None:
        """A datetime literal is accepted unquoted and compares instants across zones."""
        new_lead(emulators, LastName="Before")
        later = emulators.clock.advance(timedelta(seconds=1))
        after = new_lead(emulators, LastName="After")
        jst = later.astimezone(timezone(timedelta(hours=9)))
        soql = select("Lead", ["Id"], where=f"SystemModstamp >= {datetime_literal(jst)}")
        (page,) = sf.query(soql)
        assert page == [{"Id": after}]
