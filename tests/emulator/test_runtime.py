"""Both emulators together: one clock, the admin API on both, the seed in both systems."""

from __future__ import annotations

from datetime import datetime, timedelta

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce, SalesforceLogin

from connectors.emulator.runtime import Emulators
from tests.conftest import WORLD_START


def _session(world: Emulators) -> requests.Session:
    session = requests.Session()
    session.verify = str(world.ca_bundle)
    session.trust_env = False
    return session


def _salesforce(world: Emulators) -> Salesforce:
    return Salesforce(
        instance_url=world.salesforce_url,
        session_id=world.salesforce_session_id,
        session=_session(world),
        version="59.0",
    )


class TestRunningTogether:
    def test_both_sdks_reach_their_emulator_with_the_reported_credentials(
        self, emulators: Emulators
    ) -> None:
        """The info line's URL, token, session id and CA bundle are all a client needs."""
        info = emulators.info()
        hubspot = HubSpot(
            access_token=info["hubspot_token"],
            host=info["hubspot_url"],
            base_url=info["hubspot_url"],
        )
        assert hubspot.crm.contacts.basic_api.get_page(limit=1).results == []
        assert _salesforce(emulators).query("SELECT Id FROM Lead")["totalSize"] == 0

    def test_username_password_and_token_log_in(self, emulators: Emulators) -> None:
        """The SOAP login accepts the reported username, password and security token."""
        info = emulators.info()
        session_id, instance = SalesforceLogin(
            username=info["salesforce_username"],
            password=info["salesforce_password"],
            security_token=info["salesforce_security_token"],
            scratch_url=info["salesforce_url"],
            session=_session(emulators),
        )
        assert session_id and instance == info["salesforce_url"].removeprefix("https://")

    def test_one_clock_moved_through_the_admin_api_moves_both(self, emulators: Emulators) -> None:
        """Advancing the clock on the admin URL stamps Salesforce writes with the new time."""
        answer = requests.post(f"{emulators.admin_url}/clock", json={"advance_seconds": 86400})
        assert answer.json()["now"] == (WORLD_START + timedelta(days=1)).isoformat()
        from_salesforce = _session(emulators).get(f"{emulators.salesforce_url}/__emulator/clock")
        assert from_salesforce.json() == answer.json()
        lead = _salesforce(emulators).Lead.create({"LastName": "佐藤", "Company": "東和製作所"})
        record = emulators.salesforce.get("Lead", lead["id"])
        assert record["CreatedDate"] == WORLD_START + timedelta(days=1)

    def test_counters_and_faults_per_service_over_the_admin_api(self, emulators: Emulators) -> None:
        """A fault set for Salesforce answers there once; counters tell the services apart."""
        fault = {"route": "GET /services/data/{version}/query", "status": 503, "body": "down"}
        requests.post(f"{emulators.admin_url}/salesforce/faults", json=fault)
        session = _session(emulators)
        headers = {"Authorization": f"Bearer {emulators.salesforce_session_id}"}
        url = f"{emulators.salesforce_url}/services/data/v59.0/query?q=SELECT+Id+FROM+Lead"
        assert session.get(url, headers=headers).status_code == 503
        assert session.get(url, headers=headers).status_code == 200
        counters = requests.get(f"{emulators.admin_url}/salesforce/counters").json()
        assert counters == {"GET /services/data/{version}/query": 2}
        assert emulators.counters()["hubspot"] == {}


class TestDemoWorld:
    def test_every_person_is_a_contact_and_the_handed_over_are_leads(
        self, demo_world: Emulators
    ) -> None:
        """300 contacts; each Salesforce lead names its HubSpot contact and a sales rep."""
        seeded = demo_world.seeded
        assert seeded is not None
        assert len(demo_world.hubspot.contacts) == len(seeded.contacts) == 300
        assert 30 < len(seeded.leads) < 150
        reps = set(seeded.sales_reps.values())
        for email, lead_id in seeded.leads.items():
            lead = demo_world.salesforce.get("Lead", lead_id)
            assert lead["HubSpot_Contact_Id__c"] == seeded.contacts[email]
            assert lead["Email"] == email and lead["OwnerId"] in reps

    def test_sales_history_is_in_salesforce(self, demo_world: Emulators) -> None:
        """Calls and meetings logged, statuses set, some converted with won and lost deals."""
        sf = _salesforce(demo_world)
        calls = sf.query("SELECT COUNT() FROM Task WHERE Type = 'Call'")["totalSize"]
        statuses = {r["Status"] for r in sf.query_all("SELECT Status FROM Lead")["records"]}
        stages = {
            r["StageName"] for r in sf.query_all("SELECT StageName FROM Opportunity")["records"]
        }
        assert calls > 0
        assert {"Open - Not Contacted", "Working - Contacted", "Closed - Converted"} <= statuses
        assert "Recycled" in statuses
        assert {"Closed Won", "Closed Lost"} <= stages

    def test_marketing_history_carries_its_own_timestamps(self, demo_world: Emulators) -> None:
        """Form submissions are in the property history at the time they happened."""
        seeded = demo_world.seeded
        assert seeded is not None
        with_forms = [
            demo_world.hubspot.contact_view(contact_id)
            for contact_id in list(seeded.contacts.values())[:100]
        ]
        submitted = [view for view in with_forms if view["formSubmissions"]]
        assert submitted
        for view in submitted:
            history = view["propertiesWithHistory"]["recent_conversion_event_name"]
            times = [datetime.fromisoformat(entry["timestamp"]) for entry in history]
            assert all(at <= WORLD_START for at in times)

    def test_the_clock_is_back_where_it_started_after_loading(self, demo_world: Emulators) -> None:
        assert demo_world.clock.now() == WORLD_START
        assert demo_world.clock.frozen
