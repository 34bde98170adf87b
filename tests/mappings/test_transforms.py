"""Transform steps: lengths, dates and times, value maps, bands and score reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mappings.exceptions import RecordMappingError
from mappings.fieldmap import FieldMap, load_default_field_map
from mappings.model import Fit, Lead, LeadTimes, Score, ScoreReason
from tests.mappings.support import JST, load_text, utc

MQL_AT = datetime(2026, 1, 8, 14, 20, 11, tzinfo=JST)  # 05:20:11 UTC


def mql_map(tmp_path: Path, system: str, step: str, timezone: str = "Asia/Tokyo") -> FieldMap:
    obj = "contacts" if system == "hubspot" else "Lead"
    return load_text(
        tmp_path,
        f"system: {system}\nobject: {obj}\ntimezone: {timezone}\nfields:\n"
        f"  times.mql_at:\n    field: mql_date\n    transform: [{step}]\n",
    )


def written_mql(field_map: FieldMap, at: datetime = MQL_AT) -> object:
    return field_map.from_lead(Lead("k", times=LeadTimes(mql_at=at)))["mql_date"]


def read_mql(field_map: FieldMap, value: object) -> datetime | None:
    hubspot = field_map.system == "hubspot"
    record = {"properties": {"mql_date": value}} if hubspot else {"mql_date": value}
    return field_map.to_lead(record, Lead("k")).times.mql_at


class TestTruncate:
    def test_text_is_cut_to_the_field_length(self) -> None:
        """A company name longer than Company's 255 characters is cut to exactly 255."""
        name = "株式会社" + "長い名前" * 100
        written = load_default_field_map("salesforce").from_lead(Lead("k", fit=Fit(company=name)))
        assert written["Company"] == name[:255]
        assert len(written["Company"]) == 255

    def test_cutting_counts_characters_not_bytes(self) -> None:
        """The cut counts characters, so a 4-byte kanji at the limit is kept whole."""
        title = "あ" * 127 + "𠮷野家"
        written = load_default_field_map("salesforce").from_lead(Lead("k", fit=Fit(title=title)))
        assert written["Title"] == "あ" * 127 + "𠮷"

    def test_short_text_is_left_alone_and_spaces_trimmed(self) -> None:
        """Trim runs before truncate: surrounding spaces never count against the length."""
        written = load_default_field_map("salesforce").from_lead(
            Lead("k", first_name="   太郎   ", last_name="  ")
        )
        assert written["FirstName"] == "太郎"
        assert written["LastName"] == "(unknown)"

    def test_score_reasons_are_cut_to_the_long_text_length(self) -> None:
        """Score reasons longer than Score_Reasons__c are cut to 32768 characters."""
        reasons = tuple(ScoreReason(f"ルール{n:05d}", 1) for n in range(3000))
        lead = Lead("k", score=Score(total=3000, reasons=reasons))
        written = load_default_field_map("salesforce").from_lead(lead)["Score_Reasons__c"]
        assert len(written) == 32768
        assert written.startswith("ルール00000 +1\nルール00001 +1\n")


class TestDatetime:
    @pytest.mark.parametrize(
        ("step", "expected"),
        [
            ("{datetime: iso}", "2026-01-08T05:20:11.000Z"),
            ("{datetime: iso_offset}", "2026-01-08T05:20:11.000+0000"),
            ("{datetime: epoch_ms}", "1767849611000"),
            ("{datetime: '%Y/%m/%d %H:%M'}", "2026/01/08 14:20"),
        ],
    )
    def test_jst_times_are_written_in_utc(self, tmp_path: Path, step: str, expected: str) -> None:
        """A JST time is written as UTC; a pattern is written in the map's timezone."""
        assert written_mql(mql_map(tmp_path, "hubspot", step)) == expected

    @pytest.mark.parametrize(
        "value",
        [
            "1767849611000",
            1767849611000,
            "2026-01-08T05:20:11.000Z",
            "2026-01-08T05:20:11Z",
            "2026-01-08T14:20:11+09:00",
            "2026-01-08T05:20:11.000+0000",
            datetime(2026, 1, 8, 5, 20, 11, tzinfo=UTC),
        ],
        ids=["epoch-ms-text", "epoch-ms", "iso-ms-z", "iso-z", "iso-jst", "salesforce", "sdk"],
    )
    def test_hubspot_times_read_from_epoch_ms_or_iso(self, tmp_path: Path, value: object) -> None:
        """HubSpot sends epoch ms or ISO 8601; the SDK sends datetimes: all read as one instant."""
        read = read_mql(mql_map(tmp_path, "hubspot", "{datetime: iso}"), value)
        assert read == utc(2026, 1, 8, 5, 20, 11)
        assert read is not None and read.tzinfo is UTC

    def test_pattern_without_offset_reads_in_the_maps_timezone(self, tmp_path: Path) -> None:
        """`2026/01/08 14:20` in a Tokyo map is 05:20 UTC."""
        field_map = mql_map(tmp_path, "salesforce", "{datetime: '%Y/%m/%d %H:%M'}")
        assert read_mql(field_map, "2026/01/08 14:20") == utc(2026, 1, 8, 5, 20)

    def test_naive_times_are_taken_in_the_maps_timezone(self, tmp_path: Path) -> None:
        """A time without a zone is local to the map."""
        field_map = mql_map(tmp_path, "salesforce", "{datetime: iso}")
        assert (
            written_mql(field_map, datetime(2026, 1, 8, 14, 20, 11)) == "2026-01-08T05:20:11.000Z"
        )
        assert read_mql(field_map, "2026-01-08T14:20:11") == utc(2026, 1, 8, 5, 20, 11)

    def test_unreadable_time_is_a_record_problem(self, tmp_path: Path) -> None:
        """A value that is no time names the field and the value."""
        with pytest.raises(RecordMappingError, match="'yesterday' is neither ISO 8601 nor epoch"):
            read_mql(mql_map(tmp_path, "hubspot", "{datetime: iso}"), "yesterday")


