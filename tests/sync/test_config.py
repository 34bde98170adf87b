"""leadloop.yaml: the shipped definition loads, and every kind of mistake is named precisely."""

from __future__ import annotations

import textwrap
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from sync.config import Config, load_config
from sync.exceptions import ConfigError

SHIPPED = Path(__file__).parents[2] / "examples" / "leadloop.yaml"

MINIMAL = "mql:\n  min_score: 50\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadloop.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return [(p.line, p.key_path, p.message) for p in caught.value.problems]


class TestShippedDefinition:
    def test_encodes_the_company_definition(self) -> None:
        """The example config carries the agreed numbers of the company definition."""
        config = load_config(SHIPPED)
        behaviour = {rule.name: rule for rule in config.scoring.behaviour}
        assert behaviour["email_open"].points == 5
        assert behaviour["email_open"].max_count == 4
        assert behaviour["pricing_page"].url_contains == "/pricing"
        assert behaviour["unsubscribe"].points == -20
        assert config.mql.min_score == 50
        assert set(config.mql.required_activity) == {"content_download", "webinar_attended"}
        assert config.sql.bant_min == 3
        assert set(config.sql.buying_signals) == {"demo_request", "quote_request"}
        assert config.sla["first_touch"].within == "3 business days"
        assert config.sla["sales_action"].within == "48h"

    def test_calendar_is_tokyo_business_hours_with_japanese_holidays(self) -> None:
        """The example calendar is Asia/Tokyo 09:00-18:00, weekends and JP holidays closed."""
        calendar = load_config(SHIPPED).business_calendar
        assert (calendar.opens, calendar.closes) == (time(9), time(18))
        assert calendar.is_business_day(date(2026, 1, 12)) is False  # 成人の日
        assert calendar.is_business_day(date(2026, 1, 10)) is False  # Saturday
        assert calendar.is_business_day(date(2026, 1, 13)) is True

    def test_business_days_count_in_this_calendars_hours(self) -> None:
        """`3 business days` is 27 business hours on a 09:00-18:00 calendar."""
        duration = load_config(SHIPPED).duration("3 business days")
        assert (duration.amount, duration.business) == (timedelta(hours=27), True)


class TestDefaults:
    def test_minimal_file_needs_only_the_mql_threshold(self, tmp_path: Path) -> None:
        """Everything but `mql.min_score` has a default."""
        config = load_config(write(tmp_path, MINIMAL))
        assert config.timezone == "Asia/Tokyo"
        assert config.schedule.interval("ingest") == timedelta(seconds=30)
        assert config.alerts.language == "ja"

    def test_closed_every_year_spans_new_year(self, tmp_path: Path) -> None:
        """A yearly break written 12-29..01-03 closes the days across New Year."""
        config = load_config(
            write(tmp_path, MINIMAL + "calendar:\n  closed_every_year: ['12-29..01-03']\n")
        )
        calendar = config.business_calendar
        assert not calendar.is_business_day(date(2026, 12, 29))
        assert not calendar.is_business_day(date(2027, 1, 2))
        assert calendar.is_business_day(date(2027, 1, 4))
        assert calendar.is_business_day(date(2026, 12, 28))

    def test_closed_dates_accept_days_and_ranges(self, tmp_path: Path) -> None:
        """closed_dates takes single days and {from, to} ranges."""
        text = MINIMAL + textwrap.dedent("""\
            calendar:
              closed_dates: [2026-08-10, {from: 2026-08-12, to: 2026-08-14}]
            """)
        calendar = load_config(write(tmp_path, text)).business_calendar
        closed = [d for d in (10, 11, 12, 13, 14) if not calendar.is_business_day(date(2026, 8, d))]
        assert closed == [10, 11, 12, 13, 14]  # the 11th is 山の日


