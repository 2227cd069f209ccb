"""What ``sync_leads`` accepts, as a stream of pandas chunks in input order.

- a pandas DataFrame: one frame, kept whole (its index is the result's index);
- an iterable of DataFrames (``pd.read_csv(path, chunksize=...)``, a generator);
- a CSV path: read by pyarrow's streaming CSV reader, every cell as text (the validator
  coerces it exactly as for a notebook frame); UTF-8 (checked first: an error names line
  and column), comma/semicolon/tab sniffed;
- a :class:`Source` already opened (``csv_source(path, chunk_size=..., delimiter=";")``);
- a Parquet path: one row group (or ``chunk_size`` rows) at a time;
- a Dask DataFrame: partitions computed one at a time, in order (extra ``dask``);
- a PySpark DataFrame: ``toLocalIterator`` in chunks of ``chunk_size`` rows (extra
  ``spark``).

Dask and PySpark are imported only when such an input arrives; a missing one raises
``ConfigurationError`` naming the extra to install.

    source = open_source("leads.csv", chunk_size=100_000)
    for frame in source.frames: ...
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb.errors import ConfigurationError

__all__ = ["Source", "check_utf8", "csv_source", "open_source", "sniff_delimiter"]

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_BLOCK_BYTES = 1 << 20


@dataclass
class Source:
    """``frames`` in input order; ``streamed`` is False for one in-memory DataFrame."""

    frames: Iterator[pd.DataFrame]
    streamed: bool
    description: str


def _needs(extra: str, module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ConfigurationError(
            f"this input needs the optional {module.split('.')[0]!r} package: "
            f"pip install 'paragon_nb[{extra}]'"
        ) from None


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a CSV file: comma, semicolon (Excel in many European locales) or
    tab, from its first 64 KB; comma when nothing else is evident."""
    with path.open("rb") as fh:
        sample = fh.read(65_536).decode("utf-8", errors="replace")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def check_utf8(path: Path, *, block: int = 1 << 24) -> None:
    """Raise ``ConfigurationError`` naming the line and column of the first byte that is
    not UTF-8 (a file saved as Latin-1 or Windows-1252). Decodes whole-line blocks of
    ~16 MB (C speed: about a second per GB), before anything is read for sending."""
    lines = 0
    with path.open("rb") as fh:
        while data := fh.read(block):
            data += fh.readline()  # end the block at a line end: no character is split
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = exc.start
                line = lines + data.count(b"\n", 0, at) + 1
                column = at - (data.rfind(b"\n", 0, at) + 1) + 1
                raise ConfigurationError(
                    f"{str(path)!r} is not UTF-8: line {line}, column {column} holds "
                    f"byte 0x{data[at]:02x} ({exc.reason}); re-save the file as UTF-8 "
                    "(Excel: CSV UTF-8)"
                ) from None
            lines += data.count(b"\n")


def csv_source(path: Path, *, chunk_size: int, delimiter: str | None = None) -> Source:
    """A CSV file as a stream of text chunks: checked to be UTF-8 first (an error names
    line and column), the delimiter sniffed unless given."""
    check_utf8(path)
    sep = delimiter or sniff_delimiter(path)
    return Source(_csv_frames(path, chunk_size, sep), True, str(path))


def _csv_frames(path: Path, chunk_size: int, delimiter: str) -> Iterator[pd.DataFrame]:
    """pyarrow's streaming CSV reader: quoted fields, embedded newlines, every cell as
    text (empty cells are empty strings, never null); blank lines hold no row."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    with path.open("rb") as fh:
        header = pcsv.open_csv(
            fh, read_options=pcsv.ReadOptions(block_size=1 << 20), parse_options=parse
        ).schema.names
    text = dict.fromkeys(header, pa.string())
    reader = pcsv.open_csv(
        path,
        # The reader keeps several parsed blocks in flight: 1 MB blocks keep that near
        # 40 MB (4 MB blocks: ~90 MB) whatever the chunk size.
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=parse,
        convert_options=pcsv.ConvertOptions(
            column_types=text, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:  # chunks of whole blocks, >= chunk_size rows
        pending.append(batch)
        rows += len(batch)
        if rows >= chunk_size:
            frame = _text_frame(pa.Table.from_batches(pending))
            pending, rows = [], 0  # before the yield: the chunk is held once, by the caller
            yield frame
            del frame
    if pending:
        frame = _text_frame(pa.Table.from_batches(pending))
        pending = []
        yield frame


def _text_frame(table: Any) -> pd.DataFrame:
    """One pandas frame of text columns (Arrow-backed ``str``) from an Arrow table."""
    return table.to_pandas(types_mapper=lambda _t: pd.StringDtype())


def _parquet_frames(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        for batch in file.iter_batches(batch_size=chunk_size):
            yield batch.to_pandas()


def _spark_frames(df: Any, chunk_size: int) -> Iterator[pd.DataFrame]:
    columns = list(df.columns)
    rows: list[tuple[Any, ...]] = []
    for row in df.toLocalIterator():
        rows.append(tuple(row))
        if len(rows) >= chunk_size:
            yield pd.DataFrame.from_records(rows, columns=columns)
            rows = []
    if rows:
        yield pd.DataFrame.from_records(rows, columns=columns)


def _dask_frames(df: Any) -> Iterator[pd.DataFrame]:
    for part in df.to_delayed():
        yield part.compute()


def open_source(data: Any, *, chunk_size: int, delimiter: str | None = None) -> Source:
    """The chunks of ``data`` (see the module docstring); ``TypeError``-like inputs raise
    ``ConfigurationError`` naming what is accepted."""
    if isinstance(data, Source):
        return data  # already opened (the CLI: its own delimiter)
    if isinstance(data, pd.DataFrame):
        return Source(iter([data]), streamed=False, description=f"DataFrame ({len(data):,} rows)")
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise ConfigurationError(
                f"input file {str(path)!r} does not exist; pass a CSV or Parquet file"
            )
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return Source(_parquet_frames(path, chunk_size), True, str(path))
        return csv_source(path, chunk_size=chunk_size, delimiter=delimiter)
    module = type(data).__module__.split(".")[0]
    if module == "dask" or (
        "dask.dataframe" in sys.modules
        and hasattr(data, "to_delayed")
        and hasattr(data, "npartitions")
    ):
        _needs("dask", "dask.dataframe")
        return Source(_dask_frames(data), True, f"Dask DataFrame ({data.npartitions} partitions)")
    if module == "pyspark":
        _needs("spark", "pyspark.sql")
        return Source(_spark_frames(data, chunk_size), True, "Spark DataFrame")
    if isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
        name = getattr(data, "source_name", None) or "iterable of DataFrames"
        return Source(_checked(iter(data)), True, str(name))
    raise ConfigurationError(
        f"sync_leads cannot read a {type(data).__name__}; pass a pandas DataFrame, an "
        "iterable of DataFrames, a CSV or Parquet path, a Dask or a PySpark DataFrame"
    )


def _checked(frames: Iterator[Any]) -> Iterator[pd.DataFrame]:
    for i, frame in enumerate(frames):
        if not isinstance(frame, pd.DataFrame):
            raise ConfigurationError(
                f"chunk {i} of the input is a {type(frame).__name__}, not a pandas DataFrame"
            )
        yield frame
