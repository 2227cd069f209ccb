"""Any size: the same messy input as one frame, as chunks, as CSV and Parquet paths, as Dask
and PySpark DataFrames gives the same per-row results and the same Marketo state."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox import SandboxApp
from paragon_nb.sync.runner import sync_leads

from .conftest import messy_frame

VOLATILE = {"id", "createdAt", "updatedAt"}
CHUNK = 4  # the duplicate pair (rows 0 and 9) lands in different chunks


@pytest.fixture(scope="module", autouse=True)
def _stop_spark():
    """The local Spark JVM goes with the module's tests (never left running)."""
    yield
    if "pyspark.sql" in sys.modules:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession() or SparkSession._instantiatedSession
        if session is not None:
            session.stop()


def _text_frame() -> pd.DataFrame:
    """The messy frame as a file holds it: text cells, missing ones empty."""
    df = messy_frame().reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        out[col] = [None if pd.isna(v) else str(v) for v in df[col]]
    return out


def _state(app: SandboxApp) -> tuple[dict, set]:
    leads = {
        lead["email"]: {k: v for k, v in lead.items() if k not in VOLATILE and v is not None}
        for lead in app.leads()
    }
    client = app.client(clock=app.clock)
    target = client.get_list_by_name("S")
    by_id = {lead["id"]: lead["email"] for lead in app.leads()}
    return leads, {by_id[i] for i in app.list_members(target.id)}


def _spark(df: pd.DataFrame) -> Any:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StringType, StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("paragon-nb-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    schema = StructType([StructField(c, StringType(), True) for c in df.columns])
    return spark.createDataFrame(df.astype(object).where(df.notna(), None).values.tolist(), schema)


def _dask(df: pd.DataFrame) -> Any:
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=3, sort=False)


def _inputs(tmp_path: Path) -> dict[str, Callable[[], Any]]:
    df = _text_frame()
    csv, parquet = tmp_path / "in.csv", tmp_path / "in.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, row_group_size=CHUNK)
    return {
        "chunks": lambda: (df.iloc[i : i + CHUNK] for i in range(0, len(df), CHUNK)),
        "csv": lambda: csv,
        "parquet": lambda: str(parquet),
        "dask": lambda: _dask(df),
        "spark": lambda: _spark(df),
    }


def _run(data: Any, tmp_path: Path, name: str) -> tuple[pd.DataFrame, SandboxApp]:
    app = SandboxApp(clock=FakeClock(), import_seconds=0)
    client = app.client(clock=app.clock)
    result = sync_leads(data, client, list="S", create_list=True, chunk_size=CHUNK,
                        journal=tmp_path / f"{name}.sqlite3", progress=False)  # fmt: skip
    rows = result.rows.reset_index(drop=True)
    return rows, app


@pytest.mark.parametrize("kind", ["chunks", "csv", "parquet", "dask", "spark"])
def test_streamed_inputs_match_one_frame(tmp_path: Path, kind: str) -> None:
    expected, expected_app = _run(_text_frame(), tmp_path, "frame")
    assert expected["status"].value_counts().to_dict() == {"invalid": 6, "created": 4, "skipped": 1}
    got, app = _run(_inputs(tmp_path)[kind](), tmp_path, kind)
    cols = ["status", "reason_code"]
    assert got[cols].equals(expected[cols]), pd.concat([got[cols], expected[cols]], axis=1)
    assert got["lead_id"].notna().tolist() == expected["lead_id"].notna().tolist()
    assert got["email"].fillna("").tolist() == expected["email"].fillna("").tolist()
    assert _state(app) == _state(expected_app)


def test_streamed_rerun_is_unchanged_and_report_files(tmp_path: Path, app: SandboxApp, client):
    df = _text_frame()
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    journal = tmp_path / "j.sqlite3"
    first = sync_leads(path, client, list="S", create_list=True, chunk_size=CHUNK,
                       journal=journal, progress=False)  # fmt: skip
    assert first.rows_path is not None and first.rows_path.suffix == ".parquet"
    assert first.counts == {"invalid": 6, "created": 4, "skipped": 1}
    app.reset_stats()
    report = tmp_path / "out.csv"
    again = sync_leads(path, client, list="S", chunk_size=CHUNK, journal=journal,
                       report=report, progress=False)  # fmt: skip
    assert again.counts == {"invalid": 6, "unchanged": 4, "skipped": 1}
    assert app.stats.write_calls == 0
    assert app.stats.calls_by_route.get("GET /rest/v1/leads.json", 0) == 1  # one sample read
    out = pd.read_csv(report, keep_default_na=False)
    assert list(out.columns) == ["row", "email", "status", "lead_id", "reason_code", "reason"]
    assert out["row"].tolist() == list(range(len(df)))
    again.to_parquet(tmp_path / "out.parquet")
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == len(df)


def test_unreadable_inputs_name_what_is_accepted(client) -> None:
    with pytest.raises(ConfigurationError, match="iterable of DataFrames"):
        sync_leads(42, client, progress=False)
    with pytest.raises(ConfigurationError, match="not a pandas DataFrame"):
        sync_leads([{"email": "a@x.com"}], client, progress=False)
    with pytest.raises(ConfigurationError, match="does not exist"):
        sync_leads("/no/such/file.csv", client, progress=False)


def test_streamed_rerun_with_a_duplicate_in_a_later_chunk_writes_nothing(
    tmp_path: Path, app: SandboxApp, client
) -> None:
    frames = lambda: (_text_frame().iloc[i : i + CHUNK] for i in range(0, 11, CHUNK))  # noqa: E731
    journal = tmp_path / "j.sqlite3"
    sync_leads(frames(), client, list="S", create_list=True, journal=journal, progress=False)
    app.reset_stats()
    again = sync_leads(frames(), client, list="S", journal=journal, progress=False)
    assert app.stats.write_calls == 0, again.counts


def test_retry_of_a_streamed_sync_resumes_it_through_the_journal(tmp_path: Path, clock) -> None:
    app = SandboxApp(clock=clock, import_seconds=0, daily_quota=5)  # enough to set up
    client = app.client(clock=clock)
    path = tmp_path / "in.csv"
    _text_frame().to_csv(path, index=False)
    journal = tmp_path / "j.sqlite3"
    first = sync_leads(path, client, list="S", create_list=True, journal=journal, progress=False)
    assert first.counts.get("failed", 0) >= 1, first.counts  # the quota stopped the sends
    clock.advance(86_400)
    app.set_limits(daily_quota=50_000)
    again = first.retry()
    # the leads were created before the quota ran out; their list adds were not made:
    # the retry makes them (values unchanged), and every valid row ends in the list
    assert again.counts == {"invalid": 6, "unchanged": 4, "skipped": 1}
    assert len(_state(app)[1]) == 4 and app.lead_count() == 4
    assert again.retry().counts == {"invalid": 6, "unchanged": 4, "skipped": 1}

    chunks = sync_leads(iter([_text_frame()]), client, list="S", journal=journal,
                        progress=False, full_resync=True)  # fmt: skip
    assert "skipped" in chunks.counts  # the duplicate: a retry would look at it
    with pytest.raises(ValueError, match="call sync_leads again with the same chunks"):
        chunks.retry()