class TestConfigErrors:
    """One test per class of mistake; each message names line, key path and what is allowed."""

    def test_yaml_syntax_error_names_the_line(self, tmp_path: Path) -> None:
        """A YAML syntax error gives the line where the parser stopped."""
        [(line, _key, message)] = problems(tmp_path, "mql:\n  min_score: [50\n")
        assert line == 3
        assert message.startswith("YAML syntax error")

    def test_duplicate_key(self, tmp_path: Path) -> None:
        """A key given twice is an error, not a silent last-one-wins."""
        [(line, key, message)] = problems(tmp_path, "mql:\n  min_score: 5\n  min_score: 6\n")
        assert (line, key) == (3, "mql.min_score")
        assert "given twice (first on line 2)" in message

    def test_unknown_key_lists_the_allowed_keys(self, tmp_path: Path) -> None:
        """An unknown key names the keys allowed at that place."""
        [(line, key, message)] = problems(tmp_path, MINIMAL + "sql:\n  bant_minimum: 3\n")
        assert (line, key) == (4, "sql.bant_minimum")
        assert message == "unknown key; allowed here: bant_min, buying_signals"

    def test_unknown_key_inside_a_named_sla(self, tmp_path: Path) -> None:
        """Allowed keys are found below free-form names such as an SLA's."""
        text = MINIMAL + "sla:\n  first_touch:\n    starts_at: handoff\n    within: 3h\n    x: 1\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (7, "sla.first_touch.x")
        assert "starts_at, met_by, within, escalate_after" in message

    def test_wrong_type(self, tmp_path: Path) -> None:
        """A value of the wrong type says what it got."""
        [(line, key, message)] = problems(tmp_path, "mql:\n  min_score: fifty\n")
        assert (line, key) == (2, "mql.min_score")
        assert "valid integer" in message and "'fifty'" in message

    def test_unknown_activity_kind_lists_the_kinds(self, tmp_path: Path) -> None:
        """An unknown activity kind lists every kind leadloop knows."""
        text = "mql:\n  min_score: 50\n  required_activity: [content_download, download]\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (3, "mql.required_activity.1")
        assert "'download' is not allowed" in message
        assert "'webinar_attended'" in message

    def test_unknown_stage_for_an_sla_start(self, tmp_path: Path) -> None:
        """An SLA can only start at mql, handoff or sql."""
        text = MINIMAL + "sla:\n  first_touch:\n    starts_at: opportunity\n    within: 3h\n"
        [(_line, key, message)] = problems(tmp_path, text)
        assert key == "sla.first_touch.starts_at"
        assert "'mql', 'handoff' or 'sql'" in message

    def test_negative_threshold(self, tmp_path: Path) -> None:
        """The MQL threshold cannot be negative."""
        [(line, key, message)] = problems(tmp_path, "mql:\n  min_score: -5\n")
        assert (line, key) == (2, "mql.min_score")
        assert "greater than or equal to 0" in message

    def test_bad_timezone(self, tmp_path: Path) -> None:
        """An unknown timezone suggests the IANA form."""
        [(line, key, message)] = problems(tmp_path, "timezone: Asia/Tokio\n" + MINIMAL)
        assert (line, key) == (1, "timezone")
        assert "unknown timezone 'Asia/Tokio'" in message and "Asia/Tokyo" in message

    def test_bad_duration_lists_accepted_forms(self, tmp_path: Path) -> None:
        """A duration leadloop cannot read lists the forms it can."""
        text = MINIMAL + "sla:\n  first_touch:\n    starts_at: handoff\n    within: 3 bizdays\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (6, "sla.first_touch.within")
        assert "3 business days" in message and "24h" in message

    def test_business_time_is_refused_for_a_schedule_interval(self, tmp_path: Path) -> None:
        """Job intervals are calendar time; business time there is explained."""
        text = MINIMAL + "schedule:\n  ingest: 1 business hour\n"
        [(_, key, message)] = problems(tmp_path, text)
        assert key == "schedule.ingest"
        assert "calendar time" in message

    def test_hypothesis_value_must_belong_to_its_axis(self, tmp_path: Path) -> None:
        """A hypothesis value from another axis lists the axis' own values."""
        text = MINIMAL + "hypotheses:\n  problem:\n    - value: this_term\n"
        [(_line, _key, message)] = problems(tmp_path, text)
        assert "clear, vague, unorganized" in message

    def test_fit_rule_needs_exactly_one_test(self, tmp_path: Path) -> None:
        """A fit rule with no test (or two) says which tests exist."""
        text = MINIMAL + "scoring:\n  fit:\n    - {name: a, field: title, points: 5}\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (5, "scoring.fit.0")
        assert "equals, in, regex, or a range" in message

    def test_bad_regex(self, tmp_path: Path) -> None:
        """A regular expression that does not compile is refused with the reason."""
        text = MINIMAL + "scoring:\n  fit:\n    - {name: a, field: title, regex: '(', points: 5}\n"
        [(_line, key, message)] = problems(tmp_path, text)
        assert key == "scoring.fit.0.regex"
        assert "not a valid regular expression" in message

    def test_duplicate_rule_names(self, tmp_path: Path) -> None:
        """Two rules with one name would make reasons ambiguous."""
        text = MINIMAL + textwrap.dedent("""\
            scoring:
              behaviour:
                - {name: dl, kind: content_download, points: 10}
                - {name: dl, kind: webinar_attended, points: 15}
            """)
        [(_line, _key, message)] = problems(tmp_path, text)
        assert "'dl' is used twice" in message

    def test_missing_required_key(self, tmp_path: Path) -> None:
        """A file without the MQL threshold says the key is missing."""
        [(_line, key, message)] = problems(tmp_path, "timezone: Asia/Tokyo\n")
        assert (key, message) == ("mql", "required key is missing")

    def test_every_problem_is_reported_at_once(self, tmp_path: Path) -> None:
        """Several mistakes give several problems, in file order."""
        found = problems(tmp_path, "timezone: Nowhere\nmql:\n  min_score: -1\n")
        assert [key for _, key, _ in found] == ["timezone", "mql.min_score"]

    def test_a_value_fitting_no_form_is_one_problem(self, tmp_path: Path) -> None:
        """A value that fits none of a field's forms is reported once, listing the forms."""
        text = MINIMAL + "calendar:\n  closed_dates: [someday]\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (4, "calendar.closed_dates.0")
        assert message.startswith("matches none of the allowed forms:")
        assert "valid date" in message and "DateRange" in message

    def test_missing_file(self, tmp_path: Path) -> None:
        """A path that does not exist is a config error, not a traceback."""
        with pytest.raises(ConfigError, match="file not found"):
            load_config(tmp_path / "absent.yaml")

    def test_top_level_must_be_a_mapping(self, tmp_path: Path) -> None:
        """A file that is a list is refused."""
        [(_line, _key, message)] = problems(tmp_path, "- a\n- b\n")
        assert "mapping" in message

    def test_error_text_names_the_file(self, tmp_path: Path) -> None:
        """The exception text starts with file:line."""
        path = write(tmp_path, "mql:\n  min_score: -1\n")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert str(caught.value).startswith(f"{path}:2: mql.min_score:")


