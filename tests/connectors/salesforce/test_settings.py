"""Settings: the auth mode follows from the variables set; bad sets say what each mode needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.errors import FatalError
from connectors.salesforce import SalesforceSettings
from connectors.salesforce.settings import REQUIRED

PASSWORD = {
    "SALESFORCE_USERNAME": "integration@acme.example",
    "SALESFORCE_PASSWORD": "s3cret-pass",
    "SALESFORCE_SECURITY_TOKEN": "tok3n-value",
}


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.key"
    path.write_text("-----BEGIN PRIVATE KEY-----\n")
    return path


class TestModes:
    def test_password(self) -> None:
        """Username, password and token: password mode at login.salesforce.com."""
        settings = SalesforceSettings.from_env(PASSWORD)
        assert (settings.mode, settings.domain, settings.instance_url) == (
            "password",
            "login",
            None,
        )
        assert settings.can_log_in_again

    def test_password_at_the_instance_url(self) -> None:
        """With SALESFORCE_INSTANCE_URL the password mode logs in at that URL."""
        env = {**PASSWORD, "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com/"}
        settings = SalesforceSettings.from_env(env)
        assert settings.instance_url == "https://acme.my.salesforce.com"
        assert settings.instance_host == "acme.my.salesforce.com"

    def test_jwt(self, key_file: Path) -> None:
        """Username, consumer key and key file: JWT, with a My Domain as the login domain."""
        env = {
            "SALESFORCE_USERNAME": "integration@acme.example",
            "SALESFORCE_CONSUMER_KEY": "3MVG9-key",
            "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
            "SALESFORCE_DOMAIN": "acme.my",
        }
        settings = SalesforceSettings.from_env(env)
        assert (settings.mode, settings.private_key_file, settings.domain) == (
            "jwt",
            key_file,
            "acme.my",
        )

    def test_session(self) -> None:
        """A session id and the instance URL: session mode, which cannot log in again."""
        env = {
            "SALESFORCE_SESSION_ID": "00Dxx!AQsession",
            "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:8443",
        }
        settings = SalesforceSettings.from_env(env)
        assert settings.mode == "session" and not settings.can_log_in_again
        assert settings.instance_host == "127.0.0.1:8443"

    def test_blank_values_count_as_unset(self) -> None:
        """An empty variable is not set: here the password mode is still complete."""
        settings = SalesforceSettings.from_env({**PASSWORD, "SALESFORCE_SESSION_ID": "  "})
        assert settings.mode == "password"


class TestRefused:
    @pytest.mark.parametrize(
        ("env", "names"),
        [
            ({}, ()),
            ({"SALESFORCE_USERNAME": "u"}, ("SALESFORCE_USERNAME",)),
            (
                {"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p"},
                ("SALESFORCE_SECURITY_TOKEN",),
            ),
            ({"SALESFORCE_CONSUMER_KEY": "k"}, ("SALESFORCE_USERNAME",)),
            ({"SALESFORCE_SESSION_ID": "s"}, ("SALESFORCE_INSTANCE_URL",)),
        ],
    )
    def test_incomplete_sets_list_every_mode(self, env: dict[str, str], names: tuple[str]) -> None:
        """The fix names exactly the variables of each mode; the message what is missing."""
        with pytest.raises(FatalError) as info:
            SalesforceSettings.from_env(env)
        for mode_names in REQUIRED.values():
            assert ", ".join(mode_names) in info.value.fix
        for name in names:
            assert name in info.value.message

    def test_two_modes_at_once(self) -> None:
        """Password and session variables together are refused rather than guessed."""
        env = {**PASSWORD, "SALESFORCE_SESSION_ID": "s", "SALESFORCE_INSTANCE_URL": "https://x"}
        with pytest.raises(FatalError, match="mix two auth modes"):
            SalesforceSettings.from_env(env)

    @pytest.mark.parametrize(
        ("extra", "match"),
        [
            ({"SALESFORCE_INSTANCE_URL": "http://acme.my.salesforce.com"}, "https://"),
            ({"SALESFORCE_DOMAIN": "https://acme.my.salesforce.com"}, "login domain"),
            ({"SALESFORCE_DOMAIN": "acme.my.salesforce.com"}, "login domain"),
            ({"SALESFORCE_CA_BUNDLE": "/nowhere/ca.pem"}, "SALESFORCE_CA_BUNDLE names no file"),
        ],
    )
    def test_bad_values(self, extra: dict[str, str], match: str) -> None:
        """A wrong URL, domain or missing CA file stops start-up with what to set."""
        with pytest.raises(FatalError, match=match):
            SalesforceSettings.from_env({**PASSWORD, **extra})

    def test_missing_key_file(self) -> None:
        """JWT with a key file that does not exist names the variable."""
        env = {
            "SALESFORCE_USERNAME": "u",
            "SALESFORCE_CONSUMER_KEY": "k",
            "SALESFORCE_PRIVATE_KEY_FILE": "/nowhere/server.key",
        }
        with pytest.raises(FatalError, match="SALESFORCE_PRIVATE_KEY_FILE"):
            SalesforceSettings.from_env(env)


def test_secrets_stay_out_of_repr_and_errors() -> None:
    """Neither repr nor an error message shows the password, token or session id."""
    settings = SalesforceSettings.from_env(PASSWORD)
    shown = repr(settings)
    assert "integration@acme.example" in shown
    assert "s3cret-pass" not in shown and "tok3n-value" not in shown
    with pytest.raises(FatalError) as info:
        SalesforceSettings.from_env({**PASSWORD, "SALESFORCE_SESSION_ID": "00Dxx!AQsecret"})
    assert "s3cret-pass" not in str(info.value) and "00Dxx!AQsecret" not in str(info.value)
