"""The daily digest: once a business day, each lead owner gets one e-mail of their open breaches.

The digest is due on a business day from `alerts.digest_at` (local time, `timezone` of
`leadloop.yaml`) while that day's business hours last; with `digest_at: null` there is none.
It is the picture at `digest_at`: every breach of the owner's leads whose deadline had
passed by then and that is still open when it is sent (the lead still in `mql` or `sql`, the
SLA still unmet), oldest deadline first. A digest sent later in the day (the daemon was down
at `digest_at`) shows the same picture, less what was resolved since; a breach that begins
after `digest_at` is e-mailed on its own by the alerts job and waits for the next day's
digest, so an owner is not sent a one-line digest just after its alert.

The alerts job collects the breaches (`DigestBook`) while it checks the SLAs, then calls
`send_digests` with its way of describing a breach for an e-mail. Each (day, owner) is
claimed in the store and committed before its e-mail is sent (`state.alerts`), so an owner
gets one digest a day across runs and restarts; a send that fails stays claimed and is
retried on the next run of the same day. A claimed digest is cancelled, with the reason,
when none of its breaches is open any more, or when its day has passed unsent (the next
day's digest lists what is still open). A lead whose owner is unknown is in nobody's
digest: its breaches go to the escalation list as alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr

import structlog

from mappings.model import Lead
from state import DigestRecord, Repository
from sync.config import Config
from sync.jobs.context import JobContext, JobCounts
from sync.mail import Breach, MailError, render_digest
from sync.sla import SlaStatus

Describe = Callable[[Lead, SlaStatus], Breach]
"""A breach as an e-mail shows it: the lead with its links, the SLA, deadline and level."""

NO_OWNER_SAMPLE = 20
"""How many lead keys the `alerts.digest_no_owner` line names."""
log = structlog.get_logger()


@dataclass
class DigestBook:
    """The breaches of one day's digests, by owner, collected during one run."""

    day: date
    """The business day (local date) the digests are for."""
    cutoff: datetime
    """`digest_at` on `day`: breaches whose deadline passed by then are listed."""
    settled: frozenset[str] = frozenset()
    """Owners whose digest of `day` is sent or cancelled: nothing to collect for them."""
    breaches: dict[str, list[tuple[Lead, SlaStatus]]] = field(default_factory=dict)
    """Owner key (lower case) -> each listed breach of the owner's leads."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Owner key (lower case) -> the address as the lead's owner field has it."""
    no_owner: list[str] = field(default_factory=list)
    """Keys of the leads with a listed breach but no usable owner address."""

    def collect(self, lead: Lead, status: SlaStatus) -> None:
        """List `status` in its owner's digest if it belongs there: an open breach whose
        deadline passed by `cutoff`, of an owner not settled yet. An unknown owner is noted
        in `no_owner`."""
        if not status.watched or status.level < 1 or status.deadline > self.cutoff:
            return
        address = owner_address(lead.fit.owner)
        if address is None:
            if lead.key not in self.no_owner:
                self.no_owner.append(lead.key)
            return
        key = address.lower()
        if key not in self.settled:
            self.addresses.setdefault(key, address)
            self.breaches.setdefault(key, []).append((lead, status))


def owner_address(owner: str | None) -> str | None:
    """The e-mail address in a lead's owner field; None when there is none."""
    if not owner:
        return None
    _, address = parseaddr(owner)
    if "@" not in address or any(c.isspace() for c in address):
        return None
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, HeaderParseError):
        return None
    return address if parsed.username and parsed.domain else None


def open_book(ctx: JobContext, repo: Repository, now: datetime) -> DigestBook | None:
    """The book of today's digests when one is due at `now` (see `digest_window`), else None."""
    window = digest_window(ctx.config, now)
    if window is None:
        return None
    day, cutoff = window
    settled = frozenset(
        record.owner for record in repo.digests_on(day) if record.status in ("sent", "cancelled")
    )
    return DigestBook(day, cutoff, settled)


def digest_window(config: Config, now: datetime) -> tuple[date, datetime] | None:
    """(day, cutoff) when a digest is due at `now`: a business day of `config`'s calendar,
    inside its business hours, at or after `digest_at` (the cutoff, that day). None
    otherwise, or when `digest_at` is null."""
    digest_at = config.alerts.digest_at
    if digest_at is None:
        return None
    if config.business_calendar.next_opening(now) != now:  # a closed day or hour
        return None
    day = now.astimezone(config.tz).date()
    cutoff = datetime.combine(day, time.fromisoformat(digest_at), tzinfo=config.tz)
    return (day, cutoff) if now >= cutoff else None


def send_digests(ctx: JobContext, book: DigestBook, counts: JobCounts, describe: Describe) -> None:
    """Claim the day's digests of the owners in `book`, then send every unsent one, each
    breach in it as `describe` puts it."""
    now = ctx.clock()
    with ctx.store.transaction() as repo:
        claimed = [
            owner for owner in sorted(book.breaches) if repo.claim_digest(book.day, owner, now)
        ]
        unsent = repo.unsent_digests()
    counts["digests_claimed"] += len(claimed)
    counts["digest_no_owner"] += len(book.no_owner)
    if claimed and book.no_owner:
        log.warning(
            "alerts.digest_no_owner",
            day=book.day.isoformat(),
            leads=len(book.no_owner),
            sample=book.no_owner[:NO_OWNER_SAMPLE],
        )
    for record in unsent:
        if record.day > book.day:
            continue  # the clock went back: leave it for its own day
        ctx.stop_point(counts)
        if record.day < book.day:
            _cancel(ctx, record, f"its day passed unsent; the digest of {book.day} replaces it")
        elif not book.breaches.get(record.owner):
            _cancel(ctx, record, "no breach of the owner is open any more")
        else:
            _send(ctx, book, record, counts, describe)
            continue
        counts["digests_cancelled"] += 1


def _send(
    ctx: JobContext, book: DigestBook, record: DigestRecord, counts: JobCounts, describe: Describe
) -> None:
    assert ctx.mailer is not None
    alerts = ctx.config.alerts
    breaches = [describe(lead, status) for lead, status in book.breaches[record.owner]]
    address = book.addresses[record.owner]
    message = render_digest(
        None,
        address,
        breaches,
        sender=alerts.sender,
        language=alerts.language,
        tz=ctx.config.tz,
        day=record.day,
        now=ctx.clock(),
    )
    try:
        ctx.mailer.send(message)
    except MailError as exc:
        counts["digests_failed"] += 1
        log.warning(
            "alerts.digest_failed", owner=address, day=record.day.isoformat(), error=str(exc)
        )
        with ctx.store.transaction() as repo:
            repo.mark_digest_failed(record.day, record.owner, str(exc))
        return
    with ctx.store.transaction() as repo:
        repo.mark_digest_sent(record.day, record.owner, ctx.clock())
    counts["digests_sent"] += 1
    log.info(
        "alerts.digest_sent", owner=address, day=record.day.isoformat(), breaches=len(breaches)
    )


def _cancel(ctx: JobContext, record: DigestRecord, reason: str) -> None:
    with ctx.store.transaction() as repo:
        repo.cancel_digest(record.day, record.owner, reason)
    log.info(
        "alerts.digest_cancelled", owner=record.owner, day=record.day.isoformat(), reason=reason
    )
