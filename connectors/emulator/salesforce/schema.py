"""The emulated org's metadata: sObjects and their fields, as `describe` reports them.

Field types follow the REST describe `type` values (id, string, email, picklist, double, int,
boolean, date, datetime, textarea, reference, currency). Restricted picklists reject unknown
values with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, as a restricted picklist does in a real org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEY_PREFIXES = {
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "Opportunity": "006",
    "User": "005",
    "LeadStatus": "01J",
}

# leadloop's own statuses: "Recycled" (handed back to marketing) and "Disqualified".
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
    "Recycled",
    "Disqualified",
]
CONVERTED_STATUS = "Closed - Converted"


@dataclass(frozen=True)
class Picklist:
    value: str
    label: str
    default: bool = False


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with the attributes describe reports and writes check."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    picklist: tuple[Picklist, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    defaulted_on_create: bool = False

    def describe(self) -> dict[str, Any]:
        precision, scale, digits = 0, 0, 0
        if self.type in ("double", "currency"):
            precision, scale = 18, 2 if self.type == "currency" else 0
        if self.type == "int":
            digits = 8
        return {
            "name": self.name,
            "label": self.label or self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "soapType": _SOAP_TYPES[self.type],
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": precision,
            "scale": scale,
            "digits": digits,
            "custom": self.custom,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.name == "Id" or self.external_id,
            "filterable": self.type != "textarea" or self.length <= 255,
            "sortable": self.type != "textarea" or self.length <= 255,
            "calculated": False,
            "caseSensitive": False,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {
                    "value": p.value,
                    "label": p.label,
                    "active": True,
                    "defaultValue": p.default,
                    "validFor": None,
                }
                for p in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "extraTypeInfo": "plaintextarea" if self.type == "textarea" else None,
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "picklist": "xsd:string",
    "textarea": "xsd:string",
    "double": "xsd:double",
    "currency": "xsd:double",
    "int": "xsd:int",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass
class ObjectDef:
    name: str
    label: str
    fields: dict[str, FieldDef] = field(default_factory=dict)

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, case-insensitively, as SOQL and the REST API match names."""
        found = self.fields.get(name)
        if found is not None:
            return found
        return _LOWER[self.name].get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.name != "LeadStatus",
            "updateable": self.name != "LeadStatus",
            "deletable": self.name not in ("LeadStatus", "User"),
            "queryable": True,
            "searchable": True,
            "fields": [f.describe() for f in self.fields.values()],
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }


def _pick(*pairs: tuple[str, str]) -> tuple[Picklist, ...]:
    return tuple(Picklist(value, label) for value, label in pairs)


