"""``paragon-nb``: one entry point, one module per subcommand (paragon_nb/cli/)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from paragon_nb.cli import COMMANDS, build_parser, main


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [group] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(group.choices)


def test_every_subcommand_comes_from_the_registry_and_runs_its_module() -> None:
    subs = _subparsers()
    assert list(subs) == [
        "sandbox",
        "sync",
        "history",
        "serve",
        "worker",
        "key",
        "token",
        "api-key",
        "postgres",
    ]
    modules = {c.__name__.rpartition(".")[2] for c in COMMANDS}
    for name, sub in subs.items():
        func = sub.get_default("func")
        module = func.__module__.rpartition(".")[2]
        assert module in modules, f"{name}: run by {func.__module__}, not a registered module"


@pytest.mark.parametrize(
    "name", ["sandbox", "sync", "history", "serve", "worker", "key", "token", "api-key", "postgres"]
)
def test_every_flag_is_described(name: str) -> None:
    undocumented = [a.dest for a in _subparsers()[name]._actions if not a.help]
    assert undocumented == []


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["nonsense"])
    assert info.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_help_loads_no_sync_stack() -> None:
    """``paragon-nb --help`` (and ``sandbox``/``serve`` start-up) does not pay for pandas."""
    code = (
        "import sys\nfrom paragon_nb.cli import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in ('pandas', 'paragon_nb.sync.runner') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_is_the_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "paragon_nb.cli", "--version"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.startswith("paragon-nb ")
