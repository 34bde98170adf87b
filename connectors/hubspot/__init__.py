"""The HubSpot connector: contacts, contact properties and e-mail events over the official SDK.

Raw records in, raw records out (dicts keyed by HubSpot's own names); paged and batched at
the API maximums, paced under the rate limits, retried, and every failure sorted by
`classify` into the shared `connectors.errors` types.
"""

from connectors.hubspot.account import HubSpotPortal
from connectors.hubspot.client import HubSpotConnector
from connectors.hubspot.errors import HubSpotRecordError, PropertyProblem, classify
from connectors.hubspot.ratelimit import Pacer
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.writes import WriteOutcome

__all__ = [
    "HubSpotConnector",
    "HubSpotPortal",
    "HubSpotRecordError",
    "HubSpotSettings",
    "Pacer",
    "PropertyProblem",
    "WriteOutcome",
    "classify",
]
