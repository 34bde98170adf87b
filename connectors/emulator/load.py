"""Load a seeded `Population` into the two emulated systems, as their history would be.

HubSpot gets every person as a contact created when they first converted, with their form
submissions, page views and e-mail events at the times they happened. The people marketing
once handed to sales (by the old rule: the first download or webinar form) are leads in
Salesforce, owned by a sales rep and linked by the HubSpot contact id, with the calls and
meetings logged, BANT and the four-axis assessment filled in, the status sales left them in,
and for the converted ones an opportunity, open, won or lost.

The Salesforce org stamps records with its clock, so loading moves the shared clock to each
event's time and puts it back at the end: load before the servers start serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.emulator._control import Clock
from connectors.emulator.hubspot import HubSpotState
from connectors.emulator.salesforce import SalesforceState
from connectors.emulator.seed import Person, Population, SalesHistory, SeedActivity

_EMPLOYEE_RANGES = ((5, "1-5"), (25, "5-25"), (50, "25-50"), (100, "50-100"), (500, "100-500"))
_STATUS = {
    "open": "Open - Not Contacted",
    "working": "Working - Contacted",
    "recycled": "Recycled",
    "disqualified": "Disqualified",
}


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a load created: HubSpot contact ids and Salesforce lead ids, by e-mail."""

    contacts: dict[str, str]
    leads: dict[str, str]
    sales_reps: dict[str, str]


def employee_range(employees: int) -> str:
    """HubSpot's `numemployees` option for a head count."""
    for upper, label in _EMPLOYEE_RANGES:
        if employees <= upper:
            return label
    return "500-1000" if employees <= 1000 else "1000+"


def load(population: Population, hubspot: HubSpotState, salesforce: SalesforceState) -> Loaded:
    """Write `population` into both systems; the shared clock ends where it started."""
    clock = salesforce.clock
    if hubspot.clock is not clock:
        raise ValueError("load the population into emulators that share one Clock")
    was, frozen = clock.now(), clock.frozen
    reps = {email: salesforce.add_user(name, email) for name, email in population.sales_reps}
    rep_ids = list(reps.values())
    contacts: dict[str, str] = {}
    leads: dict[str, str] = {}
    try:
        for person in population.people:
            contact_id = _load_contact(hubspot, person)
            contacts[person.email] = contact_id
            if person.sales is not None:
                leads[person.email] = _load_lead(
                    salesforce, clock, person, person.sales, contact_id, rep_ids
                )
    finally:
        clock.set(was, frozen=frozen)
    return Loaded(contacts, leads, reps)


def contact_properties(person: Person) -> dict[str, Any]:
    """The HubSpot contact properties of `person`, as an import sets them."""
    return {
        "email": person.email,
        "firstname": person.first_name,
        "lastname": person.last_name,
        "company": person.company,
        "jobtitle": person.title,
        "industry": person.industry,
        "numemployees": employee_range(person.employees),
        "country": person.country,
        "hs_analytics_source": person.source,
        "lifecyclestage": "lead",
    }


def add_activity(hubspot: HubSpotState, contact_id: str, activity: SeedActivity) -> None:
    """One marketing touchpoint of a contact, at its time: a form, a page view, an e-mail."""
    if activity.kind == "form":
        page = "https://www.example.co.jp/forms"
        hubspot.add_form_submission(contact_id, activity.name or "", page, activity.at)
    elif activity.kind == "page":
        hubspot.add_page_view(contact_id, activity.url or "/", activity.at)
    else:
        kind = {"email_open": "OPEN", "email_click": "CLICK", "unsubscribe": "UNSUBSCRIBED"}
        campaign = activity.campaign or "メールマガジン"
        event = kind[activity.kind]
        hubspot.add_email_event(contact_id, event, campaign, activity.at, activity.url)


def _load_contact(hubspot: HubSpotState, person: Person) -> str:
    contact_id = hubspot.add_contact(contact_properties(person), at=person.created_at)
    for activity in person.activities:
        add_activity(hubspot, contact_id, activity)
    if person.sales is not None:
        contact = hubspot.contacts[contact_id]
        handed_off = {"lifecyclestage": "marketingqualifiedlead"}
        hubspot.write(contact, handed_off, "INTEGRATION", person.sales.handed_off_at)
    return contact_id


def _load_lead(
    salesforce: SalesforceState,
    clock: Clock,
    person: Person,
    sales: SalesHistory,
    contact_id: str,
    rep_ids: list[str],
) -> str:
    def at(instant: datetime) -> None:
        clock.set(instant, frozen=True)

    at(sales.handed_off_at)
    lead_id = salesforce.create(
        "Lead",
        {
            "FirstName": person.first_name,
            "LastName": person.last_name,
            "Company": person.company,
            "Email": person.email,
            "Title": person.title,
            "Industry": person.industry,
            "NumberOfEmployees": person.employees,
            "Country": person.country,
            "LeadSource": person.source,
            "Campaign__c": person.campaign,
            "HubSpot_Contact_Id__c": contact_id,
            "OwnerId": rep_ids[sales.owner % len(rep_ids)],
        },
    )
    for kind, when in sales.touches:
        at(when)
        if kind == "call":
            salesforce.log_call(lead_id, when, "初回架電 (first call)")
        else:
            salesforce.log_meeting(lead_id, when, "商談 (meeting)")
    last = sales.touches[-1][1] if sales.touches else sales.handed_off_at
    at(last)
    if sales.bant is not None:
        budget, authority, need, timeline = sales.bant
        salesforce.set_fields(
            lead_id,
            {
                "BANT_Budget__c": budget,
                "BANT_Authority__c": authority,
                "BANT_Need__c": need,
                "BANT_Timeline__c": timeline,
                "Problem_Clarity__c": "clear" if need else "vague",
                "Solution_Understanding__c": "comparing",
                "Decision_Structure__c": "single" if authority else "consensus",
                "Purchase_Timeline__c": "this_term" if timeline else "next_term",
            },
        )
    if sales.status == "converted":
        opportunity = salesforce.convert_lead(lead_id, last)
        if sales.opportunity in ("won", "lost") and sales.closed_at is not None:
            at(sales.closed_at)
            salesforce.close_opportunity(
                opportunity, sales.opportunity == "won", sales.amount, sales.closed_at
            )
    elif sales.status != "open" or sales.touches:
        status = "working" if sales.status == "open" else sales.status
        fields: dict[str, object] = {"Status": _STATUS[status]}
        if sales.reason:
            fields["Recycle_Reason__c"] = sales.reason
        salesforce.set_fields(lead_id, fields)
    return lead_id
