"""Field-map files: the shipped maps load, and every kind of mistake is named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.exceptions import FieldMapError
from mappings.fieldmap import (
    CANONICAL_FIELDS,
    DEFAULT_MAPS,
    System,
    load_default_field_map,
    load_field_map,
)
from tests.mappings.support import problems, write_map

SALESFORCE_HEAD = "system: salesforce\nobject: Lead\nfields:\n"
HUBSPOT_HEAD = "system: hubspot\nobject: contacts\nfields:\n"


class TestShippedMaps:
    @pytest.mark.parametrize("system", ["hubspot", "salesforce"])
    def test_shipped_maps_load_without_problems(self, system: System) -> None:
        """Both default maps pass every check, and are package data next to the code."""
        field_map = load_default_field_map(system)
        assert field_map.system == system
        assert DEFAULT_MAPS[system].parent == Path(__file__).parents[2] / "mappings"

    def test_package_data_ships_the_yaml_files(self) -> None:
        """pyproject's package data includes *.yaml, so an installed leadloop has the maps
        (checked once by building a wheel: mappings/hubspot.yaml and salesforce.yaml are in)."""
        pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
        assert '"*" = ["*.yaml"' in pyproject

    def test_salesforce_map_uses_the_leads_own_field_names(self) -> None:
        """The Salesforce map reads and writes the Lead fields the org defines."""
        fields = {
            f.canonical.name: f.crm_field for f in load_default_field_map("salesforce").fields
        }
        assert fields["hubspot_id"] == "HubSpot_Contact_Id__c"
        assert fields["fit.owner"] == "Owner.Email"
        assert fields["stage"] == "Status"
        assert fields["assessment.problem.observed"] == "Problem_Clarity__c"
        assert fields["recycle_reason"] == "Recycle_Reason__c"

    def test_hubspot_map_writes_stage_to_lifecycle_stage_and_lead_status(self) -> None:
        """One canonical stage goes to two HubSpot properties."""
        targets = [
            f.crm_field
            for f in load_default_field_map("hubspot").fields
            if f.canonical.name == "stage"
        ]
        assert targets == ["lifecyclestage", "hs_lead_status"]


class TestShapeErrors:
    def test_unknown_canonical_field_lists_the_allowed_names(self, tmp_path: Path) -> None:
        """A canonical name leadloop does not know is refused with every allowed name listed."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  email:\n    field: Email\n  fit.size:\n    field: NumberOfEmployees\n",
        )
        assert len(found) == 1
        line, key, message = found[0]
        assert (line, key) == (6, "fields.fit.size")
        assert message.startswith("unknown canonical field 'fit.size'; allowed: email, first_name,")
        assert all(name in message for name in CANONICAL_FIELDS)

    def test_unknown_key_lists_the_keys_allowed_there(self, tmp_path: Path) -> None:
        """A misspelt key names the keys that field specs may have."""
        found = problems(
            tmp_path, SALESFORCE_HEAD + "  email:\n    field: Email\n    directon: read\n"
        )
        assert found == [
            (
                6,
                "fields.email.directon",
                "unknown key; allowed here: field, direction, conflict, transform",
            )
        ]

    def test_unknown_key_inside_a_list_of_specs(self, tmp_path: Path) -> None:
        """The second spec of a canonical field is checked like the first, with its index."""
        found = problems(
            tmp_path,
            HUBSPOT_HEAD
            + "  stage:\n    - field: lifecyclestage\n      direction: write\n"
            + "    - field: hs_lead_status\n      colour: red\n",
        )
        assert found == [
            (
                8,
                "fields.stage.1.colour",
                "unknown key; allowed here: field, direction, conflict, transform",
            )
        ]

    def test_unknown_transform_name_lists_the_steps(self, tmp_path: Path) -> None:
        """A step name leadloop does not know lists every step it does."""
        found = problems(
            tmp_path, SALESFORCE_HEAD + "  email:\n    field: Email\n    transform: [trimm]\n"
        )
        assert found == [
            (
                6,
                "fields.email.transform.0",
                "unknown transform 'trimm'; allowed: trim, truncate, default, placeholder,"
                " value_map, date, datetime, join, bands, template (all but trim take a value,"
                " e.g. `truncate: 80`)",
            )
        ]

    def test_unknown_step_key_lists_the_step_keys(self, tmp_path: Path) -> None:
        """`{cut: 10}` is an unknown key of a step."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD + "  email:\n    field: Email\n    transform:\n      - cut: 10\n",
        )
        assert found[0][:2] == (7, "fields.email.transform.0.cut")
        assert found[0][2].startswith("unknown key; allowed here: trim, truncate, default,")

    def test_two_steps_in_one_list_item_are_refused(self, tmp_path: Path) -> None:
        """A step does one thing; two in one item would hide which runs first."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  email:\n    field: Email\n    transform:\n      - {trim: true, truncate: 8}\n",
        )
        assert found[0][:2] == (7, "fields.email.transform.0")
        assert found[0][2].startswith("a step does exactly one thing (given: trim, truncate)")

    def test_bad_date_format_names_the_directive(self, tmp_path: Path) -> None:
        """A pattern with an unknown directive says which, and what formats exist."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  times.mql_at:\n    field: MQL_Date__c\n    direction: write\n"
            + "    transform:\n      - datetime: '%Y/%m/%d %H:%M %Q'\n",
        )
        assert found == [
            (
                8,
                "fields.times.mql_at.transform.0.datetime",
                "'%Y/%m/%d %H:%M %Q' is not a datetime format (unknown directive %Q); use one of"
                " iso, iso_offset, epoch_ms or a pattern such as '%Y-%m-%d %H:%M'",
            )
        ]

    def test_date_format_without_a_day_is_refused(self, tmp_path: Path) -> None:
        """A date pattern must say year, month and day."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  times.mql_at:\n    field: MQL_Date__c\n    transform:\n      - date: '%Y-%m'\n",
        )
        assert found[0][2].startswith("'%Y-%m' is not a date format (no day)")

    def test_yaml_syntax_error_names_the_line(self, tmp_path: Path) -> None:
        """A YAML syntax error is reported with its line, like config errors."""
        found = problems(tmp_path, SALESFORCE_HEAD + "  email:\n    field: [Email\n")
        assert len(found) == 1
        assert found[0][0] == 6
        assert found[0][2].startswith("YAML syntax error:")

    def test_duplicate_key_names_both_lines(self, tmp_path: Path) -> None:
        """A key given twice is an error, never a silent override."""
        found = problems(
            tmp_path, SALESFORCE_HEAD + "  email:\n    field: Email\n  email:\n    field: Email\n"
        )
        assert found == [(6, "fields.email", "key 'email' given twice (first on line 4)")]

    def test_missing_file_and_non_mapping_file(self, tmp_path: Path) -> None:
        """A missing file and a file that is not a mapping say so."""
        with pytest.raises(FieldMapError, match="file not found"):
            load_field_map(tmp_path / "absent.yaml")
        assert problems(tmp_path, "- system\n") == [(1, "", "the file must be a mapping of keys")]

    def test_every_problem_is_reported_at_once_in_line_order(self, tmp_path: Path) -> None:
        """All shape problems come together, sorted by line, rendered as file:line: key: message."""
        path = write_map(
            tmp_path,
            "system: marketo\nobject: Lead\nfields:\n"
            "  email:\n    field: Email\n    conflict: mine\n",
        )
        with pytest.raises(FieldMapError) as caught:
            load_field_map(path)
        assert str(caught.value).splitlines() == [
            f"{path}:1: system: 'marketo' is not allowed; allowed: 'hubspot' or 'salesforce'",
            f"{path}:6: fields.email.conflict: 'mine' is not allowed; allowed: 'ma_wins',"
            " 'sfa_wins', 'sfa_unless_blank', 'newest_wins' or 'never'",
        ]


