"""`leadloop check`: the field maps offline; `--connect` against the CRMs; `--fix` for HubSpot."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.emulator.runtime import Emulators
from mappings.exceptions import FieldMapError, MapProblem
from mappings.fieldmap import DEFAULT_MAPS, System, load_default_field_map
from sync.check import check_deployment
from sync.cli import main

CRM_VARIABLES = (
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_BASE_URL",
    "HUBSPOT_ACCOUNT_TIMEZONE",
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_SESSION_ID",
    "SALESFORCE_CA_BUNDLE",
    "SALESFORCE_USERNAME",
    "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN",
    "SALESFORCE_DOMAIN",
    "SALESFORCE_CONSUMER_KEY",
    "SALESFORCE_PRIVATE_KEY_FILE",
)
CUSTOM = tuple(load_default_field_map("hubspot").spec.custom_properties)
"""leadloop's own HubSpot properties, which a fresh account lacks."""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LEADLOOP_CONFIG", raising=False)
    for name in CRM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def crms(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulators]:
    """Both emulators, reached through the environment as a deployment reaches the CRMs."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", emulators.hubspot_token)
    monkeypatch.setenv("HUBSPOT_BASE_URL", emulators.hubspot_url)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", emulators.salesforce_url)
    monkeypatch.setenv("SALESFORCE_SESSION_ID", emulators.salesforce_session_id)
    monkeypatch.setenv("SALESFORCE_CA_BUNDLE", str(emulators.ca_bundle))
    yield emulators
    gc.collect()  # responses kept alive by exception tracebacks hold their sockets open


def edited(folder: Path, system: System, *edits: tuple[str, str]) -> Path:
    """A copy of the shipped map of `system` with each (old, new) text replaced once."""
    text = DEFAULT_MAPS[system].read_text("utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / f"{system}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config(folder: Path, **maps: Path) -> Path:
    """A leadloop.yaml naming `maps` by paths relative to its folder."""
    lines = ["mql:", "  min_score: 50"]
    if maps:
        lines.append("field_maps:")
        lines += [f"  {system}: {path.relative_to(folder)}" for system, path in maps.items()]
    path = folder / "leadloop.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the only line of `path` holding `text`."""
    pattern = re.compile(re.escape(text) + r"(?!\w)")
    lines = path.read_text("utf-8").splitlines()
    [number] = [n for n, line in enumerate(lines, 1) if pattern.search(line)]
    return number


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and the problem lines of `leadloop check` (stderr, below a header
    that counts them)."""
    code = main(["check", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    if problems:
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        assert err.startswith("leadloop: ") and f" {count}:\n" in err
    return code, out, problems


class TestOffline:
    def test_shipped_maps_pass_without_the_crms(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --connect, the shipped maps are checked and no CRM variable is needed."""
        code, out, problems = run(capsys, "--config", str(config(tmp_path)))
        assert (code, problems) == (0, [])
        assert f"{DEFAULT_MAPS['hubspot']}: ok" in out
        assert f"{DEFAULT_MAPS['salesforce']}: ok" in out

    def test_broken_maps_exit_two_naming_file_and_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unknown canonical field and a value map that is not total: file:line: key lines."""
        hubspot = edited(tmp_path, "hubspot", ("  fit.title:\n", "  fit.job_title:\n"))
        salesforce = edited(
            tmp_path, "salesforce", ("          disqualified: Disqualified ", "          #")
        )
        code, _, problems = run(
            capsys, "--config", str(config(tmp_path, hubspot=hubspot, salesforce=salesforce))
        )
        assert code == 2
        [unknown, not_total] = problems
        assert unknown.startswith(
            f"{hubspot}:{line_of(hubspot, 'fit.job_title')}: fields.fit.job_title:"
            " unknown canonical field 'fit.job_title'; allowed: email,"
        )
        assert not_total.startswith(
            f"{salesforce}:{line_of(salesforce, '- value_map:')}: fields.stage.transform.0"
            ".value_map: does not cover disqualified"
        )

    def test_a_map_for_the_other_crm_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The Salesforce map named as the HubSpot map is a problem at its `system:` line."""
        path = config(tmp_path, hubspot=edited(tmp_path, "salesforce"))
        code, _, problems = run(capsys, "--config", str(path))
        assert code == 2
        assert problems == [
            f"{tmp_path / 'salesforce.yaml'}:33: system: this is the salesforce map, given as the"
            " hubspot map; fix: name a hubspot map under field_maps.hubspot in leadloop.yaml"
        ]

    def test_missing_variables_are_reported_with_the_fix(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--connect without credentials: exit 2, one line per CRM saying what to set."""
        code, _, problems = run(capsys, "--config", str(config(tmp_path)), "--connect")
        assert code == 2
        [hubspot, salesforce] = problems
        assert hubspot.startswith("HubSpot: HUBSPOT_ACCESS_TOKEN is not set; fix: set")
        assert salesforce.startswith("Salesforce: no complete set of Salesforce credentials")
        assert "SALESFORCE_SESSION_ID, SALESFORCE_INSTANCE_URL" in salesforce

    def test_field_map_error_is_a_clear_exit_two(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A FieldMapError escaping a command is printed like a config error, exit 2."""
        path = Path("maps/hubspot.yaml")

        def broken(*_: object, **__: object) -> None:
            raise FieldMapError(path, [MapProblem(4, "fields.x", "unknown canonical field")])

        monkeypatch.setattr("sync.check.check_deployment", broken)
        assert main(["check", "--config", str(config(Path.cwd()))]) == 2
        err = capsys.readouterr().err
        assert err.endswith(
            f"leadloop: {path}: the field map has 1 problem:\n"
            f"  {path}:4: fields.x: unknown canonical field\n"
        )
        assert "Traceback" not in err


class TestConnect:
    def test_fresh_hubspot_lacks_every_leadloop_property(
        self, crms: Emulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each missing leadloop_* property is one line at its map line, with the --fix fix."""
        hubspot = edited(tmp_path, "hubspot")
        code, out, problems = run(
            capsys, "--config", str(config(tmp_path, hubspot=hubspot)), "--connect"
        )
        assert code == 2
        assert len(problems) == len(CUSTOM)
        for name, problem in zip(sorted(CUSTOM), sorted(problems, key=_property), strict=True):
            assert problem.startswith(f"{hubspot}:{line_of(hubspot, f'field: {name}')}: fields.")
            assert f"HubSpot has no contact property {name}; fix: create the HubSpot property" in (
                problem
            )
            assert problem.endswith("run `leadloop check --connect --fix`")
        assert "Salesforce: ok" in out and "HubSpot: ok" not in out

    def test_fix_creates_the_properties_and_then_all_is_well(
        self, crms: Emulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--fix creates each missing property as the map defines it; a second check is clean."""
        path = str(config(tmp_path))
        code, out, problems = run(capsys, "--config", path, "--fix")
        assert (code, problems) == (0, [])
        for name in CUSTOM:
            assert f"HubSpot: created the contact property {name} (" in out
        assert crms.hubspot.properties["leadloop_score"].type == "number"
        assert crms.hubspot.properties["leadloop_problem_clarity"].option_values() == [
            "clear",
            "vague",
            "unorganized",
        ]
        code, out, problems = run(capsys, "--config", path, "--connect")
        assert (code, problems) == (0, [])
        assert "created" not in out
        assert "HubSpot: ok" in out and "Salesforce: ok" in out

    def test_report_lists_what_fix_created(self, crms: Emulators) -> None:
        """The typed report names the created properties; nothing else is wrong."""
        report = check_deployment(DEFAULT_MAPS, fix=True)
        assert report.passed
        assert sorted(report.created) == sorted(CUSTOM)

    def test_broken_salesforce_map_is_reported_precisely(
        self, crms: Emulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A field the org lacks, a value the restricted picklist refuses, a truncate too long."""
        sf = edited(
            tmp_path,
            "salesforce",
            ("field: Campaign__c", "field: Lead_Grade__c"),
            ("recycled: Recycled ", "recycled: Nurture "),
            ("[trim, {truncate: 128}]", "[trim, {truncate: 300}]"),
        )
        code, _, problems = run(
            capsys, "--config", str(config(tmp_path, salesforce=sf)), "--connect"
        )
        assert code == 2
        assert [p for p in problems if p.startswith(str(sf))] == [
            f"{sf}:{line_of(sf, 'truncate: 300')}: fields.fit.title.transform.1: Salesforce"
            " Lead.Title holds 128 characters; the map keeps 300; fix: set truncate: 128, or"
            " lengthen Lead.Title to 300 in Salesforce Setup (Object Manager > Lead > Fields &"
            " Relationships > Title)",
            f"{sf}:{line_of(sf, 'Lead_Grade__c')}: fields.fit.campaign.field: Salesforce Lead has"
            " no field Lead_Grade__c; fix: create the field Lead_Grade__c (Text, length 255) on"
            " Lead in Salesforce Setup (Object Manager > Lead > Fields & Relationships), or set"
            " field: to an existing one",
            f"{sf}:{line_of(sf, 'recycled: Nurture')}: fields.stage.transform.0.value_map"
            ".recycled: Salesforce Lead.Status does not allow 'Nurture' (a restricted picklist:"
            " Open - Not Contacted, Working - Contacted, Closed - Converted, Closed - Not"
            " Converted, Recycled, Disqualified); fix: add the value 'Nurture' to the Lead"
            " Status picklist in Salesforce Setup (Object Manager > Lead > Fields &"
            " Relationships > Status), or map to a value it allows",
        ]

    def test_upsert_key_and_read_only_fields(
        self, crms: Emulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The upsert key must be a unique External ID; a written field must be writable."""
        sf = edited(
            tmp_path,
            "salesforce",
            ("field: HubSpot_Contact_Id__c", "field: Phone"),
            ("field: Campaign__c", "field: Name"),
            (
                "    direction: write\n    conflict: ma_wins\n    transform: [{truncate: 255}]\n",
                ("    direction: write\n    conflict: ma_wins\n    transform: [{truncate: 100}]\n"),
            ),
        )
        code, _, problems = run(
            capsys, "--config", str(config(tmp_path, salesforce=sf)), "--connect"
        )
        assert code == 2
        ours = [p for p in problems if p.startswith(str(sf))]
        assert ours == [
            f"{sf}:{line_of(sf, 'field: Phone')}: fields.hubspot_id.field: Salesforce Lead.Phone"
            " is leadloop's upsert key but is not a unique External ID; fix: tick External ID"
            " and Unique for Lead.Phone in Salesforce Setup (Object Manager > Lead > Fields &"
            " Relationships > Phone)",
            f"{sf}:{line_of(sf, 'field: Name') + 1}: fields.fit.campaign.direction: Salesforce"
            " Lead.Name is not createable or updateable for this user; leadloop writes it; fix:"
            " give the integration user edit access to the field (field-level security), or set"
            " direction: read",
        ]

    def test_hubspot_options_and_types(
        self, crms: Emulators, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An option HubSpot lacks, a property of the wrong type, one HubSpot sets itself."""
        hs = edited(
            tmp_path,
            "hubspot",
            ("recycled: BAD_TIMING", "recycled: NURTURE"),
            ("field: leadloop_score\n", "field: recent_conversion_event_name\n"),
            ("field: leadloop_salesforce_url", "field: hs_analytics_last_url"),
        )
        check_deployment({"hubspot": hs}, fix=True)  # the leadloop_* properties exist
        code, _, problems = run(capsys, "--config", str(config(tmp_path, hubspot=hs)), "--connect")
        assert code == 2
        [read_only, option, wrong_type] = problems
        assert read_only.startswith(
            f"{hs}:{line_of(hs, 'field: hs_analytics_last_url') + 1}:"
            " fields.salesforce_url.direction: HubSpot sets the property hs_analytics_last_url"
            " itself; leadloop cannot write it; fix: set direction: read"
        )
        assert option.startswith(
            f"{hs}:{line_of(hs, 'recycled: NURTURE')}: fields.stage.1.transform.0.value_map"
            ".recycled: HubSpot property hs_lead_status has no option 'NURTURE' (it has: NEW,"
        )
        assert option.endswith(
            "fix: add the option 'NURTURE' to Lead Status (hs_lead_status) in HubSpot Settings"
            " > Properties, or map to an option it has"
        )
        assert wrong_type.startswith(
            f"{hs}:{line_of(hs, 'field: recent_conversion_event_name')}: fields.score.total"
            ".field: HubSpot property recent_conversion_event_name is of type string;"
            " score.total needs number"
        )

    def test_bad_credentials_exit_two_with_the_fix(
        self,
        crms: Emulators,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A refused token and session id: one line per CRM with its fix, no traceback."""
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong")
        monkeypatch.setenv("SALESFORCE_SESSION_ID", "00Dwrong!session")
        code, out, problems = run(capsys, "--config", str(config(tmp_path)), "--connect")
        assert code == 2
        [hubspot, salesforce] = problems
        assert hubspot.startswith("HubSpot (401 ")
        assert "fix: set HUBSPOT_ACCESS_TOKEN to the access token of a HubSpot private app" in (
            hubspot
        )
        assert salesforce.startswith("Salesforce (401 INVALID_SESSION_ID):")
        assert "fix: set a fresh SALESFORCE_SESSION_ID" in salesforce
        assert "pat-na1-wrong" not in hubspot and "00Dwrong" not in salesforce
        assert "HubSpot: ok" not in out and "Salesforce: ok" not in out


def _property(problem: str) -> str:
    return problem.split("HubSpot has no contact property ")[1].split(";")[0]
