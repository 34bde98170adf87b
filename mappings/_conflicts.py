"""The five conflict rules: which value a field ends up with when HubSpot and Salesforce differ.

`ma` is marketing automation (HubSpot), `sfa` is sales force automation (Salesforce). A rule
belongs to a field of one map, and answers the question "what should this map's CRM hold?":

| rule               | the value                                                            |
|--------------------|----------------------------------------------------------------------|
| `ma_wins`          | HubSpot's, even when blank (emptying it in HubSpot empties it here)   |
| `sfa_wins`         | Salesforce's, even when blank                                        |
| `sfa_unless_blank` | Salesforce's, unless it is blank: then HubSpot's                     |
| `newest_wins`      | the one changed last; an unknown change time counts as oldest, and a |
|                    | tie goes to Salesforce (sales saw the lead last)                     |
| `never`            | this CRM's own value is never overwritten; only a blank is filled    |

Blank is no value, text of only spaces, or no score reasons. The rules match the choices of
HubSpot's own Salesforce integration ("Always use Salesforce", "Prefer Salesforce unless
blank", "Two-way", "Don't overwrite").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mappings._schema import ConflictRule, System


def is_blank(value: Any) -> bool:
    """No value: None, text of only spaces, or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, tuple | list | dict | set | frozenset):
        return not value
    return False


def resolve_conflict(
    rule: ConflictRule,
    *,
    own: System,
    ma_value: Any,
    sfa_value: Any,
    ma_changed_at: datetime | None,
    sfa_changed_at: datetime | None,
) -> Any:
    """The value the `own` CRM should hold under `rule` (see the module's table)."""
    if rule == "ma_wins":
        return ma_value
    if rule == "sfa_wins":
        return sfa_value
    if rule == "sfa_unless_blank":
        return ma_value if is_blank(sfa_value) else sfa_value
    if rule == "newest_wins":
        if ma_changed_at is not None and (sfa_changed_at is None or ma_changed_at > sfa_changed_at):
            return ma_value
        return sfa_value
    mine, theirs = (ma_value, sfa_value) if own == "hubspot" else (sfa_value, ma_value)
    return theirs if is_blank(mine) else mine
