"""Folded headers keep every space: Subject and display names, Japanese and English.

Each rendered message is written out as SMTP carries it and read back two ways: with
`email.policy.default`, and with the email package's legacy RFC 2047 decoder, which (like
mail clients) ignores white space between adjacent encoded-words. Both must give back the
exact text; every line is at most 78 characters and every encoded-word at most 75.
"""

from __future__ import annotations

import random
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from sync.mail import render_alert, render_digest
from sync.mail._headers import POLICY, fold_addresses, fold_text
from sync.mail.content import Language
from tests.sync.mail.conftest import BREACH, JST, NOW, make_breach

ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bq]\?[^?\s]*\?=", re.IGNORECASE)

JAPANESE = (
    "北斗化学",
    "株式会社",
    "小林",
    "誠",
    "様",
    "【エスカレーション】",
    "（初回対応）",
    "関東支社",
    "第一営業部",
    "東京都千代田区丸の内",
    "テスト製作所",
    "ﾃｽﾄ",
    "𠮷野",  # outside the BMP: four bytes in UTF-8
    "髙橋",
    "🚨",
)
ENGLISH = (
    "[Escalated]",
    "[Overdue]",
    "first",
    "touch",
    "Kobayashi",
    "Makoto",
    "Hokuto",
    "Chemical",
    "Co.,",
    "Ltd.",
    "(Tokyo)",
    "SLA:",
    "3.5",
    "a",
    "re:",
)


def random_text(rng: random.Random, *, length: int, spacing: str = " ") -> str:
    """Words from both pools, glued or separated by `spacing`, about `length` long."""
    pools = rng.choice([JAPANESE, ENGLISH, JAPANESE + ENGLISH])
    text = rng.choice(pools)
    while len(text) < length:
        text += rng.choice([spacing, spacing, ""]) + rng.choice(pools)
    return text


def with_a_space_at_every_position(text: str) -> list[str]:
    return [f"{text[:i]} {text[i:]}" for i in range(1, len(text))]


def subjects() -> list[str]:
    """Short to 250 characters; Japanese, English, English with Japanese names; a space
    at every position of a long Japanese and a long mixed subject."""
    rng = random.Random(2047)
    lengths = [1, 5, 20, 40, 60, 70, 80, 100, 130, 160, 200, 250]
    found = [random_text(rng, length=rng.choice(lengths)) for _ in range(600)]
    found += with_a_space_at_every_position(
        "【エスカレーション】北斗化学工業株式会社関東支社第一営業部小林誠様（初回対応）"
    )
    found += with_a_space_at_every_position(
        "[Escalated] 小林誠 (北斗化学工業株式会社): first touch"
    )
    found.append("【エスカレーション】北斗化学 小林 誠 様（初回対応）")
    return found


def header_block(raw: bytes) -> str:
    head, _, _ = raw.partition(b"\r\n\r\n")
    assert head.isascii()
    return head.decode("ascii")


def field_value(raw: bytes, name: str) -> str:
    """The value of header `name` unfolded as RFC 5322 says: only the line breaks go."""
    unfolded = re.sub(r"\r\n(?=[ \t])", "", header_block(raw))
    for line in unfolded.split("\r\n"):
        label, _, value = line.partition(":")
        if label.lower() == name.lower():
            return value.removeprefix(" ")
    raise AssertionError(f"no {name} header")


def assert_wire_limits(raw: bytes) -> None:
    for line in header_block(raw).split("\r\n"):
        assert len(line) <= 78, line
        for word in ENCODED_WORD.findall(line):
            assert len(word) <= 75, word


def decoded_by_rfc2047(value: str) -> str:
    """The legacy decoder: white space between adjacent encoded-words is dropped."""
    return str(make_header(decode_header(value)))


def encoded_text(value: str) -> str:
    """All encoded-words of `value` decoded and joined (RFC 2047 section 6.2)."""
    return "".join(
        part.decode(charset) if isinstance(part, bytes) else part
        for part, charset in decode_header(value)
        if charset
    )