class TestDate:
    def test_date_is_the_day_in_the_maps_timezone(self, tmp_path: Path) -> None:
        """08:00 JST on 9 January is still 8 January in UTC: the map's zone decides the day."""
        early = datetime(2026, 1, 9, 8, 0, tzinfo=JST)
        assert written_mql(mql_map(tmp_path, "salesforce", "{date: iso}"), early) == "2026-01-09"
        utc_map = mql_map(tmp_path, "salesforce", "{date: iso}", timezone="UTC")
        assert written_mql(utc_map, early) == "2026-01-08"

    def test_date_reads_as_midnight_in_the_maps_timezone(self, tmp_path: Path) -> None:
        """A date read back is the start of that day in the map's zone, in UTC."""
        field_map = mql_map(tmp_path, "salesforce", "{date: iso}")
        assert read_mql(field_map, "2026-01-09") == datetime(
            2026, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")
        )

    def test_hubspot_date_as_epoch_ms_is_midnight_utc(self, tmp_path: Path) -> None:
        """HubSpot date properties take midnight UTC in epoch milliseconds."""
        field_map = mql_map(tmp_path, "hubspot", "{date: epoch_ms}")
        assert written_mql(field_map) == "1767830400000"  # 2026-01-08T00:00:00Z
        assert read_mql(field_map, "1767830400000") == datetime(2026, 1, 8, tzinfo=JST)

    def test_date_pattern(self, tmp_path: Path) -> None:
        """A strftime pattern writes and reads that form."""
        field_map = mql_map(tmp_path, "salesforce", "{date: '%Y/%m/%d'}")
        assert written_mql(field_map) == "2026/01/08"
        assert read_mql(field_map, "2026/01/08") == datetime(2026, 1, 8, tzinfo=JST)


class TestBands:
    @pytest.mark.parametrize(
        ("employees", "band"),
        [
            (None, ""),
            (0, ""),
            (1, "1-5"),
            (4, "1-5"),
            (5, "5-25"),
            (499, "100-500"),
            (250000, "1000+"),
        ],
    )
    def test_a_number_is_written_as_its_band(self, employees: int | None, band: str) -> None:
        """A band runs from its lower bound up to the next band's; below the first is none."""
        written = load_default_field_map("hubspot").from_lead(
            Lead("k", fit=Fit(employees=employees))
        )
        assert written["numemployees"] == band

    def test_a_band_reads_as_its_lower_bound(self) -> None:
        """Reading "500-1000" gives 500, so `min: 500` fit rules match the whole band."""
        field_map = load_default_field_map("hubspot")
        read = [
            field_map.to_values({"properties": {"numemployees": band}})["fit.employees"]
            for band in ("1-5", "500-1000", "1000+")
        ]
        assert read == [1, 500, 1000]

    def test_unknown_band_is_a_record_problem(self) -> None:
        """A band the map does not list is named with the bands it does."""
        with pytest.raises(RecordMappingError, match="'10000\\+' is not one of the bands 1-5,"):
            load_default_field_map("hubspot").to_values({"properties": {"numemployees": "10000+"}})


class TestScoreReasons:
    def test_reasons_round_trip_through_lines(self, tmp_path: Path) -> None:
        """`rule +points ×count` per line reads back as the same reasons."""
        field_map = load_text(
            tmp_path,
            "system: salesforce\nobject: Lead\nfields:\n"
            "  score.reasons:\n    field: Reasons__c\n    transform: [{join: lines}]\n",
        )
        reasons = (ScoreReason("資料ダウンロード", 10, 3), ScoreReason("unsubscribe", -20))
        written = field_map.from_lead(Lead("k", score=Score(reasons=reasons)))
        assert written == {"Reasons__c": "資料ダウンロード +10 ×3\nunsubscribe -20"}
        assert field_map.to_values(
            {"Reasons__c": "資料ダウンロード +10 ×3\r\nunsubscribe -20\r\n"}
        ) == {"score.reasons": reasons}

    def test_other_separator(self, tmp_path: Path) -> None:
        """Any separator can join reasons, e.g. for a one-line text field."""
        field_map = load_text(
            tmp_path,
            "system: hubspot\nobject: contacts\nfields:\n"
            "  score.reasons:\n    field: reasons\n"
            "    transform: [{join: ' / '}, {truncate: 255}]\n",
        )
        lead = Lead("k", score=Score(reasons=(ScoreReason("a", 1), ScoreReason("b", 2, 2))))
        assert field_map.from_lead(lead) == {"reasons": "a +1 / b +2 ×2"}
        assert field_map.to_values({"properties": {"reasons": ""}}) == {"score.reasons": ()}
