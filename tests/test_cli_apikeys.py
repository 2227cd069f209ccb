"""``paragon-nb api-key``: create (printed once), list (never the key), revoke."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb.cli import main
from paragon_nb.runtime.project import Project


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Project.create("Keys", path=tmp_path / "p").close()
    assert main(["api-key", str(tmp_path / "p"), "--name", "dashboard"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("pnb_") and "shown once" in out.err
    with Project.open(tmp_path / "p", resume=False) as project:
        key_id = project.verify_api_key(key)
    assert main(["api-key", str(tmp_path / "p"), "--list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "dashboard" in listed and "active" in listed
    assert key not in listed
    assert main(["api-key", str(tmp_path / "p"), "--revoke", key_id]) == 0
    capsys.readouterr()
    assert main(["api-key", str(tmp_path / "p"), "--revoke", key_id]) == 2
    assert "no active API key" in capsys.readouterr().err
    assert main(["api-key", str(tmp_path / "p"), "--list"]) == 0
    assert "revoked" in capsys.readouterr().out
