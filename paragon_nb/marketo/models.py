"""Typed values the Marketo client returns (pydantic models, str enums for Marketo's vocabularies).

These are the contract between ``marketo/`` and its callers (``sync/``, ``runtime/``,
widgets): callers never parse Marketo JSON themselves.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FieldType",
    "Folder",
    "ImportJob",
    "ImportStatus",
    "LeadField",
    "ListMemberResult",
    "ListMemberStatus",
    "Reason",
    "RecordResult",
    "RecordStatus",
    "StaticList",
    "SyncAction",
    "UsageDay",
]


class SyncAction(StrEnum):
    CREATE_OR_UPDATE = "createOrUpdate"
    CREATE_ONLY = "createOnly"
    UPDATE_ONLY = "updateOnly"
    CREATE_DUPLICATE = "createDuplicate"


class FieldType(StrEnum):
    """Marketo ``dataType`` values (reference §4.3)."""

    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    INTEGER = "integer"
    FLOAT = "float"
    CURRENCY = "currency"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"
    SCORE = "score"
    FORMULA = "formula"


class RecordStatus(StrEnum):
    """Per-record status of a lead sync / delete."""

    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    DELETED = "deleted"


class ListMemberStatus(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    SKIPPED = "skipped"
    MEMBER = "memberof"
    NOT_MEMBER = "notmemberof"


class ImportStatus(StrEnum):
    QUEUED = "Queued"
    IMPORTING = "Importing"
    COMPLETE = "Complete"
    FAILED = "Failed"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class LeadField(_Model):
    """One lead field from ``describe``; ``name`` is the REST name (None: not usable over REST)."""

    id: int
    display_name: str = Field(alias="displayName")
    data_type: str = Field(alias="dataType")  # kept as str: instances can have types we don't know
    length: int | None = None
    name: str | None = None
    read_only: bool = False


class Reason(_Model):
    code: str
    message: str


class RecordResult(_Model):
    """Marketo's answer for one input record, at the same position as the input."""

    status: RecordStatus
    id: int | None = None
    reasons: tuple[Reason, ...] = ()

    @property
    def reason_code(self) -> str | None:
        return self.reasons[0].code if self.reasons else None

    @property
    def reason(self) -> str | None:
        return self.reasons[0].message if self.reasons else None


class ListMemberResult(_Model):
    id: int
    status: ListMemberStatus
    reasons: tuple[Reason, ...] = ()


class StaticList(_Model):
    id: int
    name: str
    description: str | None = None
    program_name: str | None = Field(default=None, alias="programName")
    workspace_name: str | None = Field(default=None, alias="workspaceName")
    folder: dict[str, Any] | None = None
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class Folder(_Model):
    """An asset-API folder. ``folder_id`` is ``{"id", "type"}`` ("Folder" or "Program"): pass
    :attr:`ref` wherever Marketo wants a folder (``create_list(folder=...)``, ``root``).
    ``folder_type`` says what it holds ("List", "Marketing Folder", "Zone", ...)."""

    id: int
    name: str
    description: str | None = None
    folder_id: dict[str, Any] = Field(alias="folderId")
    folder_type: str | None = Field(default=None, alias="folderType")
    parent: dict[str, Any] | None = None
    path: str = ""
    is_system: bool = Field(default=False, alias="isSystem")
    is_archive: bool = Field(default=False, alias="isArchive")
    workspace: str | None = None
    url: str | None = None
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")

    @property
    def ref(self) -> dict[str, Any]:
        """``{"id": .., "type": "Folder"|"Program"}`` (type normalised from e.g. "FOLDER")."""
        kind = str(self.folder_id.get("type") or "Folder").capitalize()
        return {"id": int(self.folder_id.get("id", self.id)), "type": kind}


class ImportJob(_Model):
    """A bulk import job. ``failures``/``warnings`` are the parsed rows of those files
    (dicts of the original columns plus the reason column) once fetched."""

    batch_id: int = Field(alias="batchId")
    status: ImportStatus
    num_leads_processed: int = Field(default=0, alias="numOfLeadsProcessed")
    num_rows_failed: int = Field(default=0, alias="numOfRowsFailed")
    num_rows_with_warning: int = Field(default=0, alias="numOfRowsWithWarning")
    message: str | None = None
    failures: tuple[dict[str, str], ...] = ()
    warnings: tuple[dict[str, str], ...] = ()

    @property
    def done(self) -> bool:
        return self.status in (ImportStatus.COMPLETE, ImportStatus.FAILED)


class UsageDay(_Model):
    """One day of ``stats/usage`` (``users``: per API user) or ``stats/errors``
    (``errors``: ``{errorCode, count}`` items)."""

    date: str
    total: int
    users: tuple[dict[str, Any], ...] = ()
    errors: tuple[dict[str, Any], ...] = ()
