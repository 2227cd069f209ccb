"""The sandbox's lead schema: Marketo's standard lead fields, custom fields and per-dataType
validation with Marketo's 1003 message form (reference §4.1, §4.3).

``validate(field, value)`` returns the value to store or raises :class:`InvalidValue`, whose
message is exactly what Marketo puts in a skipped record's reason::

    validate(STANDARD_FIELDS["numberOfEmployees"], 14.1)
    # InvalidValue: Invalid value for field 'numberOfEmployees' and value '14.1'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from paragon_nb._email import is_email

__all__ = [
    "DATA_TYPES",
    "STANDARD_FIELDS",
    "FieldDef",
    "InvalidValue",
    "describe2_result",
    "describe_item",
    "format_datetime",
    "is_searchable",
    "validate",
]

# dataTypes a custom field may have (reference §4.3)
DATA_TYPES = (
    "string",
    "text",
    "email",
    "phone",
    "url",
    "integer",
    "float",
    "currency",
    "percent",
    "boolean",
    "date",
    "datetime",
    "reference",
    "score",
)

_STRING_LIKE = {"string", "email", "phone", "url", "text"}
# Standard fields usable as filterType / lookupField besides custom string/email/integer fields.
_SEARCHABLE_STANDARD = (
    "cookies",
    "email",
    "facebookId",
    "id",
    "leadPartitionId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
    "twitterId",
)
_TEXT_MAX_BYTES = 30_000
_INT32 = (-(2**31), 2**31 - 1)
_INT_RE = re.compile(r"^[+-]?\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldDef:
    """One lead field as describe reports it."""

    id: int
    name: str
    display_name: str
    data_type: str
    length: int | None = None
    read_only: bool = False
    custom: bool = False

    @property
    def soap_name(self) -> str:
        return self.name[:1].upper() + self.name[1:]


class InvalidValue(ValueError):
    """A value that does not fit its field's dataType (Marketo reason code 1003)."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(f"Invalid value for field '{field}' and value '{render(value)}'")
        self.field = field


def render(value: Any) -> str:
    """How a value appears inside Marketo's messages: strings raw, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _std(rows: Iterable[tuple[int, str, str, str, int | None, bool]]) -> dict[str, FieldDef]:
    return {r[1]: FieldDef(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}


# (id, REST name, display name, dataType, length, read-only) — reference §4.3 (live instance)
STANDARD_FIELDS: dict[str, FieldDef] = _std(
    [
        (1, "id", "Id", "integer", None, True),
        (2, "company", "Company Name", "string", 255, False),
        (3, "site", "Site", "string", 255, False),
        (4, "billingStreet", "Billing Address", "text", None, False),
        (5, "billingCity", "Billing City", "string", 255, False),
        (6, "billingState", "Billing State", "string", 255, False),
        (7, "billingCountry", "Billing Country", "string", 255, False),
        (8, "billingPostalCode", "Billing Postal Code", "string", 255, False),
        (9, "website", "Website", "url", 255, False),
        (10, "mainPhone", "Main Phone", "string", 255, False),
        (11, "annualRevenue", "Annual Revenue", "currency", None, False),
        (12, "numberOfEmployees", "Num Employees", "integer", None, False),
        (13, "industry", "Industry", "string", 255, False),
        (14, "sicCode", "SIC Code", "string", 40, False),
        (20, "salutation", "Salutation", "string", 255, False),
        (21, "firstName", "First Name", "string", 255, False),
        (22, "middleName", "Middle Name", "string", 255, False),
        (23, "lastName", "Last Name", "string", 255, False),
        (24, "mktoName", "Full Name", "string", 255, True),
        (25, "title", "Job Title", "string", 255, False),
        (26, "department", "Department", "string", 255, False),
        (27, "dateOfBirth", "Date of Birth", "date", None, False),
        (28, "address", "Address", "text", None, False),
        (29, "city", "City", "string", 255, False),
        (30, "state", "State", "string", 255, False),
        (31, "country", "Country", "string", 255, False),
        (32, "postalCode", "Postal Code", "string", 255, False),
        (33, "phone", "Phone Number", "phone", 255, False),
        (34, "mobilePhone", "Mobile Phone Number", "phone", 255, False),
        (35, "fax", "Fax Number", "phone", 255, False),
        (36, "rating", "Lead Rating", "string", 255, False),
        (37, "leadSource", "Lead Source", "string", 255, False),
        (38, "leadStatus", "Lead Status", "string", 255, False),
        (39, "leadRole", "Lead Role", "string", 50, False),
        (40, "leadScore", "Lead Score", "integer", None, False),
        (41, "unsubscribed", "Unsubscribed", "boolean", None, False),
        (42, "unsubscribedReason", "Unsubscribed Reason", "string", 2000, False),
        (43, "emailInvalid", "Email Invalid", "boolean", None, False),
        (44, "emailInvalidCause", "Email Invalid Cause", "string", 255, False),
        (45, "doNotCall", "Do Not Call", "boolean", None, False),
        (46, "doNotCallReason", "Do Not Call Reason", "string", 512, False),
        (47, "externalCompanyId", "External Company Id", "string", 50, False),
        (48, "externalSalesPersonId", "External Sales Person Id", "string", 50, False),
        (49, "leadPartitionId", "Lead Partition Id", "reference", None, True),
        (50, "cookies", "Cookies", "string", 255, False),
        (51, "createdAt", "Created At", "datetime", None, True),
        (52, "updatedAt", "Updated At", "datetime", None, True),
        (53, "ecids", "ECIDs", "string", 255, True),
        (56, "email", "Email Address", "email", 255, False),
        (60, "facebookId", "Facebook Id", "string", 255, False),
        (61, "linkedInId", "LinkedIn Id", "string", 255, False),
        (62, "twitterId", "Twitter Id", "string", 255, False),
        (70, "sfdcAccountId", "SFDC Account Id", "string", 255, False),
        (71, "sfdcContactId", "SFDC Contact Id", "string", 255, False),
        (72, "sfdcLeadId", "SFDC Lead Id", "string", 255, False),
        (73, "sfdcLeadOwnerId", "SFDC Lead Owner Id", "string", 255, False),
        (74, "sfdcOpptyId", "SFDC Oppty Id", "string", 255, False),
    ]
)


def is_searchable(field: FieldDef) -> bool:
    """Usable as filterType / lookupField: listed standard fields, custom string/email/integer."""
    if field.custom:
        return field.data_type in {"string", "email", "integer"}
    return field.name in _SEARCHABLE_STANDARD


def format_datetime(ts: float) -> str:
    """Lead-DB timestamp form ``2021-11-23T22:57:08Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(field: FieldDef, value: Any) -> Any:
    """The value to store for ``field`` (None clears it). Raises :class:`InvalidValue`.

    ``null`` clears a field; a boolean cleared reads back ``false`` (recorded live). An empty
    string on a non-string field also clears it (U).
    """
    dt = field.data_type
    if value is None or (value == "" and dt not in _STRING_LIKE):
        return False if dt == "boolean" else None
    if dt in _STRING_LIKE:
        return _string(field, value)
    if dt in {"integer", "score", "reference"}:
        return _integer(field, value)
    if dt in {"float", "currency", "percent"}:
        return _float(field, value)
    if dt == "boolean":
        return _boolean(field, value)
    if dt == "date":
        return _date(field, value)
    if dt == "datetime":
        return _datetime(field, value)
    raise InvalidValue(field.name, value)  # formula and unknown types are not writable


