"""Bulk lead import helpers: turn the caller's data into a file, parse result files.

Marketo's bulk import takes one multipart file (CSV, TSV or semicolon-separated) of at most
10 MB whose first row holds REST field names, and later serves a failures file and a
warnings file: the original columns plus one reason column (reference §6)::

    body, name = import_payload(df, format="csv")        # DataFrame, bytes, path or rows
    rows = parse_report(text, format="csv")               # -> tuple of dicts
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paragon_nb.errors import ConfigurationError, PayloadTooLarge

__all__ = ["DELIMITERS", "MAX_IMPORT_BYTES", "import_payload", "parse_report"]

DELIMITERS = {"csv": ",", "tsv": "\t", "ssv": ";"}
MAX_IMPORT_BYTES = 10 * 1024 * 1024  # (U) "10 MB" read as MiB; the sandbox enforces its own
CONTENT_TYPES = {"csv": "text/csv", "tsv": "text/tab-separated-values", "ssv": "text/plain"}


def _delimiter(format: str) -> str:
    try:
        return DELIMITERS[format]
    except KeyError:
        raise ConfigurationError(
            f"import format {format!r} is not one Marketo accepts; use one of {sorted(DELIMITERS)}"
        ) from None


def import_payload(data: Any, *, format: str = "csv") -> tuple[bytes, str]:
    """``(file bytes, file name)`` for an import.

    ``data`` may be: ``bytes`` (the file itself), a ``Path`` or a ``str`` path (a ``str``
    containing a newline is taken as the file's text), a pandas ``DataFrame`` (written
    with ``to_csv``, no index), or a sequence of mappings (columns from the first row's
    keys, then any new keys in order). Raises ``ConfigurationError`` for a missing file or
    an unknown type, ``PayloadTooLarge`` over 10 MB.
    """
    delimiter = _delimiter(format)
    name = f"leads.{format}"
    if isinstance(data, bytes | bytearray):
        body = bytes(data)
    elif isinstance(data, str) and "\n" in data:
        body = data.encode("utf-8")
    elif isinstance(data, str | Path):
        path = Path(data)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read import file {str(path)!r}: {exc.strerror}; pass CSV bytes, an "
                f"existing file path or a DataFrame"
            ) from None
        name = path.name
    elif hasattr(data, "to_csv") and hasattr(data, "columns"):
        body = data.to_csv(index=False, sep=delimiter, lineterminator="\n").encode("utf-8")
    elif isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):
        body = _rows_to_bytes(data, delimiter)
    else:
        raise ConfigurationError(
            f"cannot import a {type(data).__name__}; pass CSV bytes, a file path, a DataFrame "
            f"or a list of dicts"
        )
    if not body.strip():
        raise ConfigurationError("the import file is empty; it needs a header row and rows")
    if len(body) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"import file is {len(body):,} bytes, over Marketo's 10 MB bulk import limit; "
            f"split it into several imports",
            code="413",
        )
    return body, name


def _rows_to_bytes(rows: Sequence[Mapping[str, Any]], delimiter: str) -> bytes:
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(str(key), None)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def parse_report(text: str, *, format: str = "csv") -> tuple[dict[str, str], ...]:
    """Rows of a failures/warnings file as dicts (header row = keys). Empty text -> ()."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return ()
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(format))
    return tuple({k: (v or "") for k, v in row.items() if k is not None} for row in reader)
