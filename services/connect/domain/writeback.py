"""CRM write-back: the status of an engagement, put back on the CRM record it came from.

HubSpot: deal properties through the CRM v3 batch update
(`POST /crm/v3/objects/deals/batch/update`, `{"inputs": [{"id", "properties"}]}`, private-app
token as Bearer). Salesforce: Opportunity fields through the REST sObject resource
(`PATCH /services/data/vXX.X/sobjects/Opportunity/{id}`, OAuth access token as Bearer,
204 on success). Property and field names are configurable per source; the defaults are the
custom properties docs/connect.md asks an admin to create.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from mesh.errors import Violations

FIELDS = ("code", "status", "invoiced", "paid", "recognized", "currency")
DEFAULT_FIELDS: Mapping[str, Mapping[str, str]] = {
    "HUBSPOT": {
        "code": "weftwork_engagement_code",
        "status": "weftwork_engagement_status",
        "invoiced": "weftwork_invoiced_amount",
        "paid": "weftwork_paid_amount",
        "recognized": "weftwork_recognized_amount",
    },
    "SALESFORCE": {
        "code": "Weftwork_Engagement_Code__c",
        "status": "Weftwork_Engagement_Status__c",
        "invoiced": "Weftwork_Invoiced_Amount__c",
        "paid": "Weftwork_Paid_Amount__c",
        "recognized": "Weftwork_Recognized_Amount__c",
    },
}
DEFAULT_BASE_URLS = {"HUBSPOT": "https://api.hubapi.com"}
DEFAULT_SALESFORCE_VERSION = "v60.0"
_PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_VERSION = re.compile(r"^v[0-9]{2}\.[0-9]$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CrmKind(enum.Enum):
    HUBSPOT = "HUBSPOT"
    SALESFORCE = "SALESFORCE"


@dataclass
class CrmWriteBack:
    """Write-back for the engagements of one inbound source (their opportunity's system)."""

    id: uuid.UUID
    source: str
    kind: CrmKind
    base_url: str
    token: bytes  # sealed
    fields: dict[str, str] = field(default_factory=dict)  # only overrides of DEFAULT_FIELDS
    api_version: str = ""
    enabled: bool = True
    version: int = 1
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def touch(self) -> None:
        self.version += 1
        self.updated_at = _now()

    @property
    def field_names(self) -> dict[str, str]:
        return {**DEFAULT_FIELDS[self.kind.value], **self.fields}


@dataclass
class EngagementStatus:
    """What connect knows of an engagement from the PROJECT, BILLING and REVENUE streams."""

    engagement_id: str
    legal_entity: str = ""
    code: str = ""
    status: str = ""
    crm_system: str = ""
    crm_record_id: str = ""
    currency: str = ""
    invoiced: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    recognized: Decimal = Decimal(0)
    recognized_version: int = 0

    def record_fields(self, names: Mapping[str, str], *, numbers: bool) -> dict[str, str | float]:
        """Our values under the CRM's names. HubSpot takes every property as a string;
        Salesforce's currency fields take JSON numbers (two decimals survive a double)."""

        def amount(value: Decimal) -> str | float:
            return float(round(value, 2)) if numbers else f"{value:.2f}"

        values: dict[str, str | float] = {
            "code": self.code,
            "status": self.status,
            "invoiced": amount(self.invoiced),
            "paid": amount(self.paid),
            "recognized": amount(self.recognized),
            "currency": self.currency,
        }
        return {names[k]: v for k, v in values.items() if names.get(k)}


def check_fields(fields: Mapping[str, Any], errors: Violations, field_name: str) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in fields.items():
        if key not in FIELDS:
            errors.add(f"{field_name}.{key}", f"not one of {', '.join(FIELDS)}")
        elif not isinstance(value, str) or not (value == "" or _PROPERTY.match(value)):
            errors.add(f"{field_name}.{key}", "a property name (letters, digits, _), or empty")
        else:
            clean[key] = value
    return clean


def check_base_url(url: str, kind: CrmKind, errors: Violations, field_name: str) -> str:
    url = (url.strip() or DEFAULT_BASE_URLS.get(kind.value, "")).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        what = (
            "the instance URL, e.g. https://acme.my.salesforce.com"
            if kind is CrmKind.SALESFORCE
            else "an https URL"
        )
        errors.add(field_name, f"must be {what}")
    return url


def check_api_version(version: str, kind: CrmKind, errors: Violations, field_name: str) -> str:
    if kind is not CrmKind.SALESFORCE:
        return ""
    version = version.strip() or DEFAULT_SALESFORCE_VERSION
    if not _VERSION.match(version):
        errors.add(field_name, "a REST API version like v60.0")
    return version


def can_write_back(status: EngagementStatus) -> bool:
    return bool(
        status.crm_system and status.crm_record_id and _RECORD_ID.match(status.crm_record_id)
    )


@dataclass(frozen=True)
class CrmRequest:
    method: str
    url: str
    json: dict[str, Any]


def hubspot_batch_update(base_url: str, updates: Mapping[str, Mapping[str, Any]]) -> CrmRequest:
    """One batch update of deals (at most 100 inputs per HubSpot's limits)."""
    inputs = [{"id": deal_id, "properties": dict(props)} for deal_id, props in updates.items()]
    return CrmRequest("POST", f"{base_url}/crm/v3/objects/deals/batch/update", {"inputs": inputs})


def salesforce_update(
    base_url: str, api_version: str, opportunity_id: str, fields: Mapping[str, Any]
) -> CrmRequest:
    values = dict(fields)
    url = f"{base_url}/services/data/{api_version}/sobjects/Opportunity/{quote(opportunity_id)}"
    return CrmRequest("PATCH", url, values)


def status_name(value: str) -> str:
    return value.upper() or "ACTIVE"


def apply_activation(
    s: EngagementStatus,
    *,
    code: str,
    status: str,
    legal_entity: str,
    currency: str,
    crm_system: str,
    crm_record_id: str,
) -> None:
    s.code, s.status = code, status_name(status)
    s.legal_entity, s.currency = legal_entity, currency
    s.crm_system, s.crm_record_id = crm_system, crm_record_id


def apply_recognition(s: EngagementStatus, recognized: Decimal, version: int) -> bool:
    """The position after a posting; an older one (redelivered late) changes nothing."""
    if version <= s.recognized_version:
        return False
    s.recognized, s.recognized_version = recognized, version
    return True