def _system(*, owner: bool = True) -> list[FieldDef]:
    out = [
        FieldDef(
            "Id",
            "id",
            "Record ID",
            18,
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        FieldDef(
            "IsDeleted",
            "boolean",
            "Deleted",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        FieldDef(
            "CreatedDate",
            "datetime",
            "Created Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        FieldDef(
            "LastModifiedDate",
            "datetime",
            "Last Modified Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        FieldDef(
            "SystemModstamp",
            "datetime",
            "System Modstamp",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
    ]
    if owner:
        out.append(
            FieldDef(
                "OwnerId",
                "reference",
                "Owner ID",
                18,
                nillable=False,
                reference_to=("User",),
                relationship_name="Owner",
                defaulted_on_create=True,
            )
        )
    return out


def _lead() -> list[FieldDef]:
    return [
        *_system(),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        FieldDef("Name", "string", "Full Name", 121, createable=False, updateable=False),
        FieldDef("Company", "string", "Company", 255, nillable=False),
        FieldDef("Email", "email", "Email", 80),
        FieldDef("Phone", "phone", "Phone", 40),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("Industry", "string", "Industry", 255),
        FieldDef("NumberOfEmployees", "int", "Employees"),
        FieldDef("Country", "string", "Country", 80),
        FieldDef("LeadSource", "string", "Lead Source", 255),
        FieldDef(
            "Status",
            "picklist",
            "Status",
            255,
            nillable=False,
            restricted=True,
            defaulted_on_create=True,
            picklist=tuple(Picklist(s, s, s == LEAD_STATUSES[0]) for s in LEAD_STATUSES),
        ),
        FieldDef(
            "IsConverted",
            "boolean",
            "Converted",
            nillable=False,
            createable=False,
            updateable=False,
        ),
        FieldDef("ConvertedDate", "date", "Converted Date", createable=False, updateable=False),
        FieldDef(
            "ConvertedOpportunityId",
            "reference",
            "Converted Opportunity ID",
            18,
            createable=False,
            updateable=False,
            reference_to=("Opportunity",),
            relationship_name="ConvertedOpportunity",
        ),
        FieldDef(
            "MasterRecordId",
            "reference",
            "Master Record ID",
            18,
            createable=False,
            updateable=False,
            reference_to=("Lead",),
            relationship_name="MasterRecord",
        ),
        FieldDef(
            "HubSpot_Contact_Id__c",
            "string",
            "HubSpot Contact ID",
            18,
            custom=True,
            external_id=True,
            unique=True,
        ),
        FieldDef("Lead_Score__c", "double", "Lead Score", custom=True),
        FieldDef("Score_Reasons__c", "textarea", "Score Reasons", 32768, custom=True),
        FieldDef("MQL_Date__c", "datetime", "MQL Date", custom=True),
        FieldDef("Campaign__c", "string", "Campaign", 255, custom=True),
        *(
            FieldDef(
                f"BANT_{x}__c",
                "boolean",
                f"BANT {x}",
                nillable=False,
                custom=True,
                defaulted_on_create=True,
            )
            for x in ("Budget", "Authority", "Need", "Timeline")
        ),
        FieldDef(
            "Problem_Clarity__c",
            "picklist",
            "課題の明確さ",
            255,
            custom=True,
            restricted=True,
            picklist=_pick(("clear", "明確"), ("vague", "曖昧"), ("unorganized", "未整理")),
        ),
        FieldDef(
            "Solution_Understanding__c",
            "picklist",
            "解決策の理解",
            255,
            custom=True,
            restricted=True,
            picklist=_pick(
                ("concrete", "具体的"), ("comparing", "比較検討中"), ("not_understood", "未理解")
            ),
        ),
        FieldDef(
            "Decision_Structure__c",
            "picklist",
            "意思決定構造",
            255,
            custom=True,
            restricted=True,
            picklist=_pick(("single", "単独決裁"), ("consensus", "合議"), ("unknown", "不明")),
        ),
        FieldDef(
            "Purchase_Timeline__c",
            "picklist",
            "導入時期",
            255,
            custom=True,
            restricted=True,
            picklist=_pick(("this_term", "今期"), ("next_term", "来期"), ("undecided", "未定")),
        ),
        FieldDef("Recycle_Reason__c", "string", "Recycle Reason", 255, custom=True),
    ]


def _activity(kind: str) -> list[FieldDef]:
    when = (
        FieldDef("ActivityDate", "date", "Due Date")
        if kind == "Task"
        else FieldDef("ActivityDateTime", "datetime", "Start")
    )
    return [
        *_system(),
        FieldDef(
            "WhoId", "reference", "Name ID", 18, reference_to=("Lead",), relationship_name="Who"
        ),
        FieldDef(
            "WhatId",
            "reference",
            "Related To ID",
            18,
            reference_to=("Opportunity",),
            relationship_name="What",
        ),
        FieldDef("Subject", "string", "Subject", 255),
        when,
        FieldDef(
            "Type",
            "picklist",
            "Type",
            40,
            picklist=_pick(("Call", "Call"), ("Email", "Email"), ("Meeting", "Meeting")),
        ),
        FieldDef(
            "Status",
            "picklist",
            "Status",
            40,
            nillable=kind != "Task",
            picklist=_pick(
                ("Not Started", "Not Started"),
                ("In Progress", "In Progress"),
                ("Completed", "Completed"),
            ),
        ),
    ]


def _opportunity() -> list[FieldDef]:
    stages = ("Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost")
    return [
        *_system(),
        FieldDef("Name", "string", "Name", 120, nillable=False),
        FieldDef(
            "StageName",
            "picklist",
            "Stage",
            255,
            nillable=False,
            restricted=True,
            picklist=_pick(*((s, s) for s in stages)),
        ),
        FieldDef("CloseDate", "date", "Close Date", nillable=False),
        FieldDef("Amount", "currency", "Amount"),
        FieldDef(
            "IsClosed", "boolean", "Closed", nillable=False, createable=False, updateable=False
        ),
        FieldDef("IsWon", "boolean", "Won", nillable=False, createable=False, updateable=False),
    ]


def _user() -> list[FieldDef]:
    return [
        *_system(owner=False),
        FieldDef("Name", "string", "Full Name", 121, createable=False, updateable=False),
        FieldDef("Email", "email", "Email", 128, nillable=False),
        FieldDef("IsActive", "boolean", "Active", nillable=False),
    ]


def _lead_status() -> list[FieldDef]:
    return [
        *_system(owner=False),
        FieldDef("MasterLabel", "string", "Master Label", 255),
        FieldDef("ApiName", "string", "Api Name", 255),
        FieldDef("SortOrder", "int", "Sort Order"),
        FieldDef("IsConverted", "boolean", "Is Converted", nillable=False),
        FieldDef("IsDefault", "boolean", "Is Default", nillable=False),
    ]


OBJECTS: dict[str, ObjectDef] = {
    d.name: d
    for d in (
        ObjectDef("Lead", "Lead", {f.name: f for f in _lead()}),
        ObjectDef("Task", "Task", {f.name: f for f in _activity("Task")}),
        ObjectDef("Event", "Event", {f.name: f for f in _activity("Event")}),
        ObjectDef("Opportunity", "Opportunity", {f.name: f for f in _opportunity()}),
        ObjectDef("User", "User", {f.name: f for f in _user()}),
        ObjectDef("LeadStatus", "Lead Status Value", {f.name: f for f in _lead_status()}),
    )
}
_LOWER: dict[str, dict[str, FieldDef]] = {
    name: {k.lower(): v for k, v in d.fields.items()} for name, d in OBJECTS.items()
}


def sobject(name: str) -> ObjectDef | None:
    """The sObject called `name`, case-insensitively."""
    lowered = name.lower()
    for key, value in OBJECTS.items():
        if key.lower() == lowered:
            return value
    return None
