"""Alert e-mail: settings, rendering from templates, and sending over SMTP.

Knows nothing of the state store or the CRMs: the alerts job hands it typed values
(`Breach`, `AlertLead`), gets an `EmailMessage` back from `render_alert` / `render_digest`
and gives it to a `Mailer` (`SmtpMailer` in production, `FolderMailer` in the demo).
"""

from sync.mail.content import AlertLead, Breach
from sync.mail.errors import MailConfigError, MailError
from sync.mail.render import render_alert, render_digest
from sync.mail.sender import FolderMailer, Mailer, SmtpMailer
from sync.mail.settings import SmtpSettings

__all__ = [
    "AlertLead",
    "Breach",
    "FolderMailer",
    "MailConfigError",
    "MailError",
    "Mailer",
    "SmtpMailer",
    "SmtpSettings",
    "render_alert",
    "render_digest",
]
