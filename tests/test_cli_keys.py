"""``paragon-nb key`` / ``paragon-nb token`` (in process through ``cli.main``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from paragon_nb.cli import main
from paragon_nb.runtime.project import Project
from paragon_nb.tokens import peek_user_token, verify_user_token


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    Project.create("Demo", path=tmp_path / "proj").close()
    return tmp_path / "proj"


def _public(folder: Path) -> str | None:
    project = Project.open(folder, resume=False)
    try:
        return project.public_key
    finally:
        project.close()


def test_key_writes_the_private_half_once_0600_and_the_project_keeps_the_public(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "private.pem"
    assert main(["key", str(project_dir), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out == "" and "PRIVATE KEY" not in said.err and "fingerprint (kid)" in said.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    public = _public(project_dir)
    assert public is not None and "PRIVATE" not in public
    # written once: a second run refuses, and leaves the project's key as it was
    assert main(["key", str(project_dir), "--out", str(out)]) == 2
    assert "exists; a private key is written once" in capsys.readouterr().err
    assert _public(project_dir) == public


def test_key_without_out_shows_the_private_pem_once_on_stdout(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["key", str(project_dir)]) == 0
    said = capsys.readouterr()
    assert said.out.startswith("-----BEGIN PRIVATE KEY-----") and "shown once" in said.err


def test_token_signs_for_the_project_with_the_seed_warning(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k.pem"
    main(["key", str(project_dir), "--out", str(out)])
    capsys.readouterr()
    assert main(["token", str(project_dir), "user-1", "--key", str(out), "--ttl", "600"]) == 0
    said = capsys.readouterr()
    token = said.out.strip()
    claims = verify_user_token(token, _public(project_dir))
    assert claims["sub"] == "user-1" and claims["exp"] - claims["iat"] == 600
    assert peek_user_token(token)["sub"] == "user-1"
    assert "static tokens should never be used" in said.err


def test_token_with_a_replaced_key_or_no_project_is_a_clear_error(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.pem"
    main(["key", str(project_dir), "--out", str(old)])
    main(["key", str(project_dir), "--out", str(tmp_path / "new.pem")])
    capsys.readouterr()
    assert main(["token", str(project_dir), "u", "--key", str(old)]) == 2
    assert "is not the signing key of project" in capsys.readouterr().err
    assert main(["token", str(tmp_path / "nope"), "u", "--key", str(old)]) == 2
    assert "no project in" in capsys.readouterr().err
    assert main(["token", str(project_dir), "u", "--key", str(tmp_path / "missing.pem")]) == 2
    assert "cannot read --key" in capsys.readouterr().err
