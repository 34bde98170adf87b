"""render_alert and render_digest: headers, wording, escaping, links, order, user templates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mappings.model import ScoreReason
from sync.mail import AlertLead, Breach, MailConfigError, render_alert, render_digest
from sync.mail.content import Language
from tests.sync.mail.conftest import BREACH, DEADLINE, JST, LEAD, NOW, make_breach

SENDER = "leadloop <leadloop@example.co.jp>"
KEY = "lead-1/first_touch/2026-01-09T10:00:00+00:00/1"


def alert(
    breach: Breach = BREACH,
    *,
    language: Language = "ja",
    key: str = KEY,
    tz: ZoneInfo = JST,
    template_folder: Path | None = None,
) -> EmailMessage:
    return render_alert(
        breach,
        alert_key=key,
        to=["佐藤 花子 <sato@example.co.jp>"],
        sender=SENDER,
        language=language,
        tz=tz,
        template_folder=template_folder,
        now=NOW,
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML body, decoded."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    # Unsent, policy.SMTP keeps the wire's CRLF line ends in the decoded text.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


class TestAlertMessage:
    def test_headers(self) -> None:
        """Subject in business Japanese, From, To, Date, Message-ID and the alert header."""
        message = alert()
        assert message["Subject"] == "【対応期限超過】株式会社テスト製作所 山田 太郎 様（初回対応）"
        assert str(message["From"]) == SENDER
        assert message["To"].addresses[0].addr_spec == "sato@example.co.jp"
        assert parsedate_to_datetime(message["Date"]) == NOW
        assert message["X-Leadloop-Alert"] == "first_touch/1"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@example.co.jp>")

    def test_non_ascii_headers_are_encoded(self) -> None:
        """The wire form is ASCII: the subject and display names are RFC 2047 encoded words."""
        wire = bytes(message := alert())
        assert wire.isascii()
        assert b"Subject: =?utf-8?" in wire
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]

    def test_the_message_id_follows_the_alert_key(self) -> None:
        """The same key gives the same Message-ID (a resend after a crash); another key not."""
        assert alert()["Message-ID"] == alert()["Message-ID"]
        assert alert()["Message-ID"] != alert(key=KEY.replace("/1", "/2"))["Message-ID"]

    def test_the_body_says_what_to_act_on(self) -> None:
        """Lead, score with each reason, handoff, deadline, hours overdue, level and links."""
        text, html = parts(alert())
        for body in (text, html):
            assert "株式会社テスト製作所" in body
            assert "山田 太郎 様" in body
            assert "yamada@example.co.jp" in body
            assert "65点" in body
            assert "資料ダウンロード：+20点（2回）" in body
            assert "決裁者の役職：+15点" in body
            assert "配信停止：-20点" in body
            assert "2026年1月9日(金) 19:00" in body
            assert "2026年1月15日(木) 18:00" in body
            assert "3.5時間" in body
            assert "期限超過" in body
            assert LEAD.salesforce_url in body
            assert LEAD.hubspot_url in body
        assert text.startswith("佐藤 花子 様\n")

    def test_an_escalation_says_so(self) -> None:
        """Level 2 is worded エスカレーション and addressed to the escalation list."""
        message = alert(make_breach(level=2, overdue_business_hours=12.25))
        assert message["Subject"].startswith("【エスカレーション】")
        assert message["X-Leadloop-Alert"] == "first_touch/2"
        text, _ = parts(message)
        assert text.startswith("関係各位\n")
        assert "エスカレーション" in text
        assert "12.25時間" in text

    def test_html_escapes_what_the_crm_says(self) -> None:
        """A company name with <script> is escaped in HTML and left as written in text."""
        evil = "<script>alert(1)</script> & Co."
        reasons = (*LEAD.reasons, ScoreReason("<b>x", 1))
        breach = make_breach(lead_changes={"company": evil, "reasons": reasons})
        message = alert(breach)
        text, html = parts(message)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co." in html
        assert "&lt;b&gt;x" in html
        assert evil in text
        assert evil in message["Subject"]

    @pytest.mark.parametrize(
        ("salesforce", "hubspot"),
        [(None, None), ("https://sf.example/1", None), (None, "https://hs.example/1")],
    )
    def test_missing_links_are_left_out(self, salesforce: str | None, hubspot: str | None) -> None:
        """A record link that is None leaves no line, label or button behind."""
        breach = make_breach(lead_changes={"salesforce_url": salesforce, "hubspot_url": hubspot})
        text, html = parts(alert(breach))
        assert ("Salesforce：" in text) == (salesforce is not None)
        assert ("HubSpot　 ：" in text) == (hubspot is not None)
        assert (">Salesforce</a>" in html) == (salesforce is not None)
        assert (">HubSpot</a>" in html) == (hubspot is not None)
        assert ("■ リンク" in text) == (salesforce is not None or hubspot is not None)

    def test_optional_lead_fields(self) -> None:
        """No company, e-mail or owner still reads well."""
        breach = make_breach(
            lead_changes={"company": None, "email": None, "owner_name": None, "owner_email": None}
        )
        message = alert(breach)
        assert message["Subject"] == "【対応期限超過】山田 太郎 様（初回対応）"
        text, _ = parts(message)
        assert text.startswith("ご担当者様\n")
        assert "（未登録）" in text
        assert "（未割り当て）" in text

    def test_english(self) -> None:
        """The English templates: subject, wording and times like 2026-01-15 18:00 JST."""
        message = alert(language="en")
        assert message["Subject"] == "[Overdue] 山田 太郎 (株式会社テスト製作所): first touch"
        assert message["Content-Language"] == "en"
        text, html = parts(message)
        for body in (text, html):
            assert "2026-01-15 18:00 JST" in body
            assert "2026-01-09 19:00 JST" in body
            assert "3.5 business hours" in body
            assert "content download: +20 (2 times)" in body
            assert "unsubscribe: -20" in body
        assert text.startswith("Hello 佐藤 花子,\n")
        assert '<html lang="en">' in html
        escalated = alert(make_breach(level=2), language="en")
        assert escalated["Subject"].startswith("[Escalated] ")
        assert "escalated" in parts(escalated)[0]

    def test_times_outside_japan_show_their_zone(self) -> None:
        """In another zone the time is converted and the Japanese form names the zone."""
        text, _ = parts(alert(tz=ZoneInfo("UTC")))
        assert "2026年1月15日(木) 09:00 UTC" in text
        text, _ = parts(alert(language="en", tz=ZoneInfo("Europe/Berlin")))
        assert "2026-01-15 10:00 CET" in text

    def test_bad_inputs_are_refused(self) -> None:
        """A recipient that is no address, an empty key or a naive time is a ValueError."""
        for nobody in ("sato", "@example.co.jp"):
            with pytest.raises(ValueError, match="recipient"):
                render_alert(
                    BREACH, alert_key=KEY, to=[nobody], sender=SENDER, language="ja", tz=JST
                )
        with pytest.raises(ValueError, match="alert_key"):
            render_alert(BREACH, alert_key="", to=["a@b.jp"], sender=SENDER, language="ja", tz=JST)
        with pytest.raises(ValueError, match="timezone-aware"):
            make_breach(deadline=datetime(2026, 1, 15, 18))
        with pytest.raises(ValueError, match="http"):
            make_breach(lead_changes={"salesforce_url": "javascript:alert(1)"})


class TestDigest:
    def breaches(self) -> list[Breach]:
        def one(name: str, days_ago: int, sla: str = "first_touch") -> Breach:
            lead = AlertLead(
                name=name,
                company=None,
                email=None,
                score=50,
                reasons=(),
                handed_off_at=DEADLINE - timedelta(days=days_ago + 3),
                owner_name="佐藤 花子",
                owner_email="sato@example.co.jp",
            )
            return Breach(lead, sla, 1, DEADLINE - timedelta(days=days_ago), 9.0 * days_ago)

        return [one("中村 一郎", 1), one("小林 二郎", 3, "sales_action"), one("加藤 三郎", 2)]

    def digest(self, language: Language = "ja") -> EmailMessage:
        return render_digest(
            "佐藤 花子",
            "sato@example.co.jp",
            self.breaches(),
            sender=SENDER,
            language=language,
            tz=JST,
            day=date(2026, 1, 16),
            now=NOW,
        )

    def test_one_message_to_the_owner(self) -> None:
        """Addressed to the owner by name; subject counts the leads; digest header and ID."""
        message = self.digest()
        assert str(message["To"]) == "佐藤 花子 <sato@example.co.jp>"
        assert message["Subject"] == "【対応期限超過のまとめ】2026年1月16日(金) 未対応のリード 3件"
        assert message["X-Leadloop-Digest"] == "2026-01-16"
        assert message["Message-ID"] == self.digest()["Message-ID"]
        assert message.get_content_type() == "multipart/alternative"

    @pytest.mark.parametrize("language", ["ja", "en"])
    def test_oldest_deadline_first(self, language: Language) -> None:
        """The breaches are listed by deadline, oldest first, in both parts."""
        for body in parts(self.digest(language)):
            positions = [body.index(name) for name in ("小林 二郎", "加藤 三郎", "中村 一郎")]
            assert positions == sorted(positions)
        text, _ = parts(self.digest("ja"))
        assert "1. 小林 二郎 様" in text
        assert "商談化後の営業対応（期限超過）" in text
        assert "27時間超過" in text

    def test_english(self) -> None:
        """The English digest counts and dates in English."""
        message = self.digest("en")
        assert message["Subject"] == (
            "[Overdue leads] 3 leads waiting for follow-up on Fri 2026-01-16"
        )
        text, _ = parts(message)
        assert "Sales follow-up overdue" in text
        assert "overdue by 27 business hours" in text

    def test_an_empty_digest_is_refused(self) -> None:
        """Nothing to list is a ValueError: the job should not send a digest at all."""
        with pytest.raises(ValueError, match="at least one"):
            render_digest(
                None,
                "sato@example.co.jp",
                [],
                sender=SENDER,
                language="ja",
                tz=JST,
                day=date.today(),
            )


class TestUserTemplates:
    def test_a_user_copy_overrides_one_template(self, tmp_path: Path) -> None:
        """A template in template_folder wins; the others still come from the package."""
        (tmp_path / "alert.en.txt.j2").write_text(
            "Subject: Call {{ lead.name }} now ({{ breach.sla }})\n\n"
            "Deadline was {{ format_time(breach.deadline) }}.\n",
            encoding="utf-8",
        )
        message = alert(language="en", template_folder=tmp_path)
        assert message["Subject"] == "Call 山田 太郎 now (first_touch)"
        text, html = parts(message)
        assert text == "Deadline was 2026-01-15 18:00 JST.\n"
        assert "<title>Call 山田 太郎 now (first_touch)</title>" in html
        assert "3.5 business hours" in html  # the shipped HTML template

    def test_a_user_copy_of_the_labels_is_used_by_the_shipped_templates(
        self, tmp_path: Path
    ) -> None:
        """Overriding `_labels.ja.j2` renames an SLA everywhere without copying the rest."""
        shipped = Path(__file__).parents[3] / "sync/mail/templates/_labels.ja.j2"
        labels = shipped.read_text(encoding="utf-8").replace("初回対応", "初回コンタクト")
        (tmp_path / "_labels.ja.j2").write_text(labels, encoding="utf-8")
        message = alert(template_folder=tmp_path)
        assert message["Subject"].endswith("（初回コンタクト）")

    @pytest.mark.parametrize(
        ("template", "match"),
        [
            ("Hello {{ lead.name }}\n", "must start with a line 'Subject: ...'"),
            ("Subject: {{ lead.nmae }}\n\nx\n", "could not be rendered.*nmae"),
            ("Subject: {% if %}\n", "alert.en.txt.j2, line 1"),
        ],
    )
    def test_a_broken_user_template_names_the_file(
        self, tmp_path: Path, template: str, match: str
    ) -> None:
        """A missing subject line, an unknown variable or bad syntax is a MailConfigError."""
        (tmp_path / "alert.en.txt.j2").write_text(template, encoding="utf-8")
        with pytest.raises(MailConfigError, match=match) as info:
            alert(language="en", template_folder=tmp_path)
        assert "alert.en.txt.j2" in str(info.value)

    def test_a_missing_template_folder_is_a_config_error(self, tmp_path: Path) -> None:
        """A template folder that does not exist is reported, not silently ignored."""
        with pytest.raises(MailConfigError, match="does not exist"):
            alert(template_folder=tmp_path / "nowhere")


def test_the_templates_ship_with_the_package() -> None:
    """Every kind x language x part exists next to the module (package-data `*.j2`)."""
    import sync.mail.render as render

    names = {path.name for path in render.TEMPLATES.glob("*.j2")}
    for kind in ("alert", "digest"):
        for language in ("ja", "en"):
            assert {f"{kind}.{language}.txt.j2", f"{kind}.{language}.html.j2"} <= names
