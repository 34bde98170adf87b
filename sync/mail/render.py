"""Alert and digest e-mails rendered from Jinja2 templates a user may copy and edit.

Templates live in `sync/mail/templates/`, one per kind, language and part:
`alert.ja.txt.j2`, `alert.ja.html.j2`, `digest.en.txt.j2`, ... plus the helpers they import
(`_labels.<language>.j2`: SLA, rule and level wording; `_layout.html.j2` and
`_macros.html.j2`: the HTML frame and pieces).
With `template_folder`, a template of the same name there is used instead of the shipped one,
so a user copies only the files they change.

The subject is the first line of the text template, written `Subject: ...`, followed by an
empty line and the body. The HTML template receives it as `subject`. Templates are rendered
with `StrictUndefined` (a misspelt name is an error, not an empty string); `.html.j2` files
are autoescaped, text files are not. Any template problem is a `MailConfigError` naming the
file. Variables:

- alert: `breach`, `lead` (= `breach.lead`), `language`.
- digest: `owner_name`, `owner_email`, `breaches` (oldest deadline first), `day`, `language`.
- both: `format_time(datetime)` (in the alerts' time zone: `2026-01-15 18:00 JST`, in
  Japanese `2026年1月15日(木) 18:00`, the zone added only when it is not JST),
  `format_day(date)`, `format_hours(float)` (`3.5`), `format_points(int)` (`+10`).

Each message is multipart/alternative (text, then HTML), UTF-8, its headers RFC 2047
encoded under `email.policy.SMTP`; the Subject and the display names are folded by
`sync.mail._headers`, so that no space is lost where a long one is folded. An alert carries
`X-Leadloop-Alert: <sla>/<level>` and a Message-ID derived from `alert_key`, a digest
`X-Leadloop-Digest: <day>` and a Message-ID derived from the owner's address and the day:
a message sent again after a crash carries the same Message-ID, so mail systems can tell it
is the same message.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from sync.mail._headers import POLICY
from sync.mail.content import ALERT_HEADER, DIGEST_HEADER, LANGUAGES, Breach, Language
from sync.mail.errors import MailConfigError

TEMPLATES = Path(__file__).parent / "templates"
"""The shipped templates."""

_WEEKDAYS_JA = "月火水木金土日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale


def render_alert(
    breach: Breach,
    *,
    alert_key: str,
    to: Sequence[str],
    sender: str,
    language: Language,
    tz: ZoneInfo,
    template_folder: Path | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The e-mail telling `to` that `breach` happened.

    `alert_key` identifies the alert (e.g. lead key, SLA, its start and level) and fixes the
    Message-ID. `now` is the Date header (the caller's clock; default the wall clock)."""
    if not alert_key:
        raise ValueError("alert_key must not be empty")
    sender_address = _address(sender, "sender")
    context = {"breach": breach, "lead": breach.lead}
    subject, text, html = _render("alert", context, language, tz, template_folder)
    message = _message(
        subject=subject,
        text=text,
        html=html,
        sender=sender_address,
        to=[_address(address, "recipient") for address in to],
        date=_date(now, tz),
        message_id=_message_id("alert", alert_key, sender_address),
        language=language,
    )
    message[ALERT_HEADER] = f"{breach.sla}/{breach.level}"
    return message


