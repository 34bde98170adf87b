"""The CRM fields each map needs, checked here against the emulators' metadata (which follows
Salesforce's describe and HubSpot's properties API), as `leadloop check --connect` will do."""

from __future__ import annotations

from connectors.emulator.hubspot._properties import standard_properties
from connectors.emulator.salesforce.schema import OBJECTS
from mappings.fieldmap import load_default_field_map
from mappings.model import Lead


class TestSalesforceLead:
    def test_every_field_exists_with_a_compatible_type(self) -> None:
        """Each field the Salesforce map uses is on the Lead (or its Owner) with a usable type."""
        lead = OBJECTS["Lead"]
        for needed in load_default_field_map("salesforce").required_crm_fields():
            if "." in needed.name:
                relationship, name = needed.name.split(".")
                reference = lead.relationship(relationship)
                assert reference is not None, needed.name
                found = OBJECTS[reference.reference_to[0]].field(name)
            else:
                found = lead.field(needed.name)
            assert found is not None, needed.name
            assert found.type in needed.types, (needed.name, found.type, needed.types)

    def test_text_is_never_longer_than_the_field(self) -> None:
        """What leadloop writes fits: the truncate length is at most the field's length."""
        lead = OBJECTS["Lead"]
        for needed in load_default_field_map("salesforce").required_crm_fields():
            found = lead.field(needed.name)
            if needed.length is not None and found is not None:
                assert needed.length <= found.length, needed.name

    def test_required_fields_are_always_written(self) -> None:
        """LastName and Company, required on a Lead, always get a value."""
        required = [
            f.name
            for f in OBJECTS["Lead"].fields.values()
            if not f.nillable and f.createable and not f.defaulted_on_create
        ]
        written = load_default_field_map("salesforce").from_lead(Lead("k"))
        assert sorted(required) == ["Company", "LastName"]
        assert all(written[name] for name in required)

    def test_restricted_picklists_offer_every_value_written(self) -> None:
        """Status and the four axis picklists hold every value the map writes to them."""
        lead = OBJECTS["Lead"]
        for needed in load_default_field_map("salesforce").required_crm_fields():
            if not needed.values:
                continue
            found = lead.field(needed.name)
            assert found is not None and found.restricted, needed.name
            assert set(needed.values) <= {p.value for p in found.picklist}, needed.name


class TestHubSpotContact:
    def test_standard_properties_exist_and_own_ones_are_defined(self) -> None:
        """Standard properties exist in HubSpot; leadloop's own carry their definition."""
        standard = standard_properties()
        for needed in load_default_field_map("hubspot").required_crm_fields():
            if needed.custom is None:
                assert needed.name in standard, needed.name
                assert standard[needed.name].type in needed.types, needed.name
            else:
                assert needed.name.startswith("leadloop_")
                assert needed.custom.type in needed.types, needed.name

    def test_enumerations_offer_every_value_written(self) -> None:
        """Lifecycle stage, lead status and the employee ranges hold every value written."""
        standard = standard_properties()
        for needed in load_default_field_map("hubspot").required_crm_fields():
            if needed.values and needed.custom is None:
                options = set(standard[needed.name].option_values())
                assert set(needed.values) <= options, needed.name

    def test_custom_property_definition_is_the_create_body(self) -> None:
        """`--fix` posts this body to the properties API to create a missing property."""
        fields = {f.name: f for f in load_default_field_map("hubspot").required_crm_fields()}
        custom = fields["leadloop_problem_clarity"].custom
        assert custom is not None
        assert custom.to_hubspot() == {
            "name": "leadloop_problem_clarity",
            "label": "課題の明確さ (営業の評価)",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
            "description": "",
            "options": [
                {"label": "明確", "value": "clear", "displayOrder": 0, "hidden": False},
                {"label": "曖昧", "value": "vague", "displayOrder": 1, "hidden": False},
                {"label": "未整理", "value": "unorganized", "displayOrder": 2, "hidden": False},
            ],
        }
        bant = fields["leadloop_bant_need"].custom
        assert bant is not None
        assert [o["value"] for o in bant.to_hubspot()["options"]] == ["true", "false"]
        assert fields["leadloop_score_reasons"].length == 65536
