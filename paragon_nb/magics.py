"""``%load_ext paragon_nb``: cell and line magics over the local runtime. Thin by design:
each magic parses its input, makes one call into ``runtime`` (or the sandbox) and displays
the answer.

    %%app_event Lead Created          (body: the example payload, JSON)
    %%workflow [--deploy]             (body: the workflow spec, YAML)
    %paragon project [PATH] | deploy NAME | event NAME $payload_or_json [--user SUB]
    %paragon runs [--last N] | users | sandbox start|stop|status

``{{ ... }}`` in a workflow body is the workflow's own templating and is never expanded from
the notebook; Python values come in only as ``$name`` (replaced by the JSON of that
variable). Options are traitlets: ``%config ParagonMagics.project_path = "crm-project"``.
User mistakes surface as one-line ``UsageError``s.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Bool, Int, Unicode

from paragon_nb.display import ErrorSummary, EventSchema, RunHistory, WorkflowDiagram
from paragon_nb.errors import ParagonError

if TYPE_CHECKING:  # the runtime (and pandas) load on first use, not with %load_ext
    from paragon_nb.runtime.project import Project

__all__ = [
    "ParagonMagics",
    "expand_dollar_names",
    "install_short_errors",
    "load_ipython_extension",
]

_DOLLAR = re.compile(r"(?<![\w$\\])\$([A-Za-z_]\w*)")


def expand_dollar_names(text: str, namespace: dict[str, Any]) -> str:
    """Replace ``$name`` with the JSON of ``namespace[name]`` (valid YAML too).

    ``{{ }}`` is left alone. ``\\$name`` keeps a literal ``$name``. An unknown name is a
    UsageError naming it.
    """

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in namespace:
            raise UsageError(f"${name} is not defined in the notebook (define it or escape: \\$)")
        try:
            return json.dumps(namespace[name], default=str)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"${name} cannot be written as JSON: {exc}") from None

    return _DOLLAR.sub(sub, text).replace("\\$", "$")


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as UsageError instead of exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        raise UsageError(message or self.format_usage())


def _parser(prog: str) -> _Parser:
    return _Parser(prog=prog, add_help=False, allow_abbrev=False)


@magics_class
class ParagonMagics(Magics):
    """The paragon_nb magics. One instance per shell; holds the current project."""

    project_path = Unicode(
        "paragon-project",
        help="folder of the project %paragon and the cell magics use (created when missing)",
    ).tag(config=True)
    project_name = Unicode(
        "", help="name given to a project the magics create (default: its folder's name)"
    ).tag(config=True)
    user = Unicode("user-1", help="Connected User id that %paragon event sends as by default").tag(
        config=True
    )
    strict_events = Bool(
        False, help="validate events against their App Event schema (422-style errors)"
    ).tag(config=True)
    short_errors = Bool(
        True,
        help="show a ParagonError from any call as one short block (message, hint, a details "
        "toggle for the traceback); False: IPython's full traceback",
    ).tag(config=True)
    wait_timeout = Int(60, help="seconds %paragon event waits for its runs (0: do not wait)").tag(
        config=True
    )

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._project: Project | None = None
        self._sandbox: Any = None
        self._last_not_triggered: tuple[str, tuple[str, ...]] | None = None
        self._commands: dict[str, Callable[[list[str]], Any]] = {
            "project": self._cmd_project,
            "deploy": self._cmd_deploy,
            "event": self._cmd_event,
            "runs": self._cmd_runs,
            "users": self._cmd_users,
            "sandbox": self._cmd_sandbox,
        }
        self.observe(self._on_strict_change, names="strict_events")
        self.observe(self._on_short_errors_change, names="short_errors")

    # project ----------------------------------------------------------------------------
    @property
    def project(self) -> Project:
        """The current project, opened (or created) at ``project_path`` on first use."""
        if self._project is None:
            self.open_project(self.project_path)
        return self._project

    def open_project(self, path: str | Path) -> Project:
        from paragon_nb.runtime.project import Project

        folder = Path(path).expanduser()
        if self._project is not None:
            self._project.close()
            self._project = None
        if folder.exists() and any(folder.iterdir()):
            project = self._guard(lambda: Project.open(folder))
        else:
            name = self.project_name or folder.resolve().name
            project = self._guard(lambda: Project.create(name, path=folder))
        if self.strict_events:
            project.strict = True
        self._project = project
        self.project_path = str(path)
        return project

    def _on_strict_change(self, change: dict[str, Any]) -> None:
        if self._project is not None:
            self._project.strict = bool(change["new"])

    def _on_short_errors_change(self, change: dict[str, Any]) -> None:
        if self.shell is not None:
            install_short_errors(self.shell, enabled=bool(change["new"]))

    def _guard(self, call: Callable[[], Any]) -> Any:
        """Run one runtime call; its ParagonError becomes a one-line UsageError."""
        try:
            return call()
        except ParagonError as exc:
            if not self.short_errors:
                raise
            text = " ".join(part.strip() for part in str(exc).splitlines())
            raise UsageError(f"{type(exc).__name__}: {text}") from None

    def _ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    # cell magics ---------------------------------------------------------------------------
    @no_var_expand
    @cell_magic
    def app_event(self, line: str, cell: str) -> EventSchema:
        """%%app_event NAME — define or update an App Event; the body is its example JSON."""
        name = line.strip()
        if not name:
            raise UsageError("%%app_event needs a name: %%app_event Lead Created")
        body = expand_dollar_names(cell, self._ns())
        try:
            example = json.loads(body)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"the example for App Event {name!r} is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})"
            ) from None
        event = self._guard(lambda: self.project.define_app_event(name, example=example))
        return EventSchema(name, event.schema)  # the runtime infers it from the example

    @no_var_expand
    @cell_magic
    def workflow(self, line: str, cell: str) -> WorkflowDiagram:
        """%%workflow [--deploy] — add/update a workflow from the YAML body; show it."""
        parser = _parser("%%workflow")
        parser.add_argument("--deploy", action="store_true")
        args = parser.parse_args(shlex.split(line))
        body = expand_dollar_names(cell, self._ns())
        try:
            spec = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise UsageError(
                f"the workflow body is not valid YAML: {exc}".splitlines()[0]
            ) from None
        if not isinstance(spec, dict):
            raise UsageError("the workflow body must be a YAML mapping (name:, trigger:, steps:)")
        project = self.project
        name = spec.get("name")
        exists = any(wf.name == name for wf in self._guard(project.workflows))
        if exists:  # re-running the cell edits the draft
            wf = self._guard(lambda: project.update_workflow(name, spec))
        else:
            wf = self._guard(lambda: project.add_workflow(spec))
        status = "draft saved"
        if args.deploy:
            self._guard(lambda: self.project.deploy(wf.name))
            status = "deployed"
        return WorkflowDiagram(spec, status=status)

    # %paragon ------------------------------------------------------------------------------
    @no_var_expand
    @line_magic
    def paragon(self, line: str) -> Any:
        """%paragon project|deploy|event|runs|users|sandbox ... (see the module docstring)."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%paragon: {exc}") from None
        if not words:
            raise UsageError(f"%paragon needs a subcommand: {', '.join(self._commands)}")
        command = self._commands.get(words[0])
        if command is None:
            raise UsageError(
                f"%paragon: unknown subcommand {words[0]!r}; use one of {', '.join(self._commands)}"
            )
        if words[0] != "event":  # event resolves its $payload to the object itself
            words = [self._expand_word(word) for word in words]
            if words[0] != "project":  # only project takes an object ($project)
                words = [str(word) for word in words]
        return command(words[1:])

    def _expand_word(self, word: str) -> Any:
        """``$name`` alone -> the object; inside a word -> its text (paths, names)."""
        ns = self._ns()
        whole = _DOLLAR.fullmatch(word)
        if whole:
            if whole.group(1) not in ns:
                raise UsageError(f"{word} is not defined in the notebook")
            return ns[whole.group(1)]

        def sub(match: re.Match[str]) -> str:
            if match.group(1) not in ns:
                raise UsageError(f"${match.group(1)} is not defined in the notebook")
            return str(ns[match.group(1)])

        return _DOLLAR.sub(sub, word)

    def _cmd_project(self, argv: list[str]) -> Any:
        if not argv:
            return self.project
        if len(argv) > 1:
            raise UsageError("%paragon project takes one PATH (or $project)")
        target: Any = argv[0]
        if isinstance(target, str | Path):
            return self.open_project(target)
        from paragon_nb.runtime.project import Project

        if not isinstance(target, Project):
            raise UsageError(f"{target!r} is neither a folder nor a Project")
        if self._project is not None and self._project is not target:
            self._project.close()
        self._project = target  # an open Project (e.g. made with a custom client_factory)
        if self.strict_events:
            target.strict = True
        return target

    def _cmd_deploy(self, argv: list[str]) -> Any:
        parser = _parser("%paragon deploy")
        parser.add_argument("name", nargs="+")
        name = " ".join(parser.parse_args(argv).name)
        return self._guard(lambda: self.project.deploy(name))

    def _cmd_event(self, argv: list[str]) -> Any:
        parser = _parser("%paragon event")
        parser.add_argument("words", nargs="+", help="NAME... PAYLOAD")
        parser.add_argument("--user", default=None)
        args = parser.parse_args(argv)
        if len(args.words) < 2:
            raise UsageError("%paragon event NAME $payload (or a JSON object) [--user SUB]")
        name, raw = " ".join(args.words[:-1]), args.words[-1]
        payload = self._payload(raw)
        sub = args.user or self.user
        receipt = self._guard(lambda: self.project.trigger_event(sub, name, payload))
        for reason in receipt.not_triggered:  # why a workflow on this event did not run
            print(f"not triggered: {reason}")
        if not receipt.run_ids:
            self._last_not_triggered = (name, receipt.not_triggered)
        if self.wait_timeout and not self.project.wait_idle(timeout=self.wait_timeout):
            print(
                f"runs of event {receipt} still going after {self.wait_timeout} s; "
                "see %paragon runs"
            )
        return str(receipt)  # the event id (the EventReceipt's str)

    def _payload(self, raw: str) -> dict[str, Any]:
        if raw.startswith("$"):
            name = raw[1:]
            if name not in self._ns():
                raise UsageError(f"{raw} is not defined in the notebook")
            value = self._ns()[name]
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise UsageError(
                    f"payload {raw!r} is neither $variable nor JSON; quote JSON in single quotes"
                ) from None
        if not isinstance(value, dict):
            raise UsageError(
                f"the event payload must be a dict/JSON object, not {type(value).__name__}"
            )
        return value

    def _cmd_runs(self, argv: list[str]) -> RunHistory:
        parser = _parser("%paragon runs")
        parser.add_argument("--last", type=int, default=10)
        args = parser.parse_args(argv)
        hint = None
        if self._last_not_triggered is not None:
            name, reasons = self._last_not_triggered
            hint = f"The last event {name!r} started no run: " + "; ".join(reasons) + "."
        return RunHistory.of(self.project, last=args.last, hint=hint)

    def _cmd_users(self, argv: list[str]) -> Any:
        _parser("%paragon users").parse_args(argv)
        return self._guard(self.project.users)

    def _cmd_sandbox(self, argv: list[str]) -> Any:
        parser = _parser("%paragon sandbox")
        parser.add_argument("action", choices=["start", "stop", "status"])
        action = parser.parse_args(argv).action
        if action == "start":
            if self._sandbox is None:
                from paragon_nb.sandbox.server import MarketoSandbox

                self._sandbox = MarketoSandbox()
                self._sandbox.start()
            return self._sandbox
        if action == "stop":
            if self._sandbox is not None:
                self._sandbox.stop()
                self._sandbox = None
            print("sandbox stopped")
            return None
        if self._sandbox is None:
            print("sandbox: not running (start it with %paragon sandbox start)")
            return None
        return self._sandbox


