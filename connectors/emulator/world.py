"""The weeks after the seed: marketing activity goes on and a sales team works its leads.

`leadloop demo` needs a world that moves while leadloop runs against it. `LiveWorld` plays it
on the emulators' shared clock, one `advance(now)` at a time:

- marketing: new people arrive and convert (forms, page views, e-mail opens and clicks, the
  odd unsubscribe), and some people already known come back (a webinar, the pricing page);
- sales: a lead that appears in Salesforce is given an owner at once, as an assignment rule
  would, and then worked the way real reps work, on Japanese business days (no weekends, no
  national holidays, 09:00-18:00 JST): most are called within a day or two, some late, some
  never; after the call sales confirm BANT and record what they observed on the four axes,
  recycle with a reason, disqualify, or just keep working; qualified leads get a meeting
  (usually within 48 hours), some are converted and their opportunity is won or lost; now
  and then a lead sales is working asks for a demo.

Everything is decided by `seed` and the lead's HubSpot contact id, so the same seed plays
the same two weeks. Leads that were in Salesforce before `start` keep their own history.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays

from connectors.emulator.load import Loaded, add_activity, contact_properties
from connectors.emulator.runtime import Emulators
from connectors.emulator.seed import (
    FORMS,
    LOSS_REASONS,
    RECYCLE_REASONS,
    Person,
    SeedActivity,
    generate,
)

JST = ZoneInfo("Asia/Tokyo")
OPENS, CLOSES = time(9), time(18)
HUBSPOT_ID_FIELD = "HubSpot_Contact_Id__c"
AXES = {
    "Problem_Clarity__c": ("clear", "vague", "unorganized"),
    "Solution_Understanding__c": ("concrete", "comparing", "not_understood"),
    "Decision_Structure__c": ("single", "consensus", "unknown"),
    "Purchase_Timeline__c": ("this_term", "next_term", "undecided"),
}
SalesAction = Literal[
    "call", "qualify", "meeting", "convert", "close", "recycle", "disqualify", "work"
]


@dataclass(order=True, frozen=True, slots=True)
class Planned:
    """One thing a rep will do to one lead at `at`."""

    at: datetime
    lead_id: str
    action: SalesAction
    detail: tuple[Any, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Happened:
    """Something the world did, for the demo's log: when, who (contact id), what."""

    at: datetime
    contact_id: str
    what: str


