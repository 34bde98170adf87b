"""What a Salesforce lead's existence and status say about the stage of the lead behind it.

Salesforce is where sales works, so a lead there has been handed to sales; its status says
what sales did (the Salesforce map reads only recycled, disqualified and converted; the open
statuses say nothing, SQL comes from BANT). On ingest the stored lead follows, through the
lifecycle's own moves (`sync.lifecycle.move`), each one recorded in the stage history:

1. handed off: a lead still at `lead` without a handoff time is moved to `mql` and handed
   off at the Salesforce lead's creation: it reached sales before leadloop knew it (the
   first load of an installation, or a lead sales entered by hand). It is linked, not handed
   to Salesforce again.
2. sales' stage: the shortest chain of allowed moves to the stage Salesforce shows, never
   through `mql` (that would start a new cycle), e.g. mql -> sql -> opportunity for a
   converted lead. A stage out of reach (a won lead marked recycled) is logged and left.
3. A lead leadloop re-qualified after sales last touched the Salesforce record keeps its
   new stage: the Salesforce status predates it and the handoff job will update it.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

import structlog

from mappings.model import Lead, Stage, StageChange
from sync.leads import hand_off
from sync.lifecycle import ALLOWED, NEEDS_REASON, move

log = structlog.get_logger()


def path_to(start: Stage, goal: Stage) -> list[Stage] | None:
    """The shortest chain of allowed moves from `start` to `goal` that does not pass through
    `mql`; [] when already there, None when there is none."""
    if start == goal:
        return []
    previous: dict[Stage, Stage] = {}
    queue: deque[Stage] = deque([start])
    while queue:
        stage = queue.popleft()
        for following in ALLOWED[stage]:
            if following == "mql" or following in previous or following == start:
                continue
            previous[following] = stage
            if following == goal:
                chain: list[Stage] = [goal]
                while previous[chain[-1]] != start:
                    chain.append(previous[chain[-1]])
                return list(reversed(chain))
            queue.append(following)
    return None


def follow_sales(
    lead: Lead,
    sales_stage: Stage | None,
    reason: str | None,
    *,
    handed_off_at: datetime,
    changed_at: datetime,
    record: str,
) -> tuple[Lead, list[StageChange]]:
    """The lead after following its Salesforce lead (`record`, created `handed_off_at`,
    last changed `changed_at`, showing `sales_stage`), and the moves that made."""
    changes: list[StageChange] = []
    if lead.stage == "lead" and lead.times.handed_off_at is None:
        lead, change = move(lead, "mql", handed_off_at, (f"in Salesforce as lead {record}",))
        lead = hand_off(lead, handed_off_at)
        changes.append(change)
    if sales_stage is None or sales_stage == lead.stage:
        return lead, changes
    mql_at = lead.times.mql_at
    if mql_at is not None and changed_at < mql_at:
        return lead, changes
    chain = path_to(lead.stage, sales_stage)
    if chain is None:
        log.warning(
            "ingest.stage_out_of_reach",
            lead=lead.key,
            stage=lead.stage,
            salesforce_stage=sales_stage,
            record=record,
        )
        return lead, changes
    for stage in chain:
        if stage in NEEDS_REASON:
            why = reason or f"{stage} in Salesforce"
        elif stage == "sql":
            why = "qualified by sales: converted in Salesforce"
        else:
            why = f"{stage} in Salesforce"
        lead, change = move(lead, stage, changed_at, (why,))
        changes.append(change)
    return lead, changes
