"""``paragon-nb sync``: CSV/Parquet in, report out, exit codes; no credentials needed."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from paragon_nb.cli import main
from paragon_nb.sandbox import default_sandbox

CSV = (
    "email,first_name,last_name,company,number_of_employees,unsubscribed\n"
    '" ada@example.com ",Ada,Lovelace,"Engines, Ltd",12.0,yes\n'
    'bob@example.com,"Bob ""The Builder""",Ó Briain,"Line one\nline two",7,no\n'
    "bad-email,Bad,Row,x,1,true\n"
    "carol@example.com,Carol,,,,\n"
    "dan@example.com,Dan,Half,x,2.5,maybe\n"
)


def _write(tmp_path: Path, text: str = CSV) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_no_credentials_uses_the_home_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path)
    report = tmp_path / "out.csv"
    code = main(["sync", str(path), "--list", "CLI", "--create-list", "--report", str(report),
                 "--no-progress"])  # fmt: skip
    assert code == 1  # two invalid rows
    out = pd.read_csv(report, keep_default_na=False, dtype=str)
    assert list(out.columns) == ["row", "email", "status", "lead_id", "reason_code", "reason"]
    assert out["row"].tolist() == ["0", "1", "2", "3", "4"]
    assert out["status"].tolist() == ["created", "created", "invalid", "created", "invalid"]
    assert out.loc[0, "email"] == " ada@example.com "  # the file's own value
    assert "2.5" in out.loc[4, "reason"] and "maybe" in out.loc[4, "reason"]
    captured = capsys.readouterr()
    assert re.search(r"created +3", captured.out) and "invalid 2" in captured.err
    assert "SyncResult(" not in captured.out  # a plain table, not a Python repr
    # the state persists in the home folder: the same file again changes nothing
    app = default_sandbox().app
    leads = {lead["email"]: lead for lead in app.leads()}
    assert leads["bob@example.com"]["company"] == "Line one\nline two"
    assert leads["bob@example.com"]["firstName"] == 'Bob "The Builder"'
    assert leads["ada@example.com"]["numberOfEmployees"] == 12
    code = main(["sync", str(path), "--list", "CLI", "--report", str(report), "--no-progress"])
    out = pd.read_csv(report, keep_default_na=False, dtype=str)
    assert out["status"].tolist() == ["unchanged", "unchanged", "invalid", "unchanged", "invalid"]


def test_exit_zero_when_every_row_syncs_and_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame({"Email Address": ["a@x.com", "b@x.com"], "Name": ["A", "B"]})
    path = tmp_path / "leads.parquet"
    df.to_parquet(path)
    code = main(["sync", str(path), "--map", "Name=firstName", "--no-progress"])
    assert code == 0
    assert {lead["firstName"] for lead in default_sandbox().app.leads()} == {"A", "B"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--list", "Missing"], "'Missing' not found"),
        (["--map", "nonsense"], "is not COL=FIELD"),
        (["--ignore", "company", "--map", "first_name=frstName"], "did you mean"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = _write(tmp_path)
    assert main(["sync", str(path), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err
    assert default_sandbox().app.lead_count() == 0


def test_unknown_column_and_missing_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "email,favourite_colour\na@x.com,blue\n")
    assert main(["sync", str(path), "--no-progress"]) == 2
    assert "'favourite_colour'" in capsys.readouterr().err
    assert main(["sync", str(path), "--ignore", "favourite_colour", "--no-progress"]) == 0
    assert main(["sync", str(tmp_path / "nope.csv")]) == 2


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path)
    code = main(["sync", str(path), "--list", "D", "--create-list", "--dry-run",
                 "--no-progress"])  # fmt: skip
    assert code == 1
    assert re.search(r"would create +3", capsys.readouterr().out)
    assert default_sandbox().app.lead_count() == 0


def test_semicolon_and_tab_files_are_sniffed(tmp_path: Path) -> None:
    path = _write(tmp_path, "email;first_name;company\na@x.com;Ann;Acme, Inc\nb@x.com;Bo;B\n")
    assert main(["sync", str(path), "--no-progress"]) == 0
    leads = {lead["email"]: lead for lead in default_sandbox().app.leads()}
    assert leads["a@x.com"]["company"] == "Acme, Inc"
    tabbed = tmp_path / "t.tsv"
    tabbed.write_text("email\tfirst_name\nc@x.com\tCy\n", encoding="utf-8")
    assert main(["sync", str(tabbed), "--delimiter", "\\t", "--no-progress"]) == 0
    assert "c@x.com" in {lead["email"] for lead in default_sandbox().app.leads()}


def test_non_utf8_file_names_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,first_name\na@x.com,Ann\nb@x.com,Zoë\n".encode("latin-1"))
    assert main(["sync", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 11" in err and "UTF-8" in err
    assert default_sandbox().app.lead_count() == 0


def test_help_has_examples_exit_codes_and_every_flag_described(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "exit codes:" in text and "--full-resync" in text
    from paragon_nb.cli import build_parser

    sync = build_parser()._subparsers._group_actions[0].choices["sync"]
    undocumented = [a.dest for a in sync._actions if not a.help]
    assert undocumented == []


def test_history_lists_past_syncs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import paragon_nb

    path = _write(tmp_path)
    report = tmp_path / "out.csv"
    main(["sync", str(path), "--list", "H", "--create-list", "--report", str(report),
          "--no-progress"])  # fmt: skip
    main(["sync", str(path), "--list", "H", "--no-progress"])
    history = paragon_nb.sync_history()
    assert len(history) == 2
    latest, first = history.iloc[0], history.iloc[1]
    assert first["counts"] == {"created": 3, "invalid": 2} and first["list"] == "H"
    assert latest["counts"] == {"unchanged": 3, "invalid": 2}
    assert first["report"] == str(report.resolve()) and str(path) in first["input"]
    assert first["calls"] > latest["calls"] >= 1
    capsys.readouterr()
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "created 3" in out and "unchanged 3" in out and str(report.resolve()) in out
