"""The Salesforce connector over simple-salesforce: raw records in and out, paged and
batched at the API's maximums, retried, classified, counted, within a daily API budget."""

from connectors.salesforce.budget import BudgetSpentError, BudgetStatus
from connectors.salesforce.client import SalesforceConnector
from connectors.salesforce.errors import SessionExpiredError, classify
from connectors.salesforce.settings import AuthMode, SalesforceSettings
from connectors.salesforce.writes import WriteOutcome, Written

__all__ = [
    "AuthMode",
    "BudgetSpentError",
    "BudgetStatus",
    "SalesforceConnector",
    "SalesforceSettings",
    "SessionExpiredError",
    "WriteOutcome",
    "Written",
    "classify",
]