def assert_subject_survives(message: EmailMessage, subject: str) -> None:
    raw = message.as_bytes()
    assert_wire_limits(raw)
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject
    assert decoded_by_rfc2047(field_value(raw, "Subject")) == subject


class TestSubject:
    def test_every_subject_comes_back_exactly(self) -> None:
        """Hundreds of subjects: parsed back they equal what was set, within the limits."""
        for subject in subjects():
            message = EmailMessage(policy=POLICY)
            message["Subject"] = subject
            assert_subject_survives(message, subject)

    @pytest.mark.parametrize("language", ["ja", "en"])
    def test_rendered_alerts_keep_their_subject(self, language: Language) -> None:
        """Alerts about leads with spaced Japanese names and long companies, either language."""
        rng = random.Random(language)
        for _ in range(120):
            company = rng.choice([None, random_text(rng, length=rng.randint(2, 60))])
            name = random_text(rng, length=rng.randint(2, 25))
            breach = make_breach(
                level=rng.choice([1, 2]), lead_changes={"name": name, "company": company}
            )
            message = render_alert(
                breach,
                alert_key="key",
                to=["sato@example.co.jp"],
                sender="leadloop@example.co.jp",
                language=language,
                tz=JST,
                now=NOW,
            )
            subject = message["Subject"]
            assert name in subject
            assert company is None or company in subject
            assert_subject_survives(message, subject)

    def test_the_reported_subject(self) -> None:
        """The escalation that lost the space after its company name keeps it."""
        breach = make_breach(level=2, lead_changes={"company": "北斗化学", "name": "小林 誠"})
        message = render_alert(
            breach,
            alert_key="key",
            to=["sato@example.co.jp"],
            sender="leadloop@example.co.jp",
            language="ja",
            tz=JST,
            now=NOW,
        )
        assert message["Subject"] == "【エスカレーション】北斗化学 小林 誠 様（初回対応）"
        assert_subject_survives(message, "【エスカレーション】北斗化学 小林 誠 様（初回対応）")

    def test_ascii_folds_at_its_spaces_unencoded(self) -> None:
        """A long English subject stays readable: folded at spaces, no encoded-words."""
        subject = " ".join(["Overdue leads waiting for follow-up"] * 5)
        message = EmailMessage(policy=POLICY)
        message["Subject"] = subject
        raw = message.as_bytes()
        assert "=?" not in header_block(raw)
        assert header_block(raw).count("\r\n ") >= 2
        assert_subject_survives(message, subject)

    @pytest.mark.parametrize(
        "subject",
        [
            "see https://example.com/" + "x" * 90 + " now",  # a word longer than a line
            "two  spaces and a trailing one ",
            " a leading space",
            "tab\there",
            "北斗化学\u3000小林",  # an ideographic space
        ],
    )
    def test_irregular_text_is_encoded_exactly(self, subject: str) -> None:
        """What cannot be folded at single spaces goes in encoded-words, spaces and all."""
        message = EmailMessage(policy=POLICY)
        message["Subject"] = subject
        assert_subject_survives(message, subject)

    def test_text_that_looks_encoded_is_sent_as_text(self) -> None:
        """A literal `=?...?=` in the text is encoded, so no reader decodes it."""
        text = "lead =?utf-8?b?5YyX?= from a form"
        folded = fold_text("Subject", text, POLICY)
        parsed = message_from_bytes(folded.encode("ascii") + b"\r\n", policy=policy.default)
        assert parsed["Subject"] == text

    def test_a_utf8_policy_writes_the_text_itself(self) -> None:
        """Under SMTPUTF8 no encoded-words are needed; folding is still at spaces only."""
        subject = " ".join(["【エスカレーション】北斗化学工業株式会社 関東支社 小林 誠 様"] * 3)
        folded = fold_text("Subject", subject, POLICY.clone(utf8=True))
        assert "=?" not in folded
        assert "\r\n " in folded
        parsed = message_from_bytes(folded.encode("utf-8") + b"\r\n", policy=policy.default)
        assert parsed["Subject"] == subject


