"""Bulk lead import (``/bulk/v1``, reference §6): multipart CSV/TSV/SSV, a job queue
(<= 2 importing, <= 10 queued incl. importing -> 1016), Queued -> Importing -> Complete/Failed,
failures/warnings files with the original columns plus a reason column.

Jobs advance lazily on the injected clock whenever the sandbox answers a call (or
:func:`advance` is called), so imported leads are visible to the next lead query: a queued
job starts when one of the 2 slots is free and completes ``import_seconds`` later. So tests
are deterministic with a FakeClock and need no worker.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from paragon_nb.sandbox.context import Context
from paragon_nb.sandbox.fields import is_searchable
from paragon_nb.sandbox.leads import Known, apply_record
from paragon_nb.sandbox.wire import ApiError, Request, Response, lead_envelope

__all__ = ["DELIMITERS", "advance", "parse_multipart"]

DELIMITERS = {"csv": ",", "tsv": "\t", "ssv": ";"}
MAX_IMPORTING = 2
MAX_QUEUED = 10
FAILURE_COLUMN = "Import Failure Reason"
WARNING_COLUMN = "Import Warning Reason"  # (U) the warnings file's column name is not recorded
_MEDIA = {"csv": "text/csv", "tsv": "text/tab-separated-values", "ssv": "text/csv"}


def parse_multipart(req: Request) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes]]]:
    """(form fields, files) of a multipart/form-data body. Raises ApiError 612/613."""
    if req.content_type != "multipart/form-data":
        raise ApiError("612", "Invalid Content Type")
    header = req.headers.get("content-type", "")
    boundary = None
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ApiError("613", "Invalid multipart request")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str | None, bytes]] = {}
    chunks = req.body.split(b"--" + boundary.encode())
    if len(chunks) < 3:
        raise ApiError("613", "Invalid multipart request")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ApiError("613", "Invalid multipart request")
        content = content[:-2] if content.endswith(b"\r\n") else content
        name, filename = _disposition(head.decode("utf-8", "replace"))
        if name is None:
            continue
        if filename is not None:
            files[name] = (filename, content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def _disposition(head: str) -> tuple[str | None, str | None]:
    name = filename = None
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() != "content-disposition":
            continue
        for item in value.split(";")[1:]:
            k, _, v = item.strip().partition("=")
            v = v.strip().strip('"')
            if k.lower() == "name":
                name = v
            elif k.lower() == "filename":
                filename = v
    return name, filename


def create_import(ctx: Context, req: Request) -> dict[str, Any]:
    """``POST /bulk/v1/leads.json``: queue a job; params from the query or form parts."""
    form, files = parse_multipart(req)
    params = {k: v for k, v in req.query}
    params.update(form)
    fmt = (params.get("format") or "csv").lower()  # docs: defaults to CSV
    if fmt not in DELIMITERS:
        raise ApiError("1001", f"Invalid value '{fmt}'. Required of type 'format' (csv, tsv, ssv)")
    if "file" not in files:
        raise ApiError("1002", "Missing value for required parameter 'file'")
    data = files["file"][1]
    if not data.strip():
        raise ApiError("1003", "Empty File")
    lookup = params.get("lookupField") or "email"
    fields = ctx.state.fields()
    if lookup not in fields:
        raise ApiError("1006", f"Field '{lookup}' not found")
    if lookup != "id" and not is_searchable(fields[lookup]):
        raise ApiError("1011", f"Field '{lookup}' not supported")
    list_id = params.get("listId")
    with ctx.state.tx():
        advance(ctx)
        if list_id:
            if ctx.state.get_list(list_id) is None:
                raise ApiError("1013", f"Static list '{list_id}' not found")
            if any(str(j["list_id"]) == str(list_id) for j in ctx.state.active_imports()):
                raise ApiError("1019", "Import in progress")
        if len(ctx.state.active_imports()) >= MAX_QUEUED:
            raise ApiError("1016", "Too many imports")
        job_id = ctx.state.insert_import(
            {
                "status": "Queued",
                "format": fmt,
                "lookup_field": lookup,
                "list_id": int(list_id) if list_id else None,
                "partition": params.get("partitionName"),
                "data": data,
                "created_at": ctx.clock.time(),
            }
        )
    return lead_envelope([{"batchId": job_id, "importId": str(job_id), "status": "Queued"}])


def advance(ctx: Context) -> None:
    """Move jobs along on the sandbox's clock (FIFO, at most 2 importing)."""
    if not ctx.state.active_imports():
        return  # the common case: no write transaction on every request
    now = ctx.clock.time()
    with ctx.state.tx():
        for job in ctx.state.active_imports():
            if job["status"] == "Importing" and job["started_at"] + ctx.import_seconds <= now:
                _run(ctx, job["id"])
        active = ctx.state.active_imports()
        importing = sum(1 for j in active if j["status"] == "Importing")
        for job in active:
            if job["status"] != "Queued" or importing >= MAX_IMPORTING:
                continue
            ctx.state.update_import(job["id"], {"status": "Importing", "started_at": now})
            importing += 1
            if ctx.import_seconds <= 0:
                _run(ctx, job["id"])
                importing -= 1