def _string(field: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue(field.name, value)
    text = value if isinstance(value, str) else render(value)
    # one rule with the sync's check (paragon_nb._email; U: Marketo's exact grammar)
    if field.data_type == "email" and text and not is_email(text):
        raise InvalidValue(field.name, value)
    if field.data_type == "text":
        if len(text.encode()) > _TEXT_MAX_BYTES:
            raise InvalidValue(field.name, value)
    elif field.length is not None and len(text) > field.length:
        # (U) Marketo may truncate over-long strings; the sandbox refuses them (1003).
        raise InvalidValue(field.name, value)
    return text


def _integer(field: FieldDef, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue(field.name, value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)  # (U) JSON 14.0 accepted as 14
    elif isinstance(value, str) and _INT_RE.match(value.strip()):
        number = int(value.strip())
    else:
        raise InvalidValue(field.name, value)
    if not _INT32[0] <= number <= _INT32[1]:
        raise InvalidValue(field.name, value)
    return number


def _float(field: FieldDef, value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidValue(field.name, value)
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        raise InvalidValue(field.name, value) from None
    if not math.isfinite(number):
        raise InvalidValue(field.name, value)
    return number


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _boolean(field: FieldDef, value: Any) -> bool:
    # (U) accepted spellings beyond JSON true/false are a guess ("other" is refused live).
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise InvalidValue(field.name, value)


def _date(field: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field.name, value)
    text = value.strip()
    head = text[:10]
    if not _DATE_RE.match(head) or (len(text) > 10 and text[10] not in "T "):
        raise InvalidValue(field.name, value)
    try:
        return date.fromisoformat(head).isoformat()
    except ValueError:
        raise InvalidValue(field.name, value) from None


def _datetime(field: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field.name, value)
    text = value.strip()
    if not _DATE_RE.match(text[:10]):
        raise InvalidValue(field.name, value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(field.name, value) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # (U) real Marketo uses the instance time zone
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_item(field: FieldDef) -> dict[str, Any]:
    """One ``describe.json`` result item (``length`` only for string-like types)."""
    item: dict[str, Any] = {
        "id": field.id,
        "displayName": field.display_name,
        "dataType": field.data_type,
    }
    if field.length is not None:
        item["length"] = field.length
    item["rest"] = {"name": field.name, "readOnly": field.read_only}
    item["soap"] = {"name": field.soap_name, "readOnly": field.read_only}
    return item


def describe2_result(fields: Iterable[FieldDef]) -> list[dict[str, Any]]:
    """The ``describe2.json`` result (schema per OpenAPI; exact live content (U))."""
    all_fields = list(fields)
    searchable = [[f.name] for f in all_fields if is_searchable(f)]
    items = []
    for f in all_fields:
        item: dict[str, Any] = {
            "name": f.name,
            "displayName": f.display_name,
            "dataType": f.data_type,
        }
        if f.length is not None:
            item["length"] = f.length
        item["updateable"] = not f.read_only
        item["crmManaged"] = False
        items.append(item)
    return [
        {
            "name": "API Lead",
            "searchableFields": searchable,
            "fields": items,
            "dedupeFields": ["email"],
        }
    ]
