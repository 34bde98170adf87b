"""An emulator of the HubSpot APIs leadloop uses: CRM v3 contacts, properties, e-mail events.

`HubSpotState` is the account (contacts, history, definitions, events, rate limits);
`build_hubspot_app(state, control)` serves it as an ASGI app for `ServerThread`. See NOTES.md.
"""

from connectors.emulator.hubspot.app import build_hubspot_app
from connectors.emulator.hubspot.state import DEFAULT_TOKEN, HubSpotState

__all__ = ["DEFAULT_TOKEN", "HubSpotState", "build_hubspot_app"]
