"""The five conflict rules: what a CRM holds when HubSpot (ma) and Salesforce (sfa) disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.fieldmap import FieldMap, load_default_field_map
from tests.mappings.support import load_text, utc

EARLIER, LATER = utc(2026, 1, 8, 9), utc(2026, 1, 9, 9)


def rules_map(tmp_path: Path, system: str) -> FieldMap:
    """One field per rule."""
    obj = "contacts" if system == "hubspot" else "Lead"
    rules = {
        "fit.title": "ma_wins",
        "fit.industry": "sfa_wins",
        "fit.company": "sfa_unless_blank",
        "fit.country": "newest_wins",
        "fit.source": "never",
    }
    fields = "".join(
        f"  {name}:\n    field: {name.split('.')[1]}\n    conflict: {rule}\n"
        for name, rule in rules.items()
    )
    return load_text(tmp_path, f"system: {system}\nobject: {obj}\nfields:\n{fields}")


@pytest.fixture
def sfa_map(tmp_path: Path) -> FieldMap:
    return rules_map(tmp_path, "salesforce")


class TestRules:
    def test_ma_wins_takes_hubspot_even_when_blank(self, sfa_map: FieldMap) -> None:
        """HubSpot is the master: its value, and its emptiness, win."""
        assert sfa_map.resolve("fit.title", "部長", "課長") == "部長"
        assert sfa_map.resolve("fit.title", None, "課長") is None

    def test_sfa_wins_takes_salesforce_even_when_blank(self, sfa_map: FieldMap) -> None:
        """Salesforce is the master: its value, and its emptiness, win."""
        assert sfa_map.resolve("fit.industry", "製造業", "情報通信業") == "情報通信業"
        assert sfa_map.resolve("fit.industry", "製造業", "") == ""

    def test_sfa_unless_blank_falls_back_to_hubspot(self, sfa_map: FieldMap) -> None:
        """Salesforce wins unless its value is blank (none, or only spaces)."""
        assert sfa_map.resolve("fit.company", "A社", "B社") == "B社"
        assert sfa_map.resolve("fit.company", "A社", None) == "A社"
        assert sfa_map.resolve("fit.company", "A社", "   ") == "A社"

    def test_newest_wins_takes_the_later_change(self, sfa_map: FieldMap) -> None:
        """The value changed last wins, whichever side it is on."""
        assert sfa_map.resolve("fit.country", "日本", "Japan", LATER, EARLIER) == "日本"
        assert sfa_map.resolve("fit.country", "日本", "Japan", EARLIER, LATER) == "Japan"

    def test_newest_wins_unknown_time_is_oldest_and_a_tie_goes_to_salesforce(
        self, sfa_map: FieldMap
    ) -> None:
        """An unknown change time loses to a known one; a tie is Salesforce's."""
        assert sfa_map.resolve("fit.country", "日本", "Japan", LATER, None) == "日本"
        assert sfa_map.resolve("fit.country", "日本", "Japan", None, EARLIER) == "Japan"
        assert sfa_map.resolve("fit.country", "日本", "Japan", LATER, LATER) == "Japan"
        assert sfa_map.resolve("fit.country", "日本", "Japan") == "Japan"

    def test_never_keeps_the_value_this_crm_holds(self, tmp_path: Path) -> None:
        """`never` never overwrites an existing value on the side the map writes to."""
        sfa = rules_map(tmp_path, "salesforce")
        assert sfa.resolve("fit.source", "ORGANIC_SEARCH", "Web") == "Web"
        ma = rules_map(tmp_path, "hubspot")
        assert ma.resolve("fit.source", "ORGANIC_SEARCH", "Web") == "ORGANIC_SEARCH"

    def test_never_fills_a_blank(self, tmp_path: Path) -> None:
        """`never` still fills a field this CRM has no value in."""
        assert rules_map(tmp_path, "salesforce").resolve("fit.source", "ORGANIC_SEARCH", None) == (
            "ORGANIC_SEARCH"
        )
        assert rules_map(tmp_path, "hubspot").resolve("fit.source", "", "Web") == "Web"


class TestRuleLookup:
    def test_rules_come_from_the_map(self) -> None:
        """Each shipped field names its rule; HubSpot keeps its own e-mail address."""
        assert load_default_field_map("hubspot").conflict_rule("email") == "never"
        assert load_default_field_map("salesforce").conflict_rule("email") == "sfa_unless_blank"
        assert load_default_field_map("salesforce").conflict_rule("bant.budget") == "sfa_wins"

    def test_a_field_the_map_does_not_have_is_an_error(self, sfa_map: FieldMap) -> None:
        """Resolving a field the map does not hold is a programming error, said plainly."""
        with pytest.raises(ValueError, match="'stage' is not in the salesforce map"):
            sfa_map.resolve("stage", "mql", "sql")
