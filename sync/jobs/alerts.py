"""The alerts job: e-mail the owner of a neglected lead, then the escalation list.

Every lead still owed a follow-up (stage `mql` or `sql`) is checked against each SLA of
`leadloop.yaml` on the business calendar (`sync.sla.SlaRules`). A breach at level 1 is
for the lead's owner (the Salesforce owner's e-mail; the escalation list when the lead has
none); level 2 (`escalate_after` more) is for `alerts.escalate_to` (the owner when the list
is empty). Each (lead, SLA, SLA start, level) is claimed in the store and committed before
its e-mail is sent (`state.alerts`), so it is sent once across runs and restarts; a send
that fails stays claimed and is retried on the next run, oldest first. The only duplicate
possible is the resend of an e-mail in flight when the process died.

Once a business day, from `alerts.digest_at`, each owner also gets one digest of their open
breaches (`sync.jobs.digest`), collected in the same pass over the leads. Every e-mail links
to the lead's Salesforce record and to its HubSpot contact (`HubSpotConnector.portal`; the
link is left out while the account's portal id is unknown).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import partial

import structlog

from mappings.model import Lead, Stage
from state import AlertClaim, AlertRecord, Repository
from sync.jobs.context import JobContext, JobCounts
from sync.jobs.digest import DigestBook, open_book, send_digests
from sync.mail import AlertLead, Breach, MailError, render_alert
from sync.sla import SlaStatus

WATCHED_STAGES: tuple[Stage, ...] = ("mql", "sql")
PAGE = 500
log = structlog.get_logger()


def run_alerts(ctx: JobContext) -> JobCounts:
    """Claim the new breaches, then send every claimed alert not sent yet."""
    counts: JobCounts = Counter()
    if ctx.mailer is None or not ctx.config.alerts.enabled:
        counts["disabled"] = 1
        return counts
    now = ctx.clock()
    oldest: datetime | None = None
    with ctx.store.transaction() as repo:
        book = open_book(ctx, repo, now)
        for stage in WATCHED_STAGES:
            page: list[Lead] = []
            for lead in repo.leads(stage):
                page.append(lead)
                if len(page) == PAGE:
                    oldest = _claim_page(ctx, repo, page, now, counts, oldest, book)
                    page = []
            oldest = _claim_page(ctx, repo, page, now, counts, oldest, book)
    counts["oldest_breach_seconds"] = int((now - oldest).total_seconds()) if oldest else 0
    with ctx.store.transaction() as repo:
        pending = repo.pending_alerts()
    for record in pending:
        ctx.stop_point(counts)  # the claims and the sends before are committed
        _send(ctx, record, counts)
    if book is not None:
        send_digests(ctx, book, counts, partial(_breach, ctx))
    return counts


def _claim_page(
    ctx: JobContext,
    repo: Repository,
    page: list[Lead],
    now: datetime,
    counts: JobCounts,
    oldest: datetime | None,
    book: DigestBook | None,
) -> datetime | None:
    if not page:
        return oldest
    keys = (lead.key for lead in page)
    histories = repo.activities_for_many(keys, kinds=ctx.slas.touch_kinds)
    claims: list[AlertClaim] = []
    for lead in page:
        for status in ctx.slas.evaluate(lead, histories[lead.key], now):
            if not status.watched or status.level == 0:
                continue
            counts["breaches_open"] += 1
            if oldest is None or status.deadline < oldest:
                oldest = status.deadline
            if book is not None:
                book.collect(lead, status)
            for level in range(1, status.level + 1):
                to = recipients(ctx, lead, level)
                if not to:
                    counts["no_recipient"] += 1
                    log.warning(
                        "alerts.no_recipient", lead=lead.key, sla=status.sla, alert_level=level
                    )
                    continue
                claims.append(
                    AlertClaim(lead.key, status.sla, status.started_at, level, ", ".join(to))
                )
    counts["alerts_claimed"] += repo.claim_alerts(claims, now)
    return oldest


def recipients(ctx: JobContext, lead: Lead, level: int) -> list[str]:
    """Who is told about a breach of `lead` at `level`."""
    owner = [lead.fit.owner] if lead.fit.owner else []
    escalation = list(ctx.config.alerts.escalate_to)
    if level == 1:
        return owner or escalation
    return escalation or owner


def _send(ctx: JobContext, record: AlertRecord, counts: JobCounts) -> None:
    assert ctx.mailer is not None
    with ctx.store.transaction() as repo:
        lead = repo.get_lead(record.lead_key)
        activities = repo.activities_for(record.lead_key) if lead else []
    status = None
    if lead is not None:
        status = next(
            (
                s
                for s in ctx.slas.evaluate(lead, activities, ctx.clock())
                if s.sla == record.sla and s.started_at == record.sla_started_at
            ),
            None,
        )
    if lead is None or status is None:
        log.warning("alerts.lead_gone", lead=record.lead_key, sla=record.sla)
        with ctx.store.transaction() as repo:
            repo.mark_alert_sent(
                record.lead_key, record.sla, record.sla_started_at, record.level, ctx.clock()
            )
        return
    key = f"{record.lead_key}/{record.sla}/{record.sla_started_at.isoformat()}/{record.level}"
    alerts = ctx.config.alerts
    message = render_alert(
        _breach(ctx, lead, status, record.level),
        alert_key=key,
        to=[address.strip() for address in record.recipient.split(",")],
        sender=alerts.sender,
        language=alerts.language,
        tz=ctx.config.tz,
        now=ctx.clock(),
    )
    try:
        ctx.mailer.send(message)
    except MailError as exc:
        counts["alerts_failed"] += 1
        log.warning("alerts.send_failed", lead=lead.key, sla=record.sla, error=str(exc))
        with ctx.store.transaction() as repo:
            repo.mark_alert_failed(
                record.lead_key, record.sla, record.sla_started_at, record.level, str(exc)
            )
        return
    with ctx.store.transaction() as repo:
        repo.mark_alert_sent(
            record.lead_key, record.sla, record.sla_started_at, record.level, ctx.clock()
        )
    counts["alerts_sent"] += 1
    log.info(
        "alerts.sent",
        lead=lead.key,
        sla=record.sla,
        alert_level=record.level,
        overdue_business_hours=status.overdue_business_hours,
    )


def _breach(ctx: JobContext, lead: Lead, status: SlaStatus, level: int | None = None) -> Breach:
    """The breach as the e-mails show it, at `level` (default: the status's own)."""
    name = " ".join(p for p in (lead.last_name, lead.first_name) if p) or lead.email or lead.key
    links = ctx.maps.hubspot.from_lead(lead, only=["salesforce_url"]).values()
    link = next(iter(links), None)
    portal = ctx.hubspot.portal() if lead.hubspot_id else None
    handed = lead.times.handed_off_at or lead.times.mql_at or status.started_at
    return Breach(
        lead=AlertLead(
            name=name,
            company=lead.fit.company,
            email=lead.email,
            score=lead.score.total,
            reasons=lead.score.reasons,
            handed_off_at=handed,
            salesforce_url=str(link) if link and lead.salesforce_id else None,
            hubspot_url=portal.contact_url(lead.hubspot_id) if portal and lead.hubspot_id else None,
            owner_email=lead.fit.owner,
        ),
        sla=status.sla,
        level=1 if (level or status.level) == 1 else 2,
        deadline=status.deadline,
        overdue_business_hours=status.overdue_business_hours,
    )