@dataclass
class LiveWorld:
    """Marketing and sales in motion on a running pair of emulators (see the module doc)."""

    world: Emulators
    start: datetime
    days: int = 14
    seed: int = 1
    new_people: int = 0
    """People who first convert during the weeks played; default: a third of the seeded."""
    _people: list[Person] = field(default_factory=list, repr=False)
    _activities: list[tuple[datetime, int, str, SeedActivity]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _added: dict[str, str] = field(default_factory=dict, repr=False)
    _plans: list[Planned] = field(default_factory=list, repr=False)
    _known_leads: set[str] = field(default_factory=set, repr=False)
    _reps: list[str] = field(default_factory=list, repr=False)
    _next_rep: int = 0
    _calendar: holidays.HolidayBase = field(default_factory=lambda: holidays.country_holidays("JP"))

    def __post_init__(self) -> None:
        seeded = self.world.seeded or Loaded({}, {}, {})
        self._reps = list(seeded.sales_reps.values()) or [
            self.world.salesforce.add_user("営業 太郎", "sales@example.co.jp")
        ]
        self._known_leads = {row["Id"] for row in self.world.salesforce.rows("Lead")}
        end = self.start + timedelta(days=self.days)
        count = self.new_people or max(len(seeded.contacts) // 3, 10)
        weeks = max(1, -(-self.days // 7))
        population = generate(count, self.seed + 7919, self.start + timedelta(weeks=weeks), weeks)
        rng = random.Random(self.seed)
        for n, person in enumerate(population.people):
            if person.created_at < end:
                person = _renamed(person, f"live{n}")
                self._people.append(person)
                for activity in person.activities:
                    self._later(person.email, activity)
        for email, contact_id in sorted(seeded.contacts.items()):
            if rng.random() < 0.12:  # someone known comes back
                at = self.start + timedelta(seconds=rng.randrange(self.days * 86400))
                kind = rng.choice(("webinar_attended", "content_download", "pricing"))
                activity = (
                    SeedActivity("page", at, url="https://www.example.co.jp/pricing")
                    if kind == "pricing"
                    else SeedActivity("form", at, name=rng.choice(FORMS[kind]))
                )
                self._later(email, activity)
                self._added[email] = contact_id
        self._people.sort(key=lambda person: person.created_at, reverse=True)

    # -- the clock moves --------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Happened]:
        """Play everything due by `now`: new people and their activity, then sales' work."""
        happened: list[Happened] = []
        while self._people and self._people[-1].created_at <= now:
            person = self._people.pop()
            self._added[person.email] = self._add_person(person)
        while self._activities and self._activities[0][0] <= now:
            _, _, email, activity = heapq.heappop(self._activities)
            contact_id = self._added.get(email)
            if contact_id is not None:
                self._add_activity(contact_id, activity)
        while self._plans and self._plans[0].at <= now:
            plan = heapq.heappop(self._plans)
            happened.extend(self._act(plan))
        return happened

    def assign_new_leads(self, now: datetime) -> list[Happened]:
        """Give each lead that appeared in Salesforce an owner and a plan (an assignment
        rule and a rep's intentions)."""
        happened: list[Happened] = []
        salesforce = self.world.salesforce
        for row in salesforce.rows("Lead"):
            if row["Id"] in self._known_leads:
                continue
            self._known_leads.add(row["Id"])
            contact_id = str(row.get(HUBSPOT_ID_FIELD) or "")
            owner = self._reps[self._next_rep % len(self._reps)]
            self._next_rep += 1
            salesforce.set_fields(row["Id"], {"OwnerId": owner})
            self._plan(row["Id"], contact_id, now)
            happened.append(Happened(now, contact_id, "assigned"))
        return happened

    # -- marketing --------------------------------------------------------------------------

    def _later(self, email: str, activity: SeedActivity) -> None:
        heapq.heappush(self._activities, (activity.at, next(self._order), email, activity))

    def _add_person(self, person: Person) -> str:
        return self.world.hubspot.add_contact(contact_properties(person), at=person.created_at)

    def _add_activity(self, contact_id: str, activity: SeedActivity) -> None:
        add_activity(self.world.hubspot, contact_id, activity)

    # -- sales ------------------------------------------------------------------------------

    def _plan(self, lead_id: str, contact_id: str, now: datetime) -> None:
        rng = random.Random(f"{self.seed}:{contact_id or lead_id}")
        roll = rng.random()
        if roll < 0.10:
            return  # neglected: nobody ever calls
        late = roll < 0.22
        hours = rng.uniform(28, 40) if late else rng.choice((0.5, 1, 2, 4, 6, 9, 14))
        called = self.business_after(now, hours)
        self._will(Planned(called, lead_id, "call"))
        outcome = rng.random()
        if outcome < 0.32:
            qualified = self.business_after(called, rng.uniform(1, 6))
            bant = [True, True, True, rng.random() < 0.6]
            rng.shuffle(bant)
            axes = {name: rng.choice(values) for name, values in AXES.items()}
            self._will(Planned(qualified, lead_id, "qualify", (tuple(bant), axes)))
            if rng.random() < 0.8:  # the follow-up meeting, usually within the 48 hours
                met = qualified + timedelta(hours=rng.uniform(4, 40))
                heapq.heappush(
                    self._plans, Planned(self.business_after(met, 0), lead_id, "meeting")
                )
                if rng.random() < 0.5:
                    converted = self.business_after(met, rng.uniform(2, 12))
                    self._will(Planned(converted, lead_id, "convert"))
                    if rng.random() < 0.6:
                        won = rng.random() < 0.55
                        amount = rng.choice((600_000, 1_200_000, 2_400_000, 4_800_000))
                        closed = self.business_after(converted, rng.uniform(9, 30))
                        detail = (won, amount, None if won else rng.choice(LOSS_REASONS))
                        self._will(Planned(closed, lead_id, "close", detail))
        elif outcome < 0.52:
            reason = rng.choice(RECYCLE_REASONS)
            at = self.business_after(called, rng.uniform(0.5, 4))
            self._will(Planned(at, lead_id, "recycle", (reason,)))
        elif outcome < 0.60:
            at = self.business_after(called, rng.uniform(0.5, 4))
            self._will(Planned(at, lead_id, "disqualify", ("対象外 (not a fit)",)))
        else:
            self._will(Planned(called, lead_id, "work"))
            if rng.random() < 0.3 and contact_id:  # then asks for a demo
                asked = self.business_after(called, rng.uniform(4, 30))
                form = rng.choice(FORMS["demo_request"] + FORMS["quote_request"])
                self._later(self._email_of(contact_id), SeedActivity("form", asked, name=form))

    def _will(self, plan: Planned) -> None:
        heapq.heappush(self._plans, plan)

    def _email_of(self, contact_id: str) -> str:
        email = str(self.world.hubspot.contacts[contact_id].properties.get("email", ""))
        self._added.setdefault(email, contact_id)
        return email

    def _act(self, plan: Planned) -> list[Happened]:
        salesforce = self.world.salesforce
        lead = salesforce.find(plan.lead_id)
        if lead is None or lead.get("IsDeleted"):
            return []
        contact_id = str(lead.get(HUBSPOT_ID_FIELD) or "")
        if lead.get("IsConverted") and plan.action not in ("close",):
            return []
        if plan.action == "call":
            salesforce.log_call(plan.lead_id, plan.at, "初回架電 (first call)")
        elif plan.action == "work":
            salesforce.set_fields(plan.lead_id, {"Status": "Working - Contacted"})
        elif plan.action == "qualify":
            (budget, authority, need, timeline), axes = plan.detail
            salesforce.set_fields(
                plan.lead_id,
                {
                    "Status": "Working - Contacted",
                    "BANT_Budget__c": budget,
                    "BANT_Authority__c": authority,
                    "BANT_Need__c": need,
                    "BANT_Timeline__c": timeline,
                    **axes,
                },
            )
        elif plan.action == "meeting":
            salesforce.log_meeting(plan.lead_id, plan.at, "商談 (meeting)")
        elif plan.action == "convert":
            salesforce.convert_lead(plan.lead_id, plan.at)
        elif plan.action == "close":
            won, amount, _ = plan.detail
            opportunity = lead.get("ConvertedOpportunityId")
            if not opportunity:
                return []
            salesforce.close_opportunity(str(opportunity), won, amount, plan.at)
        elif plan.action == "recycle":
            salesforce.set_fields(
                plan.lead_id, {"Status": "Recycled", "Recycle_Reason__c": plan.detail[0]}
            )
        elif plan.action == "disqualify":
            salesforce.set_fields(
                plan.lead_id, {"Status": "Disqualified", "Recycle_Reason__c": plan.detail[0]}
            )
        return [Happened(plan.at, contact_id, plan.action)]

    # -- the business calendar reps keep ----------------------------------------------------

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._calendar

    def business_after(self, start: datetime, hours: float) -> datetime:
        """`hours` of business time after `start` (JST, 09:00-18:00 on business days)."""
        local = start.astimezone(JST)
        remaining = timedelta(hours=hours)
        while True:
            day = local.date()
            opens = datetime.combine(day, OPENS, JST)
            closes = datetime.combine(day, CLOSES, JST)
            if not self.is_business_day(day) or local >= closes:
                local = datetime.combine(day + timedelta(days=1), OPENS, JST)
                continue
            local = max(local, opens)
            if local + remaining <= closes:
                return (local + remaining).astimezone(start.tzinfo)
            remaining -= closes - local
            local = datetime.combine(day + timedelta(days=1), OPENS, JST)


def _renamed(person: Person, suffix: str) -> Person:
    """`person` with an e-mail of their own, and no sales history: sales is played live."""
    name, _, domain = person.email.partition("@")
    return replace(person, email=f"{name}.{suffix}@{domain}", sales=None)


__all__ = ["Happened", "LiveWorld", "Planned"]
