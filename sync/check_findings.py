"""What `leadloop check` reports, and the map it points into.

`Finding`: one problem (a field map's file, line and key, or a connection), with its fix.
`Report`: the lines that passed, the HubSpot properties created, the findings.
`LoadedMap`: a field map with the line of each of its keys, so a finding about a CRM field
points at the line that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connectors.errors import ConnectorError, FatalError, RateLimitedError
from connectors.retry import Retry
from connectors.usage import ApiUsage
from mappings.exceptions import MapProblem
from mappings.fieldmap import CrmField, FieldMap

KeyPath = tuple[str | int, ...]
_URL_VARIABLES = {
    "HubSpot": "HUBSPOT_BASE_URL (default https://api.hubapi.com)",
    "Salesforce": "SALESFORCE_INSTANCE_URL (or https://SALESFORCE_DOMAIN.salesforce.com)",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: where (a map's file and line, or nothing for a connection), what, fix."""

    file: Path | None
    problem: MapProblem
    fix: str = ""

    def render(self) -> str:
        text = self.problem.render(self.file) if self.file else self.problem.message
        return f"{text}; fix: {self.fix}" if self.fix else text


@dataclass
class Report:
    """What `check_deployment` found: what passed or was done (one line each, in order), the
    HubSpot properties it created, and the problems."""

    lines: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class LoadedMap:
    """A loaded field map with the line of each key, to point findings at the file."""

    path: Path
    field_map: FieldMap
    lines: Mapping[KeyPath, int]

    def finding(self, key: KeyPath, message: str, fix: str) -> Finding:
        line = next(
            (self.lines[key[:n]] for n in range(len(key), 0, -1) if key[:n] in self.lines), None
        )
        return Finding(self.path, MapProblem(line, ".".join(map(str, key)), message), fix)

    def key(self, crm: CrmField, *tail: str) -> KeyPath:
        """Where the map first names `crm` (its `field:` key, or `tail` beside it)."""
        path = next(f.path for f in self.field_map.fields if f.crm_field == crm.name)
        return (*path, *(tail or ("field",)))

    def truncate_key(self, crm: CrmField) -> KeyPath:
        for mapped in self.field_map.fields:
            for index, step in enumerate(mapped.spec.transform):
                if mapped.crm_field == crm.name and step.truncate == crm.length:
                    return (*mapped.path, "transform", index)
        return self.key(crm)

    def value_key(self, crm: CrmField, value: str) -> KeyPath:
        """Where the map makes `crm` take `value`: its value_map entry or its bands."""
        for mapped in self.field_map.fields:
            if mapped.crm_field != crm.name or not mapped.writes:
                continue
            for index, step in enumerate(mapped.spec.transform):
                here = (*mapped.path, "transform", index)
                if step.bands is not None and value in step.bands:
                    return (*here, "bands")
                for source, target in (step.value_map or {}).items():
                    if scalar_text(target) == value:
                        return (*here, "value_map", scalar_text(source))
        return self.key(crm)


def quick_retry() -> Retry:
    """A person is waiting: a few quick retries, not the daemon's patience."""
    return Retry(ApiUsage(), attempts=3, max_backoff=2.0, max_total=20.0)


def unreachable(exc: ConnectorError) -> Finding:
    """The finding for a CRM that could not be asked: what it answered and what to do."""
    parts = " ".join(p for p in (str(exc.status) if exc.status else None, exc.code) if p)
    where = f" ({parts})" if parts else ""
    if isinstance(exc, FatalError):
        fix = exc.fix
    elif isinstance(exc, RateLimitedError):
        fix = f"{exc.system}'s rate limit is spent for now; run the check again later"
    else:
        fix = (
            f"check that {exc.system} can be reached at {_URL_VARIABLES.get(exc.system, 'its URL')}"
            " (network, proxy, the service's status), then run the check again"
        )
    return Finding(None, MapProblem(None, "", f"{exc.system}{where}: {exc.message}"), fix)


def scalar_text(value: object) -> str:
    """A value map key or value as the YAML wrote it (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
