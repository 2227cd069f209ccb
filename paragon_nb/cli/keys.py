"""``paragon-nb key`` and ``paragon-nb token``: the seed tutorial's dashboard steps from a shell.

    paragon-nb key ./my-project --out private.pem     # new signing key; private half once
    paragon-nb token ./my-project user-1 --key private.pem --ttl 600

``key`` generates the project's RS256 signing key: the project keeps only the public half,
the private PEM is written once to a new 0600 file (``--out``; an existing file is never
overwritten) or printed once to stdout. ``token`` signs a user token with that private key
for testing (the seed's "JWT generator for testing": static tokens are never for production)
and checks it against the project's public key. Each is one call into ``runtime``/``tokens``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from paragon_nb.cli._args import add_project_folder
from paragon_nb.errors import ConfigurationError, TokenError

__all__ = ["STATIC_TOKEN_WARNING", "add_parser", "run_key", "run_token", "write_private_pem"]

STATIC_TOKEN_WARNING = (
    "warning: a static token, for testing only. In production your backend signs a "
    "short-lived token for each user (sign_user_token); static tokens should never be used."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Both subcommands: ``key`` and ``token``."""
    k = sub.add_parser(
        "key",
        help="generate a project's signing key (private half shown or written once)",
        description="Generate a new RS256 signing key for the project in PROJECT (it replaces "
        "the old one: tokens signed with the old key stop working). The project keeps only "
        "the public half; the private PEM is written once to --out (a new file, mode 0600) "
        "or, without --out, printed once to stdout. Exit codes: 0 done, 2 usage or "
        "configuration error (no project, --out exists).",
        epilog="example: paragon-nb key ./my-project --out private.pem",
    )
    add_project_folder(k)
    k.add_argument(
        "--out",
        metavar="FILE",
        help="write the private PEM to this new file (mode 0600) instead of stdout",
    )
    k.set_defaults(func=run_key)
    t = sub.add_parser(
        "token",
        help="sign a user token for testing (never for production)",
        description="Sign an RS256 user token for user SUB with the private key in --key, "
        "check it against PROJECT's public key and print it. For testing only: in production "
        "your backend signs a short-lived token per user. Exit codes: 0 done, 2 usage or "
        "configuration error (no project, unreadable key, key not the project's).",
        epilog="example: paragon-nb token ./my-project user-1 --key private.pem --ttl 600",
    )
    add_project_folder(t)
    t.add_argument("sub", metavar="SUB", help="your user's id (the token's sub claim)")
    t.add_argument(
        "--ttl", type=int, default=3600, metavar="S", help="seconds the token is valid (3600)"
    )
    t.add_argument(
        "--key", required=True, metavar="FILE", help="private PEM from `paragon-nb key --out`"
    )
    t.set_defaults(func=run_token)


def write_private_pem(path: Path, pem: str) -> None:
    """Write ``pem`` to a NEW file readable by its owner only (0600 from creation on)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(
            f"{str(path)!r} exists; a private key is written once: choose a new --out file"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot create {str(path)!r}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)


def _open_project(folder: str):  # type: ignore[no-untyped-def]
    from paragon_nb.runtime.project import Project

    return Project.open(folder, resume=False)


def run_key(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and out.exists():  # say so before the project's key is replaced
        write_private_pem(out, "")
    project = _open_project(args.project)
    try:
        key = project.generate_signing_key()
        name = project.name
    finally:
        project.close()
    if out is not None:
        write_private_pem(out, key.private_pem or "")
        print(f"wrote the private key to {out} (mode 0600); keep it secret", file=sys.stderr)
    else:
        sys.stdout.write(key.private_pem or "")
        print("this private key is shown once: store it in your app's secrets", file=sys.stderr)
    print(
        f"project {name!r} keeps the public key, fingerprint (kid) {key.fingerprint}",
        file=sys.stderr,
    )
    return 0


def run_token(args: argparse.Namespace) -> int:
    from paragon_nb.tokens import sign_user_token, verify_user_token

    try:
        pem = Path(args.key).read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read --key {args.key!r}: {exc.strerror}") from None
    try:
        token = sign_user_token(pem, args.sub, ttl=args.ttl)
    except ValueError as exc:
        raise ConfigurationError(f"--key {args.key!r}: {exc}") from None
    project = _open_project(args.project)
    try:
        public = project.public_key
    finally:
        project.close()
    if public is None:
        raise ConfigurationError(
            f"project {args.project!r} has no signing key yet: run paragon-nb key {args.project}"
        )
    try:
        verify_user_token(token, public)
    except TokenError:
        raise ConfigurationError(
            f"--key {args.key!r} is not the signing key of project {args.project!r} (it was "
            "replaced, or belongs to another project): run paragon-nb key again"
        ) from None
    print(STATIC_TOKEN_WARNING, file=sys.stderr)
    print(token)
    return 0
