"""The sandbox on a real socket: :class:`MarketoSandbox` (a background-thread server on
127.0.0.1) and ``paragon-nb sandbox`` (:func:`run_cli`).

    with MarketoSandbox(rate_limit=(100, 20.0), latency=0.1) as sandbox:
        client = sandbox.client()
        print(sandbox.endpoint, sandbox.identity, sandbox.client_id)

It runs on cheroot with a pool of ``ServerOptions.threads`` (32) workers, so Marketo's
concurrency limit (615 beyond 10 calls in flight) can be exercised; ``server_options=``
changes threads, timeouts and limits.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
from pathlib import Path
from typing import Any

from paragon_nb import settings
from paragon_nb._serving import BackgroundServer, ServerOptions, cannot_bind, until_signalled
from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.sandbox.faults import parse_fault

__all__ = [
    "INFO_FILE",
    "STATE_FILE",
    "MarketoSandbox",
    "default_sandbox",
    "parse_rate_limit",
    "read_sandbox_info",
    "run_cli",
]

STATE_FILE = "sandbox.sqlite3"
INFO_FILE = "sandbox.json"
LAST_PORT_KEY = "cli_last_port"

# inspection helpers served straight from the app
_DELEGATED = frozenset(
    {
        "stats",
        "reset_stats",
        "leads",
        "lead_count",
        "list_members",
        "create_list",
        "add_field",
        "expire_tokens",
        "set_faults",
        "set_limits",
        "process_imports",
        "transport",
    }
)


class MarketoSandbox:
    """A local Marketo served on ``host:port`` (port 0 = any free port) in a daemon thread.

    Takes :class:`SandboxApp`'s keyword arguments (state, credentials, limits, latency,
    faults, clock) or a ready ``app=``. Use as a context manager or ``start()``/``stop()``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app: SandboxApp | None = None,
        server_options: ServerOptions | None = None,
        **app_kwargs: Any,
    ) -> None:
        if app is not None and app_kwargs:
            raise ConfigurationError(
                "MarketoSandbox: pass either app= or SandboxApp keyword arguments, not both "
                f"(got {sorted(app_kwargs)})"
            )
        self.app = app if app is not None else SandboxApp(**app_kwargs)
        self._server = BackgroundServer(self.app, host=host, port=port, options=server_options)

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, port: int | None = None) -> MarketoSandbox:
        """Serve (no-op when running); ``port`` overrides the constructor's. OSError if busy."""
        if port is not None and not self._server.running:
            self._server.port = port
        self._server.start()
        return self

    @property
    def running(self) -> bool:
        return self._server.running

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MarketoSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (raises RuntimeError before ``start()``)."""
        return self._server.url

    @property
    def endpoint(self) -> str:
        return self.base_url + "/rest"

    @property
    def identity(self) -> str:
        return self.base_url + "/identity"

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def client_id(self) -> str:
        return self.app.client_id

    @property
    def client_secret(self) -> str:
        return self.app.client_secret

    def info(self, *, with_secret: bool = True) -> dict[str, str]:
        """``{"endpoint", "identity", "client_id"[, "client_secret"]}``."""
        out = {"endpoint": self.endpoint, "identity": self.identity, "client_id": self.client_id}
        if with_secret:
            out["client_secret"] = self.client_secret
        return out

    def client(self, **kwargs: Any) -> Any:
        """A ``MarketoClient`` for this sandbox over the socket."""
        from paragon_nb.marketo.client import MarketoClient

        kwargs.setdefault("identity", self.identity)
        return MarketoClient(self.endpoint, self.client_id, self.client_secret, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in _DELEGATED:
            return getattr(self.app, name)
        raise AttributeError(f"'MarketoSandbox' object has no attribute {name!r}")

    def __repr__(self) -> str:
        where = self._server.url if self._server.running else "stopped"
        return f"MarketoSandbox({where}, client_id={self.client_id!r}, client_secret='***')"


def default_sandbox(**kwargs: Any) -> MarketoSandbox:
    """A (not yet started) sandbox on the default state file ``home()/sandbox.sqlite3``,
    so its leads, lists and credentials persist between runs."""
    kwargs.setdefault("state", settings.home() / STATE_FILE)
    return MarketoSandbox(**kwargs)


def read_sandbox_info() -> dict[str, Any] | None:
    """What the last ``paragon-nb sandbox`` wrote to ``home()/sandbox.json`` (no secret)."""
    path = settings.home(create=False) / INFO_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def parse_rate_limit(text: str | None) -> tuple[int, float] | None:
    """``"100/20"`` -> (100, 20.0); ``"0"``/``"off"``/empty -> None. ConfigurationError else."""
    if text is None or text.strip().lower() in ("", "0", "off", "none"):
        return None
    calls, sep, seconds = text.partition("/")
    try:
        parsed = (int(calls), float(seconds) if sep else 20.0)
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 0 or parsed[1] <= 0:
        raise ConfigurationError(
            f"--rate-limit {text!r} is not CALLS/SECONDS; e.g. 100/20 (Marketo's), or 0 for off"
        )
    return parsed if parsed[0] else None


def run_cli(args: argparse.Namespace) -> int:
    """``paragon-nb sandbox``: print one JSON line, serve until SIGINT/SIGTERM, exit 0."""
    if args.memory:
        state: str | Path = ":memory:"
    else:
        state = Path(args.state) if args.state else settings.home() / STATE_FILE
    if args.latency < 0 or args.token_ttl <= 0:
        raise ConfigurationError("--latency must be >= 0 and --token-ttl > 0")
    sandbox = MarketoSandbox(
        host=args.host,
        port=args.port or 0,
        state=state,
        client_id=args.client_id,
        client_secret=args.client_secret,
        rate_limit=parse_rate_limit(args.rate_limit),
        max_concurrency=args.max_concurrency or None,
        daily_quota=args.daily_quota or None,
        token_ttl=args.token_ttl,
        latency=args.latency / 1000.0,
        faults=[parse_fault(spec) for spec in args.fault],
        # a fixed seed would fire the same few faults every run; the CLI draws one unless
        # --seed asks to replay
        seed=args.seed if args.seed is not None else random.randrange(2**32),
    )
    with until_signalled() as stop:
        try:
            _serve_cli(sandbox, args, state, stop)
        finally:
            sandbox.stop()
            _remove_info_if_ours()
    return 0


def _serve_cli(
    sandbox: MarketoSandbox, args: argparse.Namespace, state: str | Path, stop: threading.Event
) -> None:
    _start_on_stable_port(sandbox, args)
    # the info file first: whoever reads the JSON line may look for it at once
    info_path = settings.home() / INFO_FILE
    info = {**sandbox.info(with_secret=False), "pid": os.getpid(), "state": str(state)}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    sys.stdout.write(json.dumps(sandbox.info()) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.2):
        pass


def _start_on_stable_port(sandbox: MarketoSandbox, args: argparse.Namespace) -> None:
    """Start the server. A persistent sandbox without ``--port`` comes back on the port it
    last used (when free), so endpoints stored elsewhere (a connected user in a project,
    a notebook) keep working across restarts, as a real instance's URL does."""
    state = sandbox.app.state
    remembered = state.get_meta(LAST_PORT_KEY) if state.path != ":memory:" else None
    if args.port is None and remembered:
        try:
            sandbox.start(port=int(remembered))
        except OSError:
            pass  # busy now: any free port will do
    if not sandbox.running:
        try:
            sandbox.start(port=args.port or 0)
        except OSError as exc:
            raise cannot_bind(args.host, args.port, exc) from None
    if state.path != ":memory:":
        state.set_meta(LAST_PORT_KEY, str(sandbox.port))


def _remove_info_if_ours() -> None:
    info = read_sandbox_info()
    if info and info.get("pid") == os.getpid():
        try:
            (settings.home(create=False) / INFO_FILE).unlink()
        except FileNotFoundError:
            pass
