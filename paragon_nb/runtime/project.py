"""``Project``: a local, Paragon-compatible project in its own folder or PostgreSQL database.

A folder holds ``project.sqlite3`` (WAL) and ``secret.key`` (0600; or
``$PARAGON_NB_SECRET_KEY``); a ``postgresql://`` URL names a database that is the project's,
its secrets' key from ``$PARAGON_NB_SECRET_KEY`` (``runtime.location``). A project has a
signing key (public half only), App Events, workflows (drafts + immutable deployed versions),
Connected Users and the events and runs they caused. Opening a project upgrades an older
schema and resumes the runs a crash or close left unfinished.

This module owns the project's construction (its components wired together), lifecycle,
signing keys, environment secrets, API keys and REST server. ``Project`` inherits its App
Events and workflows from :mod:`.project_catalog`, its Connected Users from
:mod:`.project_users` and its events and runs from :mod:`.project_runs`::

    project = Project.create("Demo", path="demo-project")   # or path="postgresql://..."
    key = project.generate_signing_key()            # keep key.private_pem: shown once
    project.define_app_event("Lead Created", example={"email": "ada@example.com"})
    project.add_workflow(yaml_text); project.deploy("Sync new leads to Marketo")
    project.connect_user("user-1", "marketo", endpoint=..., client_id=..., client_secret=...)
    project.trigger_event("user-1", "Lead Created", {"email": "bo@example.com"})

Failure modes: NotFoundError (unknown workflow/event/run, no project at the path),
WorkflowSpecError (spec or deploy check), RuntimeStateError (settings, enablement),
TokenError subclasses (tokens), EventValidationError (strict projects), MarketoError
(connect), ConfigurationError (no secret key for a PostgreSQL project, or the wrong one),
StoreError (the database failed, or was written by a newer paragon_nb).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import RuntimeStateError, TokenInvalid
from paragon_nb.runtime.apikeys import ApiKey, ApiKeys, IssuedApiKey
from paragon_nb.runtime.budget import StoreBudget
from paragon_nb.runtime.catalog import Catalog
from paragon_nb.runtime.dispatch import Dispatcher
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.gateway import ClientFactory, MarketoCredentials, instance_of
from paragon_nb.runtime.location import Location
from paragon_nb.runtime.options import ProjectOptions, default_client_factory
from paragon_nb.runtime.project_catalog import CatalogMethods
from paragon_nb.runtime.project_runs import RunMethods
from paragon_nb.runtime.project_users import UserMethods
from paragon_nb.runtime.secrets import EnvironmentSecrets
from paragon_nb.runtime.store import ProjectStore
from paragon_nb.runtime.task_history import TaskHistory
from paragon_nb.runtime.timers import Timers
from paragon_nb.runtime.triggers import Triggers
from paragon_nb.runtime.users import ConnectedUsers

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.tokens import SigningKey

__all__ = ["Project", "ProjectOptions"]


class Project(CatalogMethods, UserMethods, RunMethods):
    """A local Paragon project. Use :meth:`create` or :meth:`open`; close it (or use ``with``).

    Both take the :class:`ProjectOptions` as keyword arguments: ``clock``,
    ``client_factory``, ``workers`` (default 5), ``coalesce`` (default True),
    ``max_queued_runs`` (default 1,000,000) and, for :meth:`open`, ``resume``.
    """

    def __init__(
        self,
        path: str | Path | Location,
        options: ProjectOptions | None = None,
        *,
        store: ProjectStore | None = None,
    ) -> None:
        options = options or ProjectOptions()
        self._where = path if isinstance(path, Location) else Location.of(path)
        self._options = options
        self._clock = options.clock or system_clock
        self._box = self._where.secret_box()  # before any connection: a missing key says so
        self._store = store or ProjectStore(self._where.database(pool_size=options.connections))
        self._budget: StoreBudget | None = None  # set with the engine: its owner holds calls
        self._users = ConnectedUsers(
            self._store,
            self._box,
            clock=self._clock,
            client_factory=self._budgeted(
                options.client_factory or default_client_factory(self._clock)
            ),
        )
        self._catalog = Catalog(self._store, clock=self._clock)
        self._secrets = EnvironmentSecrets(self._store, self._box, clock=self._clock)
        self._catalog.shared_setting_ids = lambda: [s.id for s in self._users.shared.declared()]
        self._api_keys = ApiKeys(self._store, clock=self._clock)
        self._history = TaskHistory(self._store, clock=self._clock)
        self._engine = Engine(
            self._store,
            clock=self._clock,
            gateway_for=self._users.gateway_for,
            spec_for=self._catalog.version_spec,
            secrets_for=self._users.secrets_for,
            env_secrets=self._secrets.values,
            functions=self._catalog.functions,
            on_auth_error=self._users.mark_invalid,
            workers=options.workers,
            coalesce=options.coalesce,
            outbound=self._outbound,
            lease_seconds=options.lease_seconds,
            executes=options.execute_runs,
        )
        if options.shared_budget:
            self._budget = StoreBudget(
                self._store,
                clock=self._clock,
                holder=self._engine.owner,
                lease_seconds=options.lease_seconds,
            )
            self._engine.budget = self._budget
        self._dispatch = Dispatcher(
            self._store,
            self._users,
            self._engine,
            clock=self._clock,
            spec_for=self._catalog.version_spec,
            max_queued_runs=options.max_queued_runs,
        )
        self._triggers = Triggers(
            self._store, self._users, self._dispatch, self._engine,
            clock=self._clock, spec_for=self._catalog.version_spec,
        )  # fmt: skip
        background = options.timers if options.timers is not None else options.clock is None
        self._timers = Timers(
            self._engine, clock=self._clock, sources=[self._triggers.tick], background=background
        )
        self._server: Any = None
        self._id: str | None = None
        self._keys: tuple[str, list[str]] | None = None  # (config_version, public keys)
        if options.resume and options.execute_runs and self._store.get_meta("id") is not None:
            self._engine.resume()

    def _budgeted(self, factory: ClientFactory) -> ClientFactory:
        """``factory`` whose clients draw from the project's shared Marketo budget."""

        def make(creds: MarketoCredentials) -> Any:
            client = factory(creds)
            if self._budget is not None:
                self._budget.share(client, instance_of(creds))
            return client

        return make

    # lifecycle --------------------------------------------------------------------------
    @classmethod
    def create(
        cls, name: str, *, path: str | Path, options: ProjectOptions | None = None, **changes: Any
    ) -> Project:
        """A new project in folder ``path`` (created) or in the empty PostgreSQL database of a
        ``postgresql://`` URL. RuntimeStateError if one is there. ``changes``:
        :class:`ProjectOptions` fields, e.g. ``clock=FakeClock()``."""
        chosen = (options or ProjectOptions()).but(**changes)
        where = Location.of(path)
        if not name or not name.strip():
            raise RuntimeStateError("a project needs a non-empty name")
        store = where.create_store(
            name.strip(), now=(chosen.clock or system_clock).time(), pool_size=chosen.connections
        )
        return cls(where, chosen, store=store)

    @classmethod
    def open(
        cls, path: str | Path, *, options: ProjectOptions | None = None, **changes: Any
    ) -> Project:
        """Open the project in folder ``path`` (or the database of a ``postgresql://`` URL)
        and resume its unfinished runs (``resume=False`` not); its schema is upgraded when it
        was made by an older version. ``changes``: :class:`ProjectOptions` fields, e.g.
        ``workers=2``."""
        chosen = (options or ProjectOptions()).but(**changes)
        where = Location.of(path)
        store = where.open_store(pool_size=chosen.connections)  # upgrades an older schema
        return cls(where, chosen, store=store)

    @property
    def options(self) -> ProjectOptions:
        """The options this project was opened with."""
        return self._options

    def close(self) -> None:
        """Stop the server and workers; unfinished runs resume on the next open."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
        self._timers.close()
        self._engine.close()
        self._users.close()
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, id={self.id!r}, path={self._where.shown!r})"

    @property
    def id(self) -> str:
        if self._id is None:  # set once at create; read on every request, so kept
            self._id = self._store.get_meta("id")
        return str(self._id)

    @property
    def name(self) -> str:
        return str(self._store.get_meta("name"))

    @property
    def path(self) -> Path | str:
        """The project's folder, or its PostgreSQL URL (password masked)."""
        return self._where.path

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def strict(self) -> bool:
        """When True, live events must match their App Event schema (else 422)."""
        return self._store.get_meta("strict") == "1"

    @strict.setter
    def strict(self, value: bool) -> None:
        self._store.set_meta("strict", "1" if value else "0")

    # signing keys and tokens ------------------------------------------------------------------
    def generate_signing_key(self, *, bits: int = 2048) -> SigningKey:
        """A new key pair; only its public half is stored and it replaces the old key.
        Keep ``.private_pem`` from the returned key: it is not shown again."""
        from paragon_nb.tokens import SigningKey

        key = SigningKey.generate(bits=bits)
        self._store.replace_signing_key(
            kid=key.kid, public_pem=key.public_pem, now=self._clock.time()
        )
        return key

    @property
    def public_key(self) -> str | None:
        """The active public key PEM (None before :meth:`generate_signing_key`)."""
        keys = self._store.active_public_keys()
        return keys[0] if keys else None

    def verify_user_token(self, token: str, *, leeway: float = 30) -> dict[str, Any]:
        """The claims of a user token signed with this project's key (TokenError otherwise)."""
        from paragon_nb.tokens import verify_user_token

        version = self._store.config_version()
        if self._keys is None or self._keys[0] != version:
            self._keys = (version, self._store.active_public_keys())
        keys = self._keys[1]
        if not keys:
            raise TokenInvalid(
                f"project {self.name!r} has no signing key; call project.generate_signing_key()"
            )
        return verify_user_token(token, keys, leeway=leeway, now=self._clock.time())

    # environment secrets (runtime.secrets) ----------------------------------------------------
    def set_secret(self, name: str, value: str) -> None:
        """Store environment secret ``name`` (encrypted) for ``{{secrets.NAME}}`` in steps;
        every run record and display masks its value. Replaces an existing value."""
        self._secrets.set(name, value)

    def list_secrets(self) -> list[str]:
        """The names of the environment secrets (values are never shown)."""
        return self._secrets.names()

    def delete_secret(self, name: str) -> None:
        """Remove an environment secret (NotFoundError naming the ones set)."""
        self._secrets.delete(name)

    # project API keys and Task History (runtime.apikeys, runtime.task_history) -------------
    def create_api_key(self, name: str | None = None) -> IssuedApiKey:
        """A new project API key for the Task History API. Copy ``.key`` now: only its
        digest is stored, so it is never shown again (the repr hides it)."""
        return self._api_keys.create(name)

    def api_keys(self) -> list[ApiKey]:
        """The project's API keys (id, name, created, last_used, revoked; never the key)."""
        return self._api_keys.list()

    def revoke_api_key(self, key_id: str) -> None:
        """Revoke a key by id: the Task History API refuses it from now on."""
        self._api_keys.revoke(key_id)

    def verify_api_key(self, key: str) -> str:
        """The id of an active API key (TokenInvalid otherwise); records its use."""
        key_id = self._api_keys.verify(key)
        self._api_keys.touch(key_id)
        return key_id

    @property
    def task_history(self) -> TaskHistory:
        """Workflow executions in the Task History API's shape (statuses EXECUTING, FAILED,
        SUCCEEDED, DELAYED): ``.executions(filter)``, ``.execution(id)``..."""
        return self._history

    # REST ----------------------------------------------------------------------------------------
    def serve(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body: int | None = None,
        cors_origins: str | Sequence[str] | None = "loopback",
    ) -> Any:
        """Serve this project's REST API (``runtime.server``); returns a handle with ``.url``
        and ``.stop()``; :meth:`close` stops it too. ``max_body`` (bytes, default 1 MB)
        answers larger request bodies with 413. ``cors_origins``: the browser origins that may
        call it (default ``"loopback"``: pages served from this machine; ``"*"``: any;
        see ``runtime.cors``)."""
        from paragon_nb.runtime.server import DEFAULT_MAX_BODY, serve_project

        handle = serve_project(
            self,
            host=host,
            port=port,
            max_body=DEFAULT_MAX_BODY if max_body is None else max_body,
            cors_origins=cors_origins,
        )
        self._server = handle
        return handle
