"""Connected Users: Marketo credentials (encrypted at rest), per-workflow settings and
enablement, and one cached Marketo gateway per credential. The user's state is built in
:mod:`~paragon_nb.runtime.views`; setting values are converted by
:mod:`~paragon_nb.runtime.setting_values`.

Rules (Paragon's, reference §5.5/§6): connecting validates the credentials (token +
describe) before storing them; a workflow can be enabled only with a VALID credential and
every required setting set; a ``marketo_list`` setting must name a static list that exists in
that user's Marketo; disconnecting clears the user's settings and disables their workflows.

Client secrets are encrypted with the project's :class:`~paragon_nb.settings.SecretBox` and
never returned, logged or put in an error.

    users.connect("user-1", "marketo", MarketoCredentials(endpoint, client_id, client_secret))
    users.enable("user-1", workflow_id, spec)   # RuntimeStateError naming what is missing
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import (
    MarketoAuthError,
    MarketoError,
    NotFoundError,
    RuntimeStateError,
    StepError,
    did_you_mean,
)
from paragon_nb.runtime.api import MARKETO, CredentialStatus, UserState
from paragon_nb.runtime.gateway import (
    ClientFactory,
    MarketoCredentials,
    MarketoGateway,
    instance_of,
)
from paragon_nb.runtime.masking import mask_secrets
from paragon_nb.runtime.rows import CredentialRow
from paragon_nb.runtime.setting_values import coerce_setting, mapped_marketo_fields
from paragon_nb.runtime.shared_settings import SharedSettings
from paragon_nb.runtime.store import ProjectStore, loads
from paragon_nb.runtime.views import user_state
from paragon_nb.runtime.workflows import SettingType, WorkflowSpec
from paragon_nb.settings import SecretBox

__all__ = ["INTEGRATIONS", "ConnectedUsers", "coerce_setting"]

INTEGRATIONS = (MARKETO,)
VALID, INVALID = CredentialStatus.VALID, CredentialStatus.INVALID


def _check_integration(integration: str) -> None:
    if integration not in INTEGRATIONS:
        raise NotFoundError(
            f"integration {integration!r} is not available; available: {', '.join(INTEGRATIONS)}"
        )


class ConnectedUsers:
    """Credentials, settings and enablement of a project's users (thread-safe)."""

    def __init__(
        self,
        store: ProjectStore,
        box: SecretBox,
        *,
        clock: Clock,
        client_factory: ClientFactory,
    ) -> None:
        self._store = store
        self._box = box
        self._clock = clock
        self._client_factory = client_factory
        self._lock = threading.Lock()
        self._gateways: dict[str, MarketoGateway] = {}
        self._cache: dict[tuple[str, str], tuple[str, Any]] = {}
        self._owners: dict[str, str] = {}  # credential id -> sub
        self.shared = SharedSettings(store)  # integration-level settings

    # credentials ---------------------------------------------------------------------------
    def connect(self, sub: str, integration: str, creds: MarketoCredentials) -> None:
        """Validate (token + describe) then store encrypted. Raises the MarketoError on
        failure and keeps any previous credential as it was."""
        _check_integration(integration)
        for label in ("endpoint", "client_id", "client_secret"):
            value = getattr(creds, label)
            if not isinstance(value, str) or not value.strip():
                raise RuntimeStateError(f"connect_user({sub!r}): {label} is empty; it is required")
        creds = replace(creds, endpoint=creds.endpoint.strip(), client_id=creds.client_id.strip())
        gateway = MarketoGateway(self._client_factory(creds), instance=instance_of(creds))
        try:
            gateway.check()
        except MarketoError as exc:
            gateway.close()
            message = mask_secrets(exc.message, [creds.client_secret])  # str(exc) adds "[code] "
            raise type(exc)(
                f"Marketo refused the credentials of user {sub!r} (client id {creds.client_id!r}): "
                f"{message}; check the Client ID/Secret and the endpoint URL",
                code=exc.code,
                request_id=exc.request_id,
                http_status=exc.http_status,
            ) from None
        now = self._clock.time()
        cred_id = str(uuid.uuid4())
        self._store.put_credential(
            CredentialRow(
                id=cred_id, sub=sub, integration=integration, endpoint=creds.endpoint,
                identity=creds.identity, client_id=creds.client_id,
                secret_enc=self._box.encrypt(creds.client_secret), status=VALID, error=None,
                created=now, checked=now,
            )
        )  # fmt: skip
        with self._lock:
            self._drop_gateways_of(sub)
            self._gateways[cred_id] = gateway
            self._owners[cred_id] = sub

    def disconnect(self, sub: str, integration: str) -> None:
        _check_integration(integration)
        if self._store.credential(sub, integration) is None:
            raise NotFoundError(
                f"user {sub!r} has not connected {integration}; nothing to disconnect"
            )
        self._store.delete_credential(sub, integration)
        self.shared.clear(sub, integration=integration)  # Paragon clears the user's settings
        with self._lock:
            self._drop_gateways_of(sub)

    def _drop_gateways_of(self, sub: str) -> None:
        for cred_id in [c for c, owner in self._owners.items() if owner == sub]:
            self._owners.pop(cred_id)
            gateway = self._gateways.pop(cred_id, None)
            if gateway is not None:
                gateway.close()

    def credentials(self, sub: str) -> MarketoCredentials | None:
        row = self._store.credential(sub, MARKETO)
        return None if row is None else self._decrypt(row)

    def _decrypt(self, row: CredentialRow) -> MarketoCredentials:
        """The credentials of a ``credentials`` row (ConfigurationError if the key changed)."""
        return MarketoCredentials(
            row.endpoint, row.client_id, self._box.decrypt(row.secret_enc), row.identity
        )

    def secrets_for(self, sub: str) -> list[str]:
        """The user's secrets, to mask in run records (cached until configuration changes)."""

        def load() -> list[str]:
            creds = self.credentials(sub)
            return [] if creds is None else [creds.client_secret]

        return list(self._cached("secrets", sub, load))

    def gateway_for(self, sub: str, *, require_valid: bool = True) -> MarketoGateway:
        """The cached gateway of the user's credential (StepError when unusable). The check
        is cached per user until configuration changes (a reconnect, an INVALID mark)."""
        gateway, status = self._cached("gateway", sub, lambda: self._gateway_and_status(sub))
        if gateway is None:
            raise StepError(
                f"user {sub!r} has no Marketo credential; connect it with project.connect_user"
            )
        if require_valid and status != VALID:
            raise StepError(
                f"user {sub!r}'s Marketo credential is {status}; reconnect it "
                "with project.connect_user"
            )
        return gateway  # type: ignore[no-any-return]

    def _cached(self, kind: str, sub: str, load: Callable[[], Any]) -> Any:
        version = self._store.config_version()
        with self._lock:
            hit = self._cache.get((kind, sub))
        if hit is not None and hit[0] == version:
            return hit[1]
        value = load()
        with self._lock:
            self._cache[(kind, sub)] = (version, value)
        return value

    def _gateway_and_status(self, sub: str) -> tuple[MarketoGateway | None, str | None]:
        row = self._store.credential(sub, MARKETO)
        if row is None:
            return None, None
        with self._lock:
            gateway = self._gateways.get(row.id)
        if gateway is None:
            creds = self._decrypt(row)
            fresh = MarketoGateway(self._client_factory(creds), instance=instance_of(creds))
            with self._lock:
                gateway = self._gateways.setdefault(row.id, fresh)
                self._owners[row.id] = sub
            if gateway is not fresh:
                fresh.close()
        return gateway, row.status

    def mark_invalid(self, sub: str, error: MarketoAuthError) -> None:
        """A run hit an auth error: the credential becomes INVALID until the user reconnects."""
        row = self._store.credential(sub, MARKETO)
        if row is not None:
            message = mask_secrets(str(error), self.secrets_for(sub))
            self._store.set_credential_status(
                row.id, INVALID, error=message, now=self._clock.time()
            )

    def recheck(self, sub: str) -> str:
        """Validate the stored credential again; returns and stores VALID or INVALID."""
        row = self._store.credential(sub, MARKETO)
        if row is None:
            raise NotFoundError(f"user {sub!r} has not connected marketo")
        try:
            self.gateway_for(sub, require_valid=False).check()
        except MarketoError as exc:
            self._store.set_credential_status(
                row.id,
                INVALID,
                error=mask_secrets(str(exc), self.secrets_for(sub)),
                now=self._clock.time(),
            )
            return INVALID
        self._store.set_credential_status(row.id, VALID, error=None, now=self._clock.time())
        return VALID

    # settings and enablement -------------------------------------------------------------------
    def _require_connected(self, sub: str) -> CredentialRow:
        row = self._store.credential(sub, MARKETO)
        if row is None:
            raise RuntimeStateError(
                f"user {sub!r} has not connected Marketo; call project.connect_user first"
            )
        return row

    def settings_of(self, sub: str, wf_id: str) -> tuple[dict[str, Any], bool]:
        row = self._store.workflow_setting(sub, wf_id)
        if row is None:
            return {}, False
        return loads(row["settings"]) or {}, bool(row["enabled"])

    def set_settings(
        self, sub: str, wf_id: str, spec: WorkflowSpec, settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Merge ``settings`` (None removes a key) after checking names, types and lists."""
        self._require_connected(sub)
        current, enabled = self.settings_of(sub, wf_id)
        merged = self._merge(
            sub, current, settings, spec.user_settings, where=f"workflow {spec.name!r}",
            enabled=enabled,
        )  # fmt: skip
        self._store.put_workflow_setting(
            sub, wf_id, settings=merged, enabled=enabled, now=self._clock.time()
        )
        return merged

    def set_shared(self, sub: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Merge integration-level settings (checked as workflow settings are)."""
        self._require_connected(sub)
        enabled = any(bool(r["enabled"]) for r in self._store.workflow_settings(sub))
        merged = self._merge(
            sub, self.shared.values_of(sub), settings, self.shared.declared(),
            where="a workflow of the integration", enabled=enabled,
        )  # fmt: skip
        self.shared.put(sub, merged, now=self._clock.time())
        return merged

    def _merge(
        self,
        sub: str,
        current: dict[str, Any],
        settings: Mapping[str, Any],
        declared: list[Any],
        *,
        where: str,
        enabled: bool,
    ) -> dict[str, Any]:
        if not isinstance(settings, Mapping):
            raise RuntimeStateError(
                f"settings must be a dict of setting id -> value, got {settings!r}"
            )
        by_id = {s.id: s for s in declared}
        for key, value in settings.items():
            setting = by_id.get(key)
            if setting is None:
                raise RuntimeStateError(
                    f"{where} has no user setting {key!r}; declared: "
                    f"{', '.join(by_id) or 'none'}" + did_you_mean(str(key), list(by_id))
                )
            if value is None:
                if enabled and setting.required:
                    raise RuntimeStateError(
                        f"setting {key!r} is required while {where} is enabled; "
                        "disable the workflow first"
                    )
                current.pop(key, None)
                continue
            coerced = coerce_setting(setting, value)
            if setting.type is SettingType.MARKETO_LIST:
                self._check_list(sub, coerced)
            elif setting.type is SettingType.FIELD_MAPPING:
                self._check_fields(sub, key, mapped_marketo_fields(coerced))
            current[key] = coerced
        return current

    def _check_fields(self, sub: str, key: str, fields: list[str]) -> None:
        """Every Marketo field of a mapping must exist in the user's Marketo (describe)."""
        if not fields:
            return
        known = [f.name for f in self.gateway_for(sub).client.describe() if f.name]
        missing = [f for f in fields if f not in known]
        if missing:
            hints = "".join(did_you_mean(f, known) for f in missing[:3])
            raise RuntimeStateError(
                f"setting {key!r}: Marketo field(s) {', '.join(map(repr, missing))} do not exist "
                f"in user {sub!r}'s Marketo (describe lists {len(known)} fields){hints}"
            )

    def _check_list(self, sub: str, list_id: int) -> None:
        gateway = self.gateway_for(sub)
        if gateway.get_list(list_id) is not None:
            return
        try:
            lists = list(gateway.client.get_lists())
            names = ", ".join(f"{x.id} ({x.name})" for x in lists[:20]) or "none"
        except (MarketoError, AttributeError, TypeError):
            names = "unknown"
        raise RuntimeStateError(
            f"Marketo list {list_id} does not exist in user {sub!r}'s Marketo; "
            f"existing static lists: {names}"
        )

    def effective_settings(self, sub: str, wf_id: str, spec: WorkflowSpec) -> dict[str, Any]:
        """Stored settings plus declared defaults (what a run sees)."""
        stored, _ = self.settings_of(sub, wf_id)
        out = self.shared.effective(sub)  # integration-level first: a workflow's own win
        out.update({s.id: s.default for s in spec.user_settings if s.default is not None})
        out.update(stored)
        return out

    def enable(self, sub: str, wf_id: str, spec: WorkflowSpec) -> None:
        """Enable (idempotent). # (U) the JS SDK throws when already enabled; we do not."""
        row = self._require_connected(sub)
        if row.status != VALID:
            raise RuntimeStateError(
                f"user {sub!r}'s Marketo credential is {row.status}; reconnect before "
                f"enabling {spec.name!r}"
            )
        settings = self.effective_settings(sub, wf_id, spec)
        required = [*spec.user_settings, *self.shared.declared()]
        missing = [s.id for s in required if s.required and s.id not in settings]
        if missing:
            own = {s.id for s in spec.user_settings}
            how = (
                "project.set_workflow_settings"
                if set(missing) <= own
                else ("project.set_shared_settings (integration-level) / set_workflow_settings")
            )
            raise RuntimeStateError(
                f"workflow {spec.name!r} needs its required setting(s) {', '.join(missing)} for "
                f"user {sub!r}; set them with {how} first"
            )
        stored, _ = self.settings_of(sub, wf_id)
        self._store.put_workflow_setting(
            sub, wf_id, settings=stored, enabled=True, now=self._clock.time()
        )

    def disable(self, sub: str, wf_id: str) -> None:
        stored, _ = self.settings_of(sub, wf_id)
        self._store.put_workflow_setting(
            sub, wf_id, settings=stored, enabled=False, now=self._clock.time()
        )

    def why_not_runnable(self, sub: str, wf_id: str) -> str | None:
        """None when the user enabled the workflow with a VALID credential; else the end of a
        sentence saying why not ("is not enabled for user 'u'")."""
        row = self._store.credential(sub, MARKETO)
        if row is None:
            return f"did not run: user {sub!r} has not connected Marketo"
        if row.status != VALID:
            return f"did not run: user {sub!r}'s Marketo credential is {row.status}"
        if not self.settings_of(sub, wf_id)[1]:
            return f"is not enabled for user {sub!r}"
        return None

    # views -----------------------------------------------------------------------------------
    def state(self, sub: str) -> UserState:
        """``sub``'s :class:`~paragon_nb.runtime.api.UserState`."""
        return user_state(self._store, sub)

    def close(self) -> None:
        with self._lock:
            gateways, self._gateways = self._gateways, {}
        for gateway in gateways.values():
            gateway.close()