def _run(ctx: Context, job_id: int) -> None:
    """Import the job's rows now; sets Complete (with counts) or Failed."""
    job = ctx.state.get_import(job_id)
    assert job is not None
    delimiter = DELIMITERS[job["format"]]
    try:
        text = bytes(job["data"]).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (UnicodeDecodeError, csv.Error) as exc:
        ctx.state.update_import(
            job_id, {"status": "Failed", "message": f"Import failed: cannot parse file ({exc})"}
        )
        return
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    fields = ctx.state.fields()
    lookup = job["lookup_field"]
    action = "updateOnly" if lookup == "id" else "createOrUpdate"
    now = ctx.clock.time()
    failures: list[list[str]] = []
    warnings: list[list[str]] = []
    imported = members = 0
    # the list is looked up once: a deleted list cannot come back mid-job (we hold the tx)
    list_id = job["list_id"]
    add_to_list = list_id is not None and ctx.state.get_list(list_id) is not None
    parsed: list[tuple[list[str], dict[str, Any], list[str]]] = []
    for row in body:
        if not any(cell.strip() for cell in row):
            continue
        record: dict[str, Any] = {}
        unknown = []
        for column, cell in zip(header, row, strict=False):
            if cell == "":
                continue  # (U) a blank cell leaves the field unchanged
            if column in fields:
                record[column] = cell
            else:
                unknown.append(column)
        parsed.append((row, record, unknown))
    known = Known.read(ctx, lookup, [record for _row, record, _unknown in parsed])
    listed: list[int] = []
    for row, record, unknown in parsed:
        result = apply_record(ctx, record, action, lookup, fields, now, known)
        if result["status"] == "skipped":
            code, reason = result["reasons"][0]["code"], result["reasons"][0]["message"]
            if reason.startswith("Value for lookup field") or code == "1004":
                reason = f"Value for lookup field '{lookup}' not found"
            failures.append([*row, reason])
            continue
        imported += 1
        if unknown:
            # (U) columns that are no lead field are ignored with a warning
            warnings.append([*row, f"Field(s) not found: {', '.join(unknown)}"])
        if add_to_list:
            listed.append(result["id"])
    if add_to_list:
        ctx.state.add_members(list_id, listed, now)
        members = len(listed)
    if list_id is None:
        members = imported
    if failures:
        message = (
            f"Import completed with errors, {imported} records imported ({members} members), "
            f"{len(failures)} failed"
        )
    else:
        message = f"Import succeeded, {imported} records imported ({members} members)"
    ctx.state.update_import(
        job_id,
        {
            "status": "Complete",
            "finished_at": now,
            "processed": imported,
            "failed": len(failures),
            "warned": len(warnings),
            "message": message,
            "failures": _write([*header, FAILURE_COLUMN], failures, delimiter),
            "warnings": _write([*header, WARNING_COLUMN], warnings, delimiter),
        },
    )


def _write(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def _job(ctx: Context, batch_id: str) -> Any:
    advance(ctx)
    job = ctx.state.get_import(int(batch_id))
    if job is None:
        raise ApiError("1013", f"Import job '{batch_id}' not found")  # (U) code
    return job


_STATUS_TEXT = {"Queued": "Queued for processing", "Importing": "Import in progress"}


def import_status(ctx: Context, req: Request, batch_id: str) -> dict[str, Any]:
    """``GET /bulk/v1/leads/batch/{id}.json``."""
    with ctx.state.tx():
        job = _job(ctx, batch_id)
    return lead_envelope(
        [
            {
                "batchId": job["id"],
                "importId": str(job["id"]),
                "status": job["status"],
                "numOfLeadsProcessed": job["processed"],
                "numOfRowsFailed": job["failed"],
                "numOfRowsWithWarning": job["warned"],
                "message": job["message"] or _STATUS_TEXT.get(job["status"], ""),
            }
        ]
    )


def _file(ctx: Context, batch_id: str, column: str) -> Response:
    with ctx.state.tx():
        job = _job(ctx, batch_id)
    if job["status"] not in ("Complete", "Failed"):
        raise ApiError("1003", f"Import job '{batch_id}' is not complete (status {job['status']})")
    body = bytes(job[column] or b"")
    media = _MEDIA.get(job["format"], "text/csv")
    headers = [("Content-Type", f"{media};charset=UTF-8"), ("Content-Length", str(len(body)))]
    return Response(200, headers, body)


def import_failures(ctx: Context, req: Request, batch_id: str) -> Response:
    """``GET /bulk/v1/leads/batch/{id}/failures.json``: a file, not an envelope."""
    return _file(ctx, batch_id, "failures")


def import_warnings(ctx: Context, req: Request, batch_id: str) -> Response:
    return _file(ctx, batch_id, "warnings")
