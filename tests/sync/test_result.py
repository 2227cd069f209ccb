"""SyncResult views and reprs."""

from __future__ import annotations

import pandas as pd
import pytest

from paragon_nb.sync.result import SyncResult, empty_rows


def _result(statuses: list[str], **kw: object) -> SyncResult:
    rows = empty_rows(pd.Index(["a", "b", "c", "d"][: len(statuses)]))
    rows["status"] = statuses
    return SyncResult(rows=rows, calls=3, duration=1.5, **kw)  # type: ignore[arg-type]


def test_views_summary_and_ok() -> None:
    r = _result(["created", "failed", "invalid", "created"])
    assert r.counts == {"created": 2, "failed": 1, "invalid": 1}
    assert list(r.failed.index) == ["b"] and list(r.invalid.index) == ["c"]
    assert r.summary["calls"] == 3 and r.summary["rows"] == 4
    assert not r.ok
    assert _result(["created", "unchanged", "upserted", "updated"]).ok


def test_reprs_show_counts_and_escape_html() -> None:
    r = _result(["created", "invalid"], list_id=5, list_name="<News>")
    text = repr(r)
    assert "created 1" in text and "invalid 1" in text and "3 calls" in text
    page = r._repr_html_()
    assert "&lt;News&gt;" in page and "<News>" not in page
    assert page.count("<tr>") == 2 and "width:50.0%" in page


def test_retry_without_rerun_refuses() -> None:
    with pytest.raises(ValueError, match="cannot be retried"):
        _result(["failed"]).retry()


def test_retry_keeps_the_lookup_column_for_reports() -> None:
    r = _result(["created", "failed"], lookup_column="E-mail")
    fresh = _result(["created"])
    r._rerun = lambda positions: fresh
    again = r.retry()
    assert list(again.rows["status"]) == ["created", "created"]
    assert again.lookup_column == "E-mail"
