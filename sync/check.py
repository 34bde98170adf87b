"""`leadloop check`: whether a deployment can work, from the field maps up to the CRMs.

Offline, both field maps are loaded and checked (`load_field_map`). With `connect`, each
map's `required_crm_fields()` is compared with what its CRM offers: HubSpot's contact
property definitions, Salesforce's describe of the map's object (and of related objects for
names such as `Owner.Email`). Each problem is one `Finding`: the map's file, line and key,
what is wrong, and the fix. With `fix`, the HubSpot properties the map defines under
`custom_properties` and HubSpot lacks are created; Salesforce metadata is never changed
(the finding says what to do in Setup).

The findings and the loaded map are in `sync.check_findings`; the comparisons with each
CRM in `sync.check_hubspot` and `sync.check_salesforce`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mappings.exceptions import FieldMapError, MapProblem
from mappings.fieldmap import System, load_field_map
from mappings.yaml_lines import YamlError, load_yaml_with_lines
from sync.check_findings import Finding, LoadedMap, Report
from sync.check_hubspot import check_hubspot
from sync.check_salesforce import check_salesforce

__all__ = ["Finding", "Report", "check_deployment"]


def check_deployment(
    paths: Mapping[System, Path],
    *,
    connect: bool = False,
    fix: bool = False,
    env: Mapping[str, str] = os.environ,
) -> Report:
    """Check the field maps at `paths`; with `connect` (implied by `fix`) against the CRMs."""
    report = Report()
    maps = {system: _load(system, path, report) for system, path in paths.items()}
    if not (connect or fix):
        return report
    hubspot, salesforce = maps.get("hubspot"), maps.get("salesforce")
    if hubspot is not None:
        check_hubspot(hubspot, report, fix=fix, env=env)
    if salesforce is not None:
        check_salesforce(salesforce, report, env=env)
    return report


def _load(system: System, path: Path, report: Report) -> LoadedMap | None:
    try:
        field_map = load_field_map(path)
        _, lines = load_yaml_with_lines(path.read_text(encoding="utf-8"))
    except FieldMapError as exc:
        report.problems += [Finding(exc.file, problem) for problem in exc.problems]
        return None
    except (OSError, YamlError) as exc:  # changed since it was loaded a moment ago
        report.problems.append(Finding(path, MapProblem(None, "", f"cannot read: {exc}")))
        return None
    loaded = LoadedMap(path, field_map, lines)
    if field_map.system != system:
        report.problems.append(
            loaded.finding(
                ("system",),
                f"this is the {field_map.system} map, given as the {system} map",
                f"name a {system} map under field_maps.{system} in leadloop.yaml",
            )
        )
        return None
    count = len(field_map.fields)
    report.lines.append(f"{path}: ok ({count} fields of {system} {field_map.object})")
    return loaded
