"""Flags more than one subcommand takes, declared once."""

from __future__ import annotations

import argparse

__all__ = ["add_bind_address", "add_project_folder"]


def add_bind_address(
    p: argparse.ArgumentParser, *, port_default: int | None, port_help: str
) -> None:
    """``--host`` (127.0.0.1 unless told) and ``--port`` of a server subcommand."""
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=port_default, help=port_help)


def add_project_folder(p: argparse.ArgumentParser, dest: str = "project") -> None:
    """The positional project folder or ``postgresql://`` URL (``PROJECT``, or ``PATH`` for
    ``serve``)."""
    p.add_argument(dest, metavar=dest.upper(), help="project folder or postgresql:// URL")
