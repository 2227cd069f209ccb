"""What ``sync_leads`` accepts, as a stream of pandas chunks in input order.

- a pandas DataFrame: one frame, kept whole (its index is the result's index);
- an iterable of DataFrames (``pd.read_csv(path, chunksize=...)``, a generator);
- a CSV path: read by pyarrow's streaming CSV reader, every cell as text (the validator
  coerces it exactly as for a notebook frame), UTF-8;
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

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb.errors import ConfigurationError

__all__ = ["Source", "open_source"]

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


def _csv_frames(path: Path, chunk_size: int, delimiter: str | None) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with path.open("rb") as fh:
        header = pcsv.open_csv(
            fh,
            read_options=pcsv.ReadOptions(block_size=1 << 20),
            parse_options=pcsv.ParseOptions(delimiter=delimiter or ",", newlines_in_values=True),
        ).schema.names
    text = dict.fromkeys(header, pa.string())
    reader = pcsv.open_csv(
        path,
        # The reader keeps several parsed blocks in flight: 1 MB blocks keep that near
        # 40 MB (4 MB blocks: ~90 MB) whatever the chunk size.
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(delimiter=delimiter or ",", newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=text, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        pending.append(batch)
        rows += len(batch)
        if rows >= chunk_size:
            frame = _text_frame(pending)
            pending, rows = [], 0  # before the yield: the chunk is held once, by the caller
            yield frame
            del frame
    if pending:
        frame = _text_frame(pending)
        pending = []
        yield frame


def _text_frame(batches: list[Any]) -> pd.DataFrame:
    """One pandas frame of text columns (Arrow-backed ``str``) from record batches."""
    import pyarrow as pa

    return pa.Table.from_batches(batches).to_pandas(types_mapper=lambda _t: pd.StringDtype())


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
        return Source(_csv_frames(path, chunk_size, delimiter), True, str(path))
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
