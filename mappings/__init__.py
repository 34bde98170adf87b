"""The canonical lead model and the per-CRM field maps that translate to and from it.

- `mappings.model`: the canonical lead, pure data.
- `mappings.fieldmap`: `load_field_map(path)` and `FieldMap` (`to_values`, `to_lead`,
  `from_lead`, `resolve`, `required_crm_fields`); the shipped maps `hubspot.yaml` and
  `salesforce.yaml` (`DEFAULT_MAPS`, `load_default_field_map`).
- `mappings.activities`: `ActivityClassifier`, HubSpot form history and e-mail events as
  activities with stable dedupe keys.
- `mappings.exceptions`: `FieldMapError` (a bad map file), `RecordMappingError` (a record to
  quarantine).

Modules with a leading underscore are internal. Nothing here imports `sync`, `state` or
`connectors`, and nothing here does I/O beyond reading a map file.
"""
