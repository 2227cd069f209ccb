"""``Project``: a local, Paragon-compatible project in its own folder or PostgreSQL database.

A folder holds ``project.sqlite3`` (WAL) and ``secret.key`` (0600; or
``$PARAGON_NB_SECRET_KEY``); a ``postgresql://`` URL names a database that is the project's,
its secrets' key from ``$PARAGON_NB_SECRET_KEY`` (``runtime.location``). A project has a
signing key (public half only), App Events, workflows (drafts + immutable deployed versions),
Connected Users and the events and runs they caused. Opening a project upgrades an older
schema and resumes the runs a crash or close left unfinished::

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

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import (
    MarketoAuthError,
    NotFoundError,
    RuntimeStateError,
    TokenInvalid,
)
from paragon_nb.runtime.affinity import Claimable, InstanceLeases
from paragon_nb.runtime.api import EventReceipt
from paragon_nb.runtime.apikeys import ApiKey, ApiKeys, IssuedApiKey
from paragon_nb.runtime.budget import StoreBudget
from paragon_nb.runtime.catalog import Catalog
from paragon_nb.runtime.dispatch import Dispatcher
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.events import validate_example
from paragon_nb.runtime.gateway import ClientFactory, instance_of
from paragon_nb.runtime.location import Location
from paragon_nb.runtime.options import ProjectOptions, default_client_factory
from paragon_nb.runtime.outbound import OutboundPolicy
from paragon_nb.runtime.secrets import EnvironmentSecrets
from paragon_nb.runtime.steps import MarketoCredentials
from paragon_nb.runtime.store import ProjectStore, dumps, loads
from paragon_nb.runtime.task_history import TaskHistory
from paragon_nb.runtime.timers import Timers
from paragon_nb.runtime.triggers import RequestAnswer, Triggers
from paragon_nb.runtime.users import ConnectedUsers
from paragon_nb.runtime.views import events_list, queue_frame, run_detail, runs_frame, users_frame
from paragon_nb.runtime.workflows import Workflow, WorkflowSpec

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from paragon_nb.tokens import SigningKey

__all__ = ["Project", "ProjectOptions"]


class Project:
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
        self._store = store or ProjectStore(self._where.database())
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
        store = where.create_store(name.strip(), now=(chosen.clock or system_clock).time())
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
        store = where.open_store()  # upgrades an older schema; refuses a newer one
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

    # App Events and workflows (runtime.catalog) -----------------------------------------------
    def define_app_event(self, name: str, *, example: Mapping[str, Any]) -> dict[str, Any]:
        """Define (or update the example of) an App Event; its JSON Schema is inferred.
        The example must be a JSON object (RuntimeStateError naming the bad value)."""
        return self._catalog.define_app_event(name, example=example)

    def rename_app_event(self, name: str, new_name: str) -> dict[str, Any]:
        """Rename an App Event; drafts follow, deployed versions stay bound to it by id."""
        return self._catalog.rename_app_event(name, new_name)

    def app_event(self, name: str) -> dict[str, Any]:
        """``{id, name, example, schema}`` (NotFoundError with did-you-mean)."""
        return self._catalog.app_event(name)

    def app_events(self) -> list[dict[str, Any]]:
        return self._catalog.app_events()

    def register_function(self, name: str, fn: Callable[..., Any], *, output: Any = None) -> None:
        """Make ``fn`` callable from ``python`` steps (``function: name``, called with the
        step's ``input`` as keyword arguments; its return value is ``steps.<id>.result``).
        ``output`` is an example return value for the deploy check. Functions are not
        persisted: register them again after opening the project."""
        self._catalog.register_function(name, fn, output=output)

    def add_workflow(self, spec: str | Mapping[str, Any] | WorkflowSpec) -> Workflow:
        """Add a workflow draft from YAML text, a dict or a spec (WorkflowSpecError if bad)."""
        return self._catalog.add_workflow(spec)

    def update_workflow(
        self, workflow: str, spec: str | Mapping[str, Any] | WorkflowSpec
    ) -> Workflow:
        """Replace the draft (the deployed version is untouched until the next deploy)."""
        return self._catalog.update_workflow(workflow, spec)

    def workflow(self, workflow: str) -> Workflow:
        """A workflow by name or id (NotFoundError with did-you-mean)."""
        return self._catalog.workflow(workflow)

    def workflows(self) -> list[Workflow]:
        return self._catalog.workflows()

    def versions(self, workflow: str) -> list[dict[str, Any]]:
        """Version history: version, deployed_at, event, spec, live."""
        return self._catalog.versions(workflow)

    def deploy(self, workflow: str) -> int:
        """Check the draft's references and snapshot it as the live version; returns it.
        WorkflowSpecError names each bad reference and what is available."""
        return self._catalog.deploy(workflow)

    def restore(self, workflow: str, version: int) -> Workflow:
        """Copy version ``version`` into the draft, as Paragon's Version History restore
        does; deploy it to make it live again."""
        return self._catalog.restore(workflow, version)

    def undeploy(self, workflow: str) -> None:
        """Take the workflow offline (no new runs); history and user settings are kept."""
        self._catalog.undeploy(workflow)

    # Connected Users ---------------------------------------------------------------------------
    def connect_user(
        self,
        sub: str,
        integration: str,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        identity: str | None = None,
    ) -> dict[str, Any]:
        """Validate the Marketo credentials (token + describe), store them encrypted and
        return the user's state. Raises the MarketoError when Marketo refuses them."""
        creds = MarketoCredentials(endpoint, client_id, client_secret, identity)
        self._users.connect(sub, integration, creds)
        return self.user_state(sub)

    def disconnect_user(self, sub: str, integration: str) -> None:
        """Remove the credential, clear the user's workflow settings and disable them."""
        self._users.disconnect(sub, integration)

    def check_credential(self, sub: str) -> str:
        """Validate the stored credential again: "VALID" or "INVALID" (stored)."""
        return self._users.recheck(sub)

    def marketo_client(self, sub: str) -> Any:
        """The Marketo client of the user's credential (e.g. to list their static lists)."""
        return self._users.gateway_for(sub, require_valid=False).client

    def marketo_request(
        self,
        sub: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Any Marketo REST call with the user's credential (the SDK proxy): same client,
        limiter and retries as the user's workflow steps. ``path`` is relative to the REST
        API (``v1/leads.json``) or full (``/rest/v1/...``). Returns Marketo's JSON answer.
        StepError when the user has no VALID credential; the MarketoError of a refusal (an
        auth refusal marks the credential INVALID, as a run's would)."""
        gateway = self._users.gateway_for(sub)
        try:
            return gateway.request(method, path, params=dict(params or {}), body=body)["body"]
        except MarketoAuthError as exc:
            self._users.mark_invalid(sub, exc)
            raise

    def set_workflow_settings(
        self, sub: str, workflow: str, settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Merge settings for a deployed workflow (checked; a marketo_list must exist in the
        user's Marketo). Returns the user's state."""
        wf_id, spec = self._catalog.deployed(workflow)
        self._users.set_settings(sub, wf_id, spec, settings)
        return self.user_state(sub)

    def define_shared_settings(self, settings: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Declare Marketo's integration-level user settings (Connect Portal > Configuration
        > Settings): same fields as a workflow's ``user_settings`` (id, label, type,
        required, tooltip, options/fields/dropdown, default). Every workflow of the
        integration may reference them as ``{{settings.<id>}}``; a workflow's own setting of
        the same id wins there. Replaces the earlier declarations; WorkflowSpecError if bad."""
        return self._users.shared.declare(settings)

    def shared_settings(self) -> list[Any]:
        """The declared integration-level settings (UserSetting objects)."""
        return self._users.shared.declared()

    def set_shared_settings(self, sub: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Merge the user's integration-level settings (checked like workflow settings; a
        field_mapping's Marketo fields must exist in their Marketo). Returns the user's
        state (``integrations.marketo.sharedSettings``)."""
        self._users.set_shared(sub, settings)
        return self.user_state(sub)

    def enable_workflow(self, sub: str, workflow: str) -> dict[str, Any]:
        """Enable for the user (VALID credential and required settings needed)."""
        wf_id, spec = self._catalog.deployed(workflow)
        self._users.enable(sub, wf_id, spec)
        return self.user_state(sub)

    def disable_workflow(self, sub: str, workflow: str) -> dict[str, Any]:
        wf_id = self._catalog.workflow_row(workflow).id
        self._users.disable(sub, wf_id)
        return self.user_state(sub)

    def user_state(self, sub: str) -> dict[str, Any]:
        """The user like the SDK's ConnectUser: authenticated, userId, meta, integrations."""
        return self._users.state(sub)

    def set_user_meta(self, sub: str, meta: Mapping[str, Any]) -> dict[str, Any]:
        data = validate_example(meta, name=f"metadata of user {sub!r}")
        self._store.set_user_meta(sub, data, now=self._clock.time())
        return self.user_state(sub)

    def users(self) -> pd.DataFrame:
        """Connected users: user, marketo (credential status), credential_id, endpoint,
        enabled_workflows, meta, created."""
        return users_frame(self._store)

    # events and runs -------------------------------------------------------------------------
    def trigger_event(
        self,
        sub: str,
        name: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> EventReceipt:
        """Persist the event (with one queued run per deployed workflow on ``name`` that the
        user enabled with a VALID credential) in one transaction, start the runs and return
        an :class:`~paragon_nb.runtime.api.EventReceipt` (``str()`` of it is the event id;
        ``not_triggered`` says why a workflow did not run). Accepted even when no workflow
        runs, as Paragon does.

        ``idempotency_key``: a repeat with the same user and key within 24 h returns the first
        receipt (``repeated=True``) and records nothing. Raises BackpressureError (nothing
        recorded; retry after ``retry_after`` s) when ``max_queued_runs`` runs are unfinished.
        """
        return self._dispatch.trigger(
            sub, name, payload, strict=self.strict, idempotency_key=idempotency_key
        )

    def tick(self) -> dict[str, int]:
        """Do what is due at the clock's time: wake runs whose Delay passed, fire Scheduler
        triggers, poll "Lead Added to List" triggers; returns counts (``woken``, ...).
        With the real clock the project does this by itself about once a second; with an
        injected clock call it after ``clock.advance(...)``."""
        return self._timers.tick()

    def trigger_workflow(
        self,
        sub: str,
        workflow: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> RequestAnswer:
        """Call a Request-triggered workflow (id or name) as user ``sub``, like
        ``POST /projects/{id}/sdk/triggers/{workflowId}``: the run sees ``request.body``,
        ``request.query`` and ``request.headers``. Returns the Response step's ``status`` and
        ``body`` (202 when the workflow has no Response step); ``run_id`` names the run."""
        return self._triggers.request(sub, workflow, body=body, query=query, headers=headers)

    def allow_outbound(self, hosts: Sequence[str]) -> list[str]:
        """Hosts Request steps may call besides loopback (``api.example.com``, ``*.corp``,
        ``*`` for any), replacing the list; returns it. Kept in the project."""
        cleaned = sorted({h.strip().lower() for h in hosts if h and h.strip()})
        self._store.set_meta("outbound_allow", dumps(cleaned))
        return cleaned

    def _outbound(self) -> OutboundPolicy:
        raw = self._store.get_meta("outbound_allow")
        return OutboundPolicy(loads(raw) if raw else (), transport=self._options.http_transport)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every started run finished (True) or ``timeout`` seconds pass (False)."""
        return self._engine.wait_idle(timeout)

    def claim_runs(self, limit: int | None = None, *, only: Claimable | None = None) -> int:
        """Take up to ``limit`` due queued runs that no live process holds and run them in
        this process; returns how many. Worker processes call it in a loop
        (runtime.worker), with ``only``: the runs of the Marketo instances they hold
        (:meth:`instance_leases`); an embedded project claims once, when it opens."""
        return len(self._engine.claim(limit, only=only))

    def instance_leases(self) -> InstanceLeases:
        """This process's leases on Marketo instances: a worker batches the writes of the
        instances it holds (runtime.affinity)."""
        return InstanceLeases(
            self._store, owner=self._engine.owner, clock=self._clock,
            lease_seconds=self._options.lease_seconds,
        )  # fmt: skip

    def reap_runs(self) -> int:
        """Hand back the runs of processes on this machine that are gone (without waiting
        for their leases); returns how many holders were gone."""
        return len(self._engine.reap())

    @property
    def active_runs(self) -> int:
        """Runs this process holds and has not finished."""
        return self._engine.pending

    def replay(self, run_id: str, *, version: str = "original") -> str:
        """Run a past run again with its stored event payload and settings; returns the new
        run id. ``version="original"`` (default) uses the version it ran with, ``"deployed"``
        the live one. # (U) Paragon's UI docs say current version, its API docs the original."""
        row = self._run_row(run_id)
        wf_version = int(row["version"])
        if version == "deployed":
            wf = self._catalog.workflow_row(row["workflow_id"])
            if wf.deployed_version is None:
                raise RuntimeStateError(f"workflow {wf.name!r} is not deployed")
            wf_version = wf.deployed_version
        elif version != "original":
            raise RuntimeStateError(f"version must be 'original' or 'deployed', got {version!r}")
        return self._dispatch.replay(row, version=wf_version)

    def _run_row(self, run_id: str) -> Any:
        row = self._store.run_row(run_id)
        if row is None:
            raise NotFoundError(f"no run {run_id!r}; see project.runs() for run ids")
        return row

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, workflow, version, user, event, status (queued/running/
        succeeded/failed), started (UTC), duration (s), error, event_id, replay_of."""
        return runs_frame(self._store)

    def run(self, run_id: str) -> dict[str, Any]:
        """Details of one run, with its event and every step record (secrets masked)."""
        return run_detail(self._store, self._run_row(run_id))

    def events(self) -> list[dict[str, Any]]:
        """Every accepted event: id, user, name, payload, received, run_count (oldest first)."""
        return events_list(self._store)

    def queue(self) -> pd.DataFrame:
        """The Marketo work queue, one row per Marketo instance this project has sent to:
        instance (endpoint#client id), queued (records waiting for a call), in_flight_calls,
        calls (made since the project was opened), records, records_per_call, limiter."""
        return queue_frame(self._engine.queue())

    @property
    def unfinished_runs(self) -> int:
        return self._store.count_unfinished_runs()

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