def _show_short_error(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """IPython custom exception handler: the error as an :class:`ErrorSummary` block."""
    details = "".join(traceback.format_exception(etype, value, tb))
    data, metadata = shell.display_formatter.format(ErrorSummary(value, details=details))
    shell.display_pub.publish(data=data, metadata=metadata)
    return []  # the block above says it all; no second traceback


def install_short_errors(shell: Any, *, enabled: bool = True) -> None:
    """Show every ``ParagonError`` raised in a cell as one short block (``enabled=False``:
    IPython's own traceback again). Other exceptions keep their usual traceback."""
    if enabled:
        shell.set_custom_exc((ParagonError,), _show_short_error)
    elif ParagonError in getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((), None)


def install_on_import(shell: Any) -> None:
    """Called when ``paragon_nb`` is imported inside IPython: short errors unless the user's
    config says ``c.ParagonMagics.short_errors = False``."""
    configured = shell.config.get("ParagonMagics", {}).get("short_errors", True)
    install_short_errors(shell, enabled=bool(configured))


def load_ipython_extension(ipython: Any) -> None:
    """Register :class:`ParagonMagics` (``%load_ext paragon_nb``); ``%config`` reaches it."""
    magics = ParagonMagics(shell=ipython, parent=ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    install_short_errors(ipython, enabled=magics.short_errors)


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover - symmetry
    magics = ipython.magics_manager.registry.get("ParagonMagics")
    if magics is not None and magics._sandbox is not None:
        magics._sandbox.stop()
