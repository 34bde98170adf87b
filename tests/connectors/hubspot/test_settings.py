"""HubSpotSettings: read from the environment, the token kept out of sight."""

from __future__ import annotations

import pytest

from connectors.errors import FatalError
from connectors.hubspot import HubSpotSettings

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


class TestFromEnv:
    def test_reads_the_token_and_defaults(self) -> None:
        """Only the token is needed; the base URL defaults to HubSpot's API."""
        settings = HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": TOKEN})
        assert settings.access_token == TOKEN
        assert settings.base_url == "https://api.hubapi.com"
        assert (settings.ten_secondly_limit, settings.search_per_second) == (100, 5)
        assert (settings.daily_limit, settings.timeout_seconds) == (250_000, 30)

    def test_base_url_and_zone_come_from_the_environment(self) -> None:
        """HUBSPOT_BASE_URL aims the connector elsewhere (the emulator), without a final /."""
        env = {
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_BASE_URL": "http://127.0.0.1:8080/",
            "HUBSPOT_ACCOUNT_TIMEZONE": "Asia/Tokyo",
        }
        settings = HubSpotSettings.from_env(env)
        assert settings.base_url == "http://127.0.0.1:8080"
        assert str(settings.timezone) == "Asia/Tokyo"

    @pytest.mark.parametrize("env", [{}, {"HUBSPOT_ACCESS_TOKEN": "  "}])
    def test_a_missing_token_stops_with_the_fix(self, env: dict[str, str]) -> None:
        """No token is a FatalError whose fix names the variable and the scopes."""
        with pytest.raises(FatalError) as info:
            HubSpotSettings.from_env(env)
        assert "HUBSPOT_ACCESS_TOKEN" in info.value.fix
        assert "crm.objects.contacts.write" in info.value.fix

    def test_the_portal_id_comes_from_the_environment(self) -> None:
        """HUBSPOT_PORTAL_ID is the account's id for record links; unset, it is asked for."""
        env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_PORTAL_ID": " 12345678 "}
        assert HubSpotSettings.from_env(env).portal_id == 12345678
        assert HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": TOKEN}).portal_id is None

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("HUBSPOT_BASE_URL", "api.hubapi.com"),
            ("HUBSPOT_ACCOUNT_TIMEZONE", "Mars/Base"),
            ("HUBSPOT_PORTAL_ID", "app.hubspot.com/contacts/123"),
            ("HUBSPOT_PORTAL_ID", "0"),
        ],
    )
    def test_bad_values_stop_with_the_variable_named(self, name: str, value: str) -> None:
        """A base URL without a scheme, an unknown zone or a portal id that is not a number
        names the variable to fix."""
        with pytest.raises(FatalError) as info:
            HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": TOKEN, name: value})
        assert name in info.value.fix


def test_the_token_never_shows_in_repr() -> None:
    """repr() (and so any log of the settings) leaves the token out."""
    assert TOKEN not in repr(HubSpotSettings(access_token=TOKEN))