def test_config_is_immutable() -> None:
    """A loaded config cannot be changed by accident at run time."""
    config = Config.model_validate({"mql": {"min_score": 1}})
    with pytest.raises(ValueError, match="frozen"):
        config.mql.min_score = 2  # type: ignore[misc]


class TestFieldMaps:
    """`field_maps:` names the field-map files; relative paths start at the config's folder."""

    def test_shipped_maps_by_default(self, tmp_path: Path) -> None:
        """Without the section, the maps shipped with leadloop are used."""
        from mappings.fieldmap import DEFAULT_MAPS

        config = load_config(write(tmp_path, MINIMAL))
        assert config.field_map_paths == DEFAULT_MAPS

    def test_relative_paths_start_at_the_config_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A relative path is read from the config file's folder, not the working directory."""
        (tmp_path / "maps").mkdir()
        (tmp_path / "maps" / "hs.yaml").write_text("system: hubspot\n", encoding="utf-8")
        monkeypatch.chdir(Path(__file__).parent)
        config = load_config(write(tmp_path, MINIMAL + "field_maps:\n  hubspot: maps/hs.yaml\n"))
        assert config.field_map_paths["hubspot"] == tmp_path / "maps" / "hs.yaml"
        assert config.field_map_paths["salesforce"].name == "salesforce.yaml"

    def test_missing_file_names_the_key(self, tmp_path: Path) -> None:
        """A field-map path that names no file is a config problem with its line."""
        text = MINIMAL + "field_maps:\n  salesforce: nowhere.yaml\n"
        [(line, key, message)] = problems(tmp_path, text)
        assert (line, key) == (4, "field_maps.salesforce")
        assert message.startswith(f"no such file: {tmp_path / 'nowhere.yaml'};")

    def test_unknown_key_is_refused(self, tmp_path: Path) -> None:
        """Only hubspot and salesforce maps can be named."""
        [(line, key, message)] = problems(tmp_path, MINIMAL + "field_maps:\n  marketo: x.yaml\n")
        assert (line, key) == (4, "field_maps.marketo")
        assert message == "unknown key; allowed here: hubspot, salesforce"
