"""The CSV source: UTF-8 errors name line and column (also past a block boundary), the
delimiter is sniffed for Python callers too, cells stay text."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb.errors import ConfigurationError
from paragon_nb.sync.sources import check_utf8, csv_source, open_source


def test_a_bad_byte_past_the_first_block_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    good = "".join(f"lead{i}@x.com,Zoë\n" for i in range(50))
    path.write_bytes(("email,name\n" + good).encode() + "z@x.com,Zoë\n".encode("latin-1"))
    with pytest.raises(ConfigurationError, match=r"line 52, column 11 holds byte 0xeb"):
        check_utf8(path, block=64)  # many blocks: the count carries over


def test_a_split_character_at_a_block_end_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(
        "email,name\n" + "a@x.com,ëëëëëëëëëëëëëëëëëëëëëëëëëëëë\n" * 20, encoding="utf-8"
    )
    check_utf8(path, block=7)  # blocks end at line ends, never inside a character


def test_a_semicolon_path_is_sniffed_and_cells_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text('email;n;company\na@x.com;007;"Acme; Inc"\nb@x.com;;B\n', encoding="utf-8")
    (frame,) = open_source(path, chunk_size=1).frames  # whole blocks: >= chunk_size rows
    assert frame.loc[0, "n"] == "007" and frame.loc[0, "company"] == "Acme; Inc"
    assert frame.loc[1, "n"] == ""  # an empty cell is empty text, not missing
    tabbed = tmp_path / "t.txt"
    tabbed.write_text("email|n\nc@x.com|1\n", encoding="utf-8")
    (frame,) = csv_source(tabbed, chunk_size=10, delimiter="|").frames
    assert frame.to_dict("records") == [{"email": "c@x.com", "n": "1"}]
