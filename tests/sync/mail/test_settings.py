"""SmtpSettings.from_env: the SMTP_URL forms, the login, and secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.mail import MailConfigError, SmtpSettings

SECRET = "hunter2-Secret"


class TestUrlForms:
    @pytest.mark.parametrize(
        ("url", "host", "port", "security"),
        [
            ("smtp://mail.example.com", "mail.example.com", 25, "plain"),
            ("smtp://mail.example.com:2525/", "mail.example.com", 2525, "plain"),
            ("smtp://mail.example.com?starttls=false", "mail.example.com", 25, "plain"),
            ("smtp://mail.example.com:587?starttls=true", "mail.example.com", 587, "starttls"),
            ("smtp://mail.example.com?starttls=TRUE", "mail.example.com", 587, "starttls"),
            ("smtp://mail.example.com:25?starttls=1", "mail.example.com", 25, "starttls"),
            ("smtp+starttls://mail.example.com", "mail.example.com", 587, "starttls"),
            ("smtps://mail.example.com", "mail.example.com", 465, "tls"),
            ("SMTPS://Mail.Example.com:10465", "mail.example.com", 10465, "tls"),
            ("smtp://[::1]:2525", "::1", 2525, "plain"),
            ("  smtp://127.0.0.1:1025  ", "127.0.0.1", 1025, "plain"),
        ],
    )
    def test_each_form_gives_host_port_and_security(
        self, url: str, host: str, port: int, security: str
    ) -> None:
        """Each allowed form sets host, port (or its scheme's default) and the security."""
        settings = SmtpSettings.from_env({"SMTP_URL": url})
        assert (settings.host, settings.port, settings.security) == (host, port, security)
        assert (settings.username, settings.password) == (None, None)
        assert (settings.ca_bundle, settings.timeout_seconds) == (None, 30.0)

    def test_the_login_may_sit_in_the_url_percent_encoded(self) -> None:
        """user:password@ in the URL is percent-decoded."""
        url = "smtp+starttls://alice%40example.com:p%40ss%3Aword@mail.example.com"
        settings = SmtpSettings.from_env({"SMTP_URL": url})
        assert (settings.username, settings.password) == ("alice@example.com", "p@ss:word")

    def test_the_environment_wins_over_the_url(self) -> None:
        """SMTP_USERNAME and SMTP_PASSWORD override the URL's userinfo."""
        env = {
            "SMTP_URL": "smtps://old:old-pass@mail.example.com",
            "SMTP_USERNAME": "bob",
            "SMTP_PASSWORD": SECRET,
        }
        settings = SmtpSettings.from_env(env)
        assert (settings.username, settings.password) == ("bob", SECRET)

    def test_ca_bundle_and_timeout(self, tmp_path: Path) -> None:
        """SMTP_CA_BUNDLE names a PEM file; SMTP_TIMEOUT is seconds."""
        bundle = tmp_path / "ca.pem"
        bundle.write_text("-----BEGIN CERTIFICATE-----\n")
        env = {
            "SMTP_URL": "smtps://mail.example.com",
            "SMTP_CA_BUNDLE": str(bundle),
            "SMTP_TIMEOUT": "2.5",
        }
        settings = SmtpSettings.from_env(env)
        assert (settings.ca_bundle, settings.timeout_seconds) == (bundle, 2.5)
        assert settings.address == "mail.example.com:465"


class TestErrors:
    @pytest.mark.parametrize(
        ("url", "problem"),
        [
            ("", "is not set"),
            ("mail.example.com", "no scheme"),
            ("localhost:25", "no scheme"),
            ("http://mail.example.com", "scheme 'http'"),
            ("smtp://", "no host"),
            ("smtp://mail.example.com:99999", "not a number from 1 to 65535"),
            ("smtp://mail.example.com:abc", "not a number from 1 to 65535"),
            ("smtp://mail.example.com:0", "port 0"),
            ("smtp://[::1", "not a valid URL"),
            ("smtp://mail.example.com/relay", "path"),
            ("smtp://mail.example.com?tls=1", "unknown option 'tls'"),
            ("smtp://mail.example.com?starttls=maybe", "starttls='maybe'"),
            ("smtps://mail.example.com?starttls=true", "does not fit smtps://"),
            ("smtp+starttls://mail.example.com?starttls=false", "does not fit"),
        ],
    )
    def test_a_bad_url_names_the_variable_and_the_allowed_forms(
        self, url: str, problem: str
    ) -> None:
        """The message says SMTP_URL, what is wrong with it and every allowed form."""
        with pytest.raises(MailConfigError) as info:
            SmtpSettings.from_env({"SMTP_URL": url})
        message = str(info.value)
        assert message.startswith("SMTP_URL")
        assert problem in message
        for form in ("smtp://host[:port]", "starttls=true", "smtp+starttls://", "smtps://"):
            assert form in message
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        "url",
        [
            f"smtp://bob:{SECRET}@mail.example.com:abc",
            f"http://bob:{SECRET}@mail.example.com",
            f"smtp://bob:{SECRET}@mail.example.com/path",
            f"smtp://bob:{SECRET.replace('-', '%2D')}@mail.example.com?x=1",
            f"smtp://bob:{SECRET}/x@mail.example.com:abc",
            f"smtp://bob:{SECRET}@[::1",
            f"smtp://bob:{SECRET}?x@mail.example.com",
            f"smtp://bob:{SECRET}#x@mail.example.com",
            f"bob:{SECRET}@mail.example.com",
            f"smtp:bob:{SECRET}@mail.example.com",
        ],
    )
    def test_the_password_in_a_bad_url_is_not_shown(self, url: str) -> None:
        """The given URL is echoed with its password replaced by ***, even when malformed."""
        with pytest.raises(MailConfigError) as info:
            SmtpSettings.from_env({"SMTP_URL": url})
        message = str(info.value)
        assert SECRET not in message
        assert "%2D" not in message
        assert "***@" in message

    def test_the_password_variable_is_not_shown_either(self) -> None:
        """A password pasted into SMTP_URL as well as SMTP_PASSWORD does not leak."""
        env = {"SMTP_URL": f"smtp://{SECRET}:x", "SMTP_PASSWORD": SECRET, "SMTP_USERNAME": "b"}
        with pytest.raises(MailConfigError) as info:
            SmtpSettings.from_env(env)
        assert SECRET not in str(info.value)

    @pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
    def test_a_bad_timeout_names_the_variable(self, value: str) -> None:
        """SMTP_TIMEOUT must be a positive number of seconds."""
        with pytest.raises(MailConfigError, match=r"SMTP_TIMEOUT=.*positive number"):
            SmtpSettings.from_env({"SMTP_URL": "smtp://mail.example.com", "SMTP_TIMEOUT": value})

    def test_a_missing_ca_bundle_names_the_variable(self, tmp_path: Path) -> None:
        """SMTP_CA_BUNDLE must be an existing file."""
        env = {"SMTP_URL": "smtps://mail.example.com", "SMTP_CA_BUNDLE": str(tmp_path / "no")}
        with pytest.raises(MailConfigError, match=r"SMTP_CA_BUNDLE=.*is not a file"):
            SmtpSettings.from_env(env)

    def test_a_password_without_a_user_is_refused(self) -> None:
        """A password alone cannot log in: the message says to set SMTP_USERNAME."""
        env = {"SMTP_URL": "smtps://mail.example.com", "SMTP_PASSWORD": SECRET}
        with pytest.raises(MailConfigError, match="SMTP_USERNAME") as info:
            SmtpSettings.from_env(env)
        assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "env",
    [
        {"SMTP_URL": f"smtps://bob:{SECRET}@mail.example.com"},
        {"SMTP_URL": "smtps://mail.example.com", "SMTP_USERNAME": "bob", "SMTP_PASSWORD": SECRET},
    ],
)
def test_the_password_never_shows_in_repr(env: dict[str, str]) -> None:
    """repr() and str() of the settings leave the password out."""
    settings = SmtpSettings.from_env(env)
    assert settings.password == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "bob" in repr(settings)