class TestCheckErrors:
    def test_value_map_that_misses_stages_names_them(self, tmp_path: Path) -> None:
        """A stage map must give every stage a CRM value; the missing ones are named."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  stage:\n    field: Status\n    direction: write\n    transform:\n"
            + "      - value_map:\n"
            + "          lead: Open - Not Contacted\n          mql: Open - Not Contacted\n"
            + "          sql: Working - Contacted\n          opportunity: Closed - Converted\n"
            + "          recycled: Recycled\n          disqualified: Disqualified\n",
        )
        assert found == [
            (
                8,
                "fields.stage.transform.0.value_map",
                "does not cover won, lost; every value of stage needs a CRM value (lead, mql, sql,"
                " opportunity, won, lost, recycled, disqualified)",
            )
        ]

    def test_value_map_of_an_axis_must_cover_its_values(self, tmp_path: Path) -> None:
        """An assessment axis map names the axis values it misses and the ones it invents."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  assessment.timeline.observed:\n    field: Purchase_Timeline__c\n    transform:\n"
            + "      - value_map: {this_term: 今期, next_year: 来期}\n",
        )
        assert [(key, message) for _, key, message in found] == [
            (
                "fields.assessment.timeline.observed.transform.0.value_map",
                "does not cover next_term, undecided; every value of assessment.timeline.observed"
                " needs a CRM value (this_term, next_term, undecided)",
            ),
            (
                "fields.assessment.timeline.observed.transform.0.value_map.next_year",
                "'next_year' is not a value of assessment.timeline.observed (this_term, next_term,"
                " undecided)",
            ),
        ]

    def test_value_map_of_a_bant_item_must_cover_true_and_false(self, tmp_path: Path) -> None:
        """A yes/no map needs both answers."""
        found = problems(
            tmp_path,
            HUBSPOT_HEAD
            + "  bant.need:\n    field: bant_need\n    direction: write\n    transform:\n"
            + "      - value_map: {true: はい}\n",
        )
        assert found[0][2].startswith("does not cover false; every value of bant.need")

    def test_read_value_written_for_several_stages_must_be_settled(self, tmp_path: Path) -> None:
        """Reading a CRM value several stages write needs read_extra to say which it means."""
        found = problems(
            tmp_path,
            SALESFORCE_HEAD
            + "  stage:\n    field: Status\n    direction: both\n"
            + "    transform:\n      - value_map:\n"
            + "".join(
                f"          {stage}: {'Closed' if stage in ('won', 'lost') else stage}\n"
                for stage in ("lead", "mql", "sql", "opportunity", "won", "lost", "recycled")
            )
            + "          disqualified: Disqualified\n",
        )
        assert found == [
            (
                8,
                "fields.stage.transform.0.value_map",
                "'Closed' is written for won, lost; say under read_extra which one it reads as"
                " (or null to ignore it on read)",
            )
        ]

    @pytest.mark.parametrize(
        ("spec", "key", "message"),
        [
            pytest.param(
                "  bant.budget:\n    field: BANT_Budget__c\n    transform: [{truncate: 5}]\n",
                "fields.bant.budget.transform.0.truncate",
                "truncate does not fit a true/false value (bant.budget at this step); it applies"
                " to text values",
                id="truncate-on-a-boolean",
            ),
            pytest.param(
                "  fit.company:\n    field: Company\n    transform: [{datetime: iso}]\n",
                "fields.fit.company.transform.0.datetime",
                "datetime does not fit a text value (fit.company at this step); it applies to"
                " date-and-time values",
                id="datetime-on-text",
            ),
            pytest.param(
                "  fit.employees:\n    field: NumberOfEmployees\n    transform: [trim]\n",
                "fields.fit.employees.transform.0.trim",
                "trim does not fit a whole-number value (fit.employees at this step); it applies"
                " to text values",
                id="trim-on-a-number",
            ),
            pytest.param(
                "  times.mql_at:\n    field: MQL_Date__c\n",
                "fields.times.mql_at",
                "times.mql_at is a date and time: add a `datetime:` or `date:` step saying the"
                " CRM's format (iso, iso_offset, epoch_ms or a pattern)",
                id="datetime-without-format",
            ),
            pytest.param(
                "  score.reasons:\n    field: Score_Reasons__c\n    direction: write\n",
                "fields.score.reasons",
                "score.reasons needs a `join:` step, e.g. `- join: lines`",
                id="reasons-without-join",
            ),
            pytest.param(
                "  times.mql_at:\n    field: MQL_Date__c\n    transform: [{datetime: epoch_ms}]\n",
                "fields.times.mql_at.transform.0.datetime",
                "Salesforce takes ISO 8601, not epoch milliseconds; use iso, iso_offset",
                id="epoch-ms-to-salesforce",
            ),
            pytest.param(
                "  fit.owner:\n    field: Owner.Email\n    direction: both\n",
                "fields.fit.owner.direction",
                "Owner.Email follows a relationship, which can only be read; set direction: read",
                id="writing-a-relationship",
            ),
            pytest.param(
                "  salesforce_url:\n    field: Link__c\n    direction: write\n",
                "fields.salesforce_url",
                "salesforce_url needs a template step that builds the link from the record id,"
                ' e.g. `- template: "https://example.my.salesforce.com/{}"`',
                id="link-without-template",
            ),
            pytest.param(
                "  hubspot_url:\n    field: Link__c\n    direction: write\n"
                "    transform: [{template: 'https://app.hubspot.com/contacts/1/contact/'}]\n",
                "fields.hubspot_url.transform.0.template",
                "a template needs exactly one {} where the value goes",
                id="template-without-placeholder",
            ),
            pytest.param(
                "  fit.employees:\n    field: NumberOfEmployees\n"
                "    transform: [{bands: ['100-500', '1-99', 'many']}]\n",
                "fields.fit.employees.transform.0.bands.2",
                "band 'many' is neither 'LOW-HIGH' nor 'LOW+'",
                id="bad-band",
            ),
            pytest.param(
                "  bant.need:\n    field: BANT_Need__c\n    transform: [{default: 'no'}]\n",
                "fields.bant.need.transform.0.default",
                "'no' does not fit a true/false value here",
                id="default-of-the-wrong-type",
            ),
            pytest.param(
                "  last_name:\n    field: LastName\n  first_name:\n    field: lastname\n",
                "fields.first_name.field",
                "lastname is already written from last_name (line 4); a CRM field takes one"
                " canonical field",
                id="one-crm-field-written-twice",
            ),
            pytest.param(
                "  stage_reason:\n    field: Reason__c\n"
                "  recycle_reason:\n    field: Recycle_Reason__c\n",
                "fields.recycle_reason.direction",
                "stage_reason (recycle_reason reads into it) is already read from Reason__c (line"
                " 4); read it from one CRM field and set direction: write here",
                id="stage-reason-read-twice",
            ),
            pytest.param(
                "  email:\n    field: E-mail\n",
                "fields.email.field",
                "'E-mail' is not a Salesforce field name (Email, Owner.Email)",
                id="bad-salesforce-name",
            ),
        ],
    )
    def test_salesforce_map_mistakes(
        self, tmp_path: Path, spec: str, key: str, message: str
    ) -> None:
        """Each mistake in a field spec is named with its key path and what to do instead."""
        found = problems(tmp_path, SALESFORCE_HEAD + spec)
        assert (key, message) in [(k, m) for _, k, m in found], found

    @pytest.mark.parametrize(
        ("text", "key", "message"),
        [
            pytest.param(
                "system: hubspot\nobject: companies\nfields:\n  email:\n    field: email\n",
                "object",
                "a HubSpot map is for contacts, not 'companies'",
                id="hubspot-object",
            ),
            pytest.param(
                HUBSPOT_HEAD + "  score.total:\n    field: leadloop_score\n    direction: write\n",
                "fields.score.total.field",
                "leadloop_score is leadloop's own property; define it under custom_properties so"
                " `leadloop check --connect --fix` can create it",
                id="own-property-undefined",
            ),
            pytest.param(
                HUBSPOT_HEAD
                + "  assessment.problem.observed:\n    field: leadloop_problem\n"
                + "    direction: write\n"
                + "custom_properties:\n  leadloop_problem:\n    label: 課題\n"
                + "    type: enumeration\n"
                + "    field_type: select\n    options: {clear: 明確}\n",
                "custom_properties.leadloop_problem.options",
                "lacks vague, unorganized, which leadloop writes from assessment.problem.observed",
                id="enumeration-options-short",
            ),
            pytest.param(
                SALESFORCE_HEAD + "  email:\n    field: Email\nactivities:\n  otherwise: inquiry\n",
                "activities",
                "activities are read from HubSpot; remove this section",
                id="activities-in-salesforce",
            ),
        ],
    )
    def test_map_level_mistakes(self, tmp_path: Path, text: str, key: str, message: str) -> None:
        """Mistakes about the map as a whole are named with their section."""
        found = problems(tmp_path, text)
        assert (key, message) in [(k, m) for _, k, m in found], found

    def test_custom_property_type_and_field_type_must_agree(self, tmp_path: Path) -> None:
        """A HubSpot property type goes with certain field types only."""
        found = problems(
            tmp_path,
            HUBSPOT_HEAD
            + "  score.total:\n    field: leadloop_score\n    direction: write\n"
            + "custom_properties:\n  leadloop_score:\n    label: スコア\n    type: number\n"
            + "    field_type: select\n",
        )
        assert found == [
            (
                8,
                "custom_properties.leadloop_score",
                "field_type 'select' does not go with type 'number'; allowed: number",
            )
        ]
