"""Bulk import resources of the client: start a job from CSV bytes / a file / a DataFrame,
poll on the injected clock, fetch the failures/warnings files as rows. A mixin over
:class:`~paragon_nb.marketo._base.ClientBase`; file handling lives in bulk.py.

    job = client.import_leads(df, list_id=lst.id)      # waits; job.failures -> rows
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paragon_nb.errors import MarketoError, TransientMarketoError
from paragon_nb.marketo import bulk
from paragon_nb.marketo._base import ClientBase
from paragon_nb.marketo.models import ImportJob, ImportStatus

__all__ = ["ImportsMixin"]


class ImportsMixin(ClientBase):
    """import_leads, import_status."""

    def import_leads(
        self,
        data: bytes | str | Path | Any,  # CSV bytes, a file path, or a DataFrame
        *,
        format: str = "csv",
        lookup_field: str = "email",
        list_id: int | None = None,
        partition: str | None = None,
        wait: bool = True,
        poll_interval: float = 5.0,
        timeout: float | None = None,
    ) -> ImportJob:
        """Start a bulk import; with ``wait`` poll (injected clock) until it is done and fetch
        the failures/warnings rows.

        Raises ``ImportQueueFull`` (1016/1019) when retries do not drain the queue,
        ``TransientMarketoError`` when ``timeout`` seconds pass before the job is done."""
        body, filename = bulk.import_payload(data, format=format)
        params = {
            "format": format,
            "lookupField": lookup_field,
            "listId": list_id,
            "partitionName": partition,
        }
        content_type = bulk.CONTENT_TYPES[format]
        envelope = self._call(
            "POST",
            "/bulk/v1/leads.json",
            params=params,
            files={"file": (filename, body, content_type)},
            what=f"import {filename}",
        )
        job = _import_job(envelope)
        if not wait:
            return job
        started = self._clock.monotonic()
        while not job.done:
            if timeout is not None and self._clock.monotonic() - started + poll_interval > timeout:
                raise TransientMarketoError(
                    f"import job {job.batch_id} still {job.status.value} after {timeout:g} s; "
                    f"check it later with client.import_status({job.batch_id})"
                )
            self._clock.sleep(poll_interval)
            job = self.import_status(job.batch_id)
        return self._with_reports(job, format=format)

    def import_status(
        self, batch_id: int, *, reports: bool = False, format: str = "csv"
    ) -> ImportJob:
        """The job's current status; ``reports=True`` also fetches failures/warnings rows,
        read with the delimiter of ``format`` (the one the job was imported with)."""
        envelope = self._call("GET", f"/bulk/v1/leads/batch/{int(batch_id)}.json")
        job = _import_job(envelope)
        return self._with_reports(job, format=format) if reports else job

    def _with_reports(self, job: ImportJob, *, format: str = "csv") -> ImportJob:
        update: dict[str, Any] = {}
        for kind, count in (
            ("failures", job.num_rows_failed),
            ("warnings", job.num_rows_with_warning),
        ):
            if count:
                text = self._call(
                    "GET", f"/bulk/v1/leads/batch/{job.batch_id}/{kind}.json", raw=True
                )
                update[kind] = bulk.parse_report(text, format=format)
        return job.model_copy(update=update) if update else job


def _import_job(envelope: Mapping[str, Any]) -> ImportJob:
    result = envelope.get("result") or []
    if not result:
        raise MarketoError(
            f"bulk import: no job in the answer (requestId {envelope.get('requestId')})"
        )
    item = dict(result[0])
    item.setdefault("status", ImportStatus.QUEUED.value)
    return ImportJob.model_validate(item)