def render_digest(
    owner_name: str | None,
    owner_email: str,
    breaches: Sequence[Breach],
    *,
    sender: str,
    language: Language,
    tz: ZoneInfo,
    day: date,
    template_folder: Path | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """One e-mail to a lead owner listing each of their open breaches, oldest deadline first."""
    if not breaches:
        raise ValueError("a digest needs at least one breach")
    sender_address = _address(sender, "sender")
    to = _address(owner_email, "owner_email")
    if owner_name:
        to = Address(display_name=owner_name, username=to.username, domain=to.domain)
    ordered = sorted(breaches, key=lambda b: (b.deadline, b.lead.name, b.sla, b.level))
    context = {
        "owner_name": owner_name,
        "owner_email": owner_email,
        "breaches": ordered,
        "day": day,
    }
    subject, text, html = _render("digest", context, language, tz, template_folder)
    message = _message(
        subject=subject,
        text=text,
        html=html,
        sender=sender_address,
        to=[to],
        date=_date(now, tz),
        message_id=_message_id(
            "digest", f"{to.addr_spec.lower()}/{day.isoformat()}", sender_address
        ),
        language=language,
    )
    message[DIGEST_HEADER] = day.isoformat()
    return message


def _render(
    kind: str,
    context: Mapping[str, Any],
    language: Language,
    tz: ZoneInfo,
    template_folder: Path | None,
) -> tuple[str, str, str]:
    """Subject, text body and HTML body of one message."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, was {language!r}")
    environment = _environment(template_folder)
    values = {**context, **_helpers(language, tz), "language": language}
    text_name = f"{kind}.{language}.txt.j2"
    rendered = _render_one(environment, text_name, values)
    subject, text = _split_subject(rendered, environment, text_name)
    html = _render_one(environment, f"{kind}.{language}.html.j2", {**values, "subject": subject})
    return subject, text, html


@functools.lru_cache(maxsize=8)
def _environment(template_folder: Path | None) -> jinja2.Environment:
    folders = [TEMPLATES]
    if template_folder is not None:
        if not template_folder.is_dir():
            raise MailConfigError(
                f"the alert template folder {template_folder} does not exist; create it with"
                f" copies of the templates to change (from {TEMPLATES}), or do not set it"
            )
        folders.insert(0, template_folder)
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders, encoding="utf-8"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=(), default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_one(environment: jinja2.Environment, name: str, values: Mapping[str, Any]) -> str:
    try:
        template = environment.get_template(name)
        return template.render(values)
    except jinja2.TemplateNotFound as exc:
        raise MailConfigError(f"the alert template {exc.name} was not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise MailConfigError(
            f"the alert template {exc.filename or name}, line {exc.lineno}: {exc.message}"
        ) from exc
    except jinja2.TemplateError as exc:
        raise MailConfigError(
            f"the alert template {_filename(environment, name)} could not be rendered: {exc}"
        ) from exc


def _split_subject(rendered: str, environment: jinja2.Environment, name: str) -> tuple[str, str]:
    first, _, body = rendered.lstrip("\n").partition("\n")
    label, colon, subject = first.partition(":")
    subject = " ".join(subject.split())
    if not colon or label.strip().lower() != "subject" or not subject:
        raise MailConfigError(
            f"the alert template {_filename(environment, name)} must start with a line"
            " 'Subject: ...' (the e-mail's subject), then an empty line and the body"
        )
    return subject, body.lstrip("\n").rstrip() + "\n"


def _filename(environment: jinja2.Environment, name: str) -> str:
    try:
        return environment.get_template(name).filename or name
    except jinja2.TemplateError:
        return name


def _helpers(language: Language, tz: ZoneInfo) -> dict[str, Callable[..., str]]:
    def format_time(value: datetime) -> str:
        local = value.astimezone(tz)
        zone = local.tzname() or ""
        if language == "ja":
            text = f"{format_day(local.date())} {local:%H:%M}"
            return text if zone == "JST" else f"{text} {zone}".rstrip()
        return f"{local:%Y-%m-%d %H:%M} {zone}".rstrip()

    def format_day(value: date) -> str:
        if language == "ja":
            weekday = _WEEKDAYS_JA[value.weekday()]
            return f"{value.year}年{value.month}月{value.day}日({weekday})"
        return f"{_WEEKDAYS_EN[value.weekday()]} {value.isoformat()}"

    return {
        "format_time": format_time,
        "format_day": format_day,
        "format_hours": _format_hours,
        "format_points": _format_points,
    }


def _format_hours(hours: float) -> str:
    return f"{hours:.2f}".rstrip("0").rstrip(".")


def _format_points(points: int) -> str:
    return f"{points:+d}" if points else "0"


def _date(now: datetime | None, tz: ZoneInfo) -> datetime:
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, was {now.isoformat()}")
    return now.astimezone(tz)


def _address(text: str, what: str) -> Address:
    name, addr_spec = parseaddr(text)
    if "@" not in addr_spec:
        raise ValueError(f"{what} {text!r} is not an e-mail address")
    try:
        return Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValueError(f"{what} {text!r} is not an e-mail address") from exc


def _message_id(kind: str, key: str, sender: Address) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{kind}.{digest}@{sender.domain or 'leadloop.invalid'}>"


def _message(
    *,
    subject: str,
    text: str,
    html: str,
    sender: Address,
    to: Sequence[Address],
    date: datetime,
    message_id: str,
    language: Language,
) -> EmailMessage:
    if not to:
        raise ValueError("an e-mail needs at least one recipient")
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = tuple(to)
    message["Date"] = date
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message
