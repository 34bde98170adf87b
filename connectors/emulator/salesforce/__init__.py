"""The Salesforce REST API emulator (v59.0 and later): see NOTES.md for what is emulated."""

from __future__ import annotations

from connectors.emulator.salesforce.app import build_salesforce_app
from connectors.emulator.salesforce.state import SalesforceState

__all__ = ["SalesforceState", "build_salesforce_app"]