class TestDisplayNames:
    def test_random_display_names_come_back_exactly(self) -> None:
        """Japanese, English and mixed display names, one to three recipients."""
        rng = random.Random(5322)
        for _ in range(400):
            names = [random_text(rng, length=rng.randint(1, 70)) for _ in range(rng.randint(1, 3))]
            to = [Address(name, f"user{i}", "example.co.jp") for i, name in enumerate(names)]
            message = EmailMessage(policy=POLICY)
            message["To"] = to
            raw = message.as_bytes()
            assert_wire_limits(raw)
            parsed = message_from_bytes(raw, policy=policy.default)["To"].addresses
            assert [a.addr_spec for a in parsed] == [a.addr_spec for a in to]
            for address, back in zip(to, parsed, strict=True):
                one = fold_addresses("To", [address], POLICY)
                if ENCODED_WORD.search(one):
                    assert encoded_text(field_value(one.encode(), "To")) == address.display_name
                if len(ENCODED_WORD.findall(one)) <= 1:
                    # Python 3.11's address parser puts a space between adjacent
                    # encoded-words, so only names in one word are compared through it.
                    assert back.display_name == address.display_name

    def test_a_long_name_fits_one_encoded_word_where_it_can(self) -> None:
        """A name that fits one encoded-word starts a new line rather than being split."""
        to = [Address("北斗化学 小林 誠", "a", "example.co.jp")] * 2
        message = EmailMessage(policy=POLICY)
        message["To"] = to
        raw = message.as_bytes()
        assert len(ENCODED_WORD.findall(header_block(raw))) == 2
        parsed = message_from_bytes(raw, policy=policy.default)["To"].addresses
        assert [a.display_name for a in parsed] == ["北斗化学 小林 誠"] * 2

    def test_ascii_names_are_quoted_when_they_must_be(self) -> None:
        """Specials in an English name are quoted, not encoded, and come back exactly."""
        names = ["Kobayashi, Makoto (Sales)", 'Say "hi" \\ back', "Plain Name"]
        message = EmailMessage(policy=POLICY)
        message["To"] = [Address(name, "a", "example.com") for name in names]
        raw = message.as_bytes()
        assert "=?" not in header_block(raw)
        parsed = message_from_bytes(raw, policy=policy.default)["To"].addresses
        assert [a.display_name for a in parsed] == names

    def test_a_digest_to_an_owner_with_a_long_name(self) -> None:
        """The digest's To carries the owner's name as given."""
        owner = "北斗化学工業株式会社 関東支社 第一営業部 小林 誠"
        message = render_digest(
            owner,
            "kobayashi@example.co.jp",
            [BREACH],
            sender="リードループ 通知 <leadloop@example.co.jp>",
            language="en",
            tz=JST,
            day=NOW.date(),
            now=NOW,
        )
        raw = message.as_bytes()
        assert_wire_limits(raw)
        assert encoded_text(field_value(raw, "To")) == owner
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["From"].addresses[0].display_name == "リードループ 通知"


def test_other_headers_are_written_as_before() -> None:
    """Message-ID, Date, the alert header and the MIME headers fold as email.policy.SMTP's."""
    message = render_alert(
        BREACH,
        alert_key="lead-1/first_touch/2026-01-09T10:00:00+00:00/1",
        to=["sato@example.co.jp"],
        sender="leadloop@example.co.jp",
        language="ja",
        tz=JST,
        now=NOW,
    )
    checked = set()
    for part in message.walk():
        for name, value in part.items():
            if name in ("Subject", "From", "To"):
                continue
            standard = policy.SMTP.header_factory(name, str(value)).fold(policy=policy.SMTP)
            assert value.fold(policy=POLICY) == standard
            checked.add(name)
    assert {"Message-ID", "Date", "X-Leadloop-Alert", "Content-Type"} <= checked
