"""A project's definitions: App Events (example + inferred schema), workflows (editable
draft + immutable deployed versions with history) and the python functions steps may call.

Deploying checks the draft's ``{{ }}`` references against its App Event's schema, the declared
settings and earlier steps' outputs, then snapshots it as a new version (an unchanged draft
re-deploys its latest version). Deployed versions are bound to their App Event by id, so
renaming the event keeps them live.

    catalog.define_app_event("Lead Created", example={"email": "a@x.com"})
    catalog.add_workflow(yaml_text); catalog.deploy("Sync new leads to Marketo")
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import NotFoundError, RuntimeStateError, WorkflowSpecError, did_you_mean
from paragon_nb.runtime.api import WorkflowVersion
from paragon_nb.runtime.events import infer_schema, validate_example
from paragon_nb.runtime.refcheck import check_references
from paragon_nb.runtime.rows import AppEventRow, WorkflowRow
from paragon_nb.runtime.store import ProjectStore
from paragon_nb.runtime.trigger_data import trigger_schema
from paragon_nb.runtime.workflows import Workflow, WorkflowSpec, parse_spec

__all__ = ["Catalog"]


def _not_found(kind: str, key: str, listed: str, names: list[str], *, then: str = "") -> Exception:
    """NotFoundError "no <kind> 'key'; <listed>: a, b; did you mean 'a'?<then>"."""
    return NotFoundError(
        f"no {kind} {key!r}; {listed}: {', '.join(names) or 'none'}"
        + did_you_mean(key, names)
        + then
    )


class Catalog:
    """App Events, workflows, versions and registered functions of one project store."""

    def __init__(self, store: ProjectStore, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        #: name -> callable for ``python`` steps (shared with the engine)
        self.functions: dict[str, Callable[..., Any]] = {}
        #: name -> example return value (or None) for the deploy check
        self.function_outputs: dict[str, Any] = {}
        #: ids of the integration-level settings every workflow may reference (project sets it)
        self.shared_setting_ids: Callable[[], list[str]] = list
        self._specs: dict[tuple[str, int], WorkflowSpec] = {}

    # App Events --------------------------------------------------------------------------------
    def define_app_event(self, name: str, *, example: Mapping[str, Any]) -> AppEventRow:
        """Define (or update the example of) an App Event; its JSON Schema is inferred."""
        if not isinstance(name, str) or not name.strip():
            raise RuntimeStateError("an App Event needs a non-empty name, e.g. 'Lead Created'")
        data = validate_example(example, name=f"example of App Event {name!r}")
        existing = self._store.app_event(name)
        event_id = existing.id if existing is not None else str(uuid.uuid4())
        self._store.upsert_app_event(
            event_id=event_id,
            name=name,
            example=data,
            schema=infer_schema(data),
            now=self._clock.time(),
        )
        return self.app_event(name)

    def rename_app_event(self, name: str, new_name: str) -> AppEventRow:
        """Rename an App Event; drafts follow, deployed versions stay bound to it by id."""
        row = self.event_row(name)
        if not new_name or not new_name.strip():
            raise RuntimeStateError("the new App Event name is empty")
        if new_name != name and self._store.app_event(new_name) is not None:
            raise RuntimeStateError(f"an App Event named {new_name!r} already exists")
        self._store.upsert_app_event(
            event_id=row.id,
            name=new_name,
            example=row.example,
            schema=row.schema,
            now=self._clock.time(),
        )
        for wf in self._store.workflow_rows():
            draft = wf.draft
            if draft.get("trigger", {}).get("app_event") == name:
                draft["trigger"]["app_event"] = new_name
                self._store.update_draft(wf.id, name=wf.name, draft=draft, now=self._clock.time())
        return self.app_event(new_name)

    def event_row(self, name: str) -> AppEventRow:
        row = self._store.app_event(name)
        if row is None:
            names = [r.name for r in self._store.app_events()]
            then = " (define it with project.define_app_event(name, example=...))"
            raise _not_found("App Event", name, "defined", names, then=then)
        return row

    def app_event(self, name: str) -> AppEventRow:
        return self.event_row(name)

    def app_events(self) -> list[AppEventRow]:
        return self._store.app_events()

    # workflows -------------------------------------------------------------------------------
    def register_function(self, name: str, fn: Callable[..., Any], *, output: Any = None) -> None:
        """Make ``fn`` callable from ``python`` steps (``function: name``); ``output`` is an
        example return value used to check ``{{steps.<id>.result...}}`` at deploy.
        Functions are not persisted: register them again after opening the project."""
        if not callable(fn):
            raise RuntimeStateError(f"register_function({name!r}): {fn!r} is not callable")
        self.functions[name] = fn
        self.function_outputs[name] = output

    def add_workflow(self, spec: str | Mapping[str, Any] | WorkflowSpec) -> Workflow:
        """Add a workflow draft from YAML text, a dict or a spec (WorkflowSpecError if bad)."""
        parsed = parse_spec(spec)
        if self._store.workflow_row(parsed.name) is not None:
            raise RuntimeStateError(
                f"a workflow named {parsed.name!r} exists; edit it with "
                f"project.update_workflow({parsed.name!r}, spec)"
            )
        wf_id = str(uuid.uuid4())
        self._store.insert_workflow(
            wf_id=wf_id, name=parsed.name, draft=parsed.to_dict(), now=self._clock.time()
        )
        return self.workflow(wf_id)

    def update_workflow(
        self, workflow: str, spec: str | Mapping[str, Any] | WorkflowSpec
    ) -> Workflow:
        """Replace the draft (the deployed version is untouched until the next deploy)."""
        row = self.workflow_row(workflow)
        parsed = parse_spec(spec)
        other = self._store.workflow_row(parsed.name)
        if other is not None and other.id != row.id:
            raise RuntimeStateError(f"another workflow is already named {parsed.name!r}")
        self._store.update_draft(
            row.id, name=parsed.name, draft=parsed.to_dict(), now=self._clock.time()
        )
        return self.workflow(row.id)

    def workflow_row(self, workflow: str) -> WorkflowRow:
        row = self._store.workflow_row(workflow)
        if row is None:
            names = [r.name for r in self._store.workflow_rows()]
            raise _not_found("workflow", workflow, "workflows", names)
        return row

    def workflow(self, workflow: str) -> Workflow:
        """A workflow by name or id."""
        row = self.workflow_row(workflow)
        versions = tuple(v.version for v in self._store.versions(row.id))
        deployed_spec = None
        if row.deployed_version is not None:
            deployed_spec = self.version_spec(row.id, row.deployed_version)
        return Workflow(
            id=row.id,
            name=row.name,
            spec=parse_spec(row.draft),
            deployed_version=row.deployed_version,
            versions=versions,
            created=row.created,
            updated=row.updated,
            deployed_spec=deployed_spec,
        )

    def workflows(self) -> list[Workflow]:
        return [self.workflow(r.id) for r in self._store.workflow_rows()]

    def version_spec(self, wf_id: str, version: int) -> WorkflowSpec:
        cached = self._specs.get((wf_id, version))
        if cached is not None:
            return cached  # versions are immutable
        row = self._store.version_row(wf_id, version)
        if row is None:
            raise NotFoundError(f"workflow {wf_id!r} has no version {version}")
        spec = self._specs[(wf_id, version)] = parse_spec(row.spec)
        return spec

    def versions(self, workflow: str) -> list[WorkflowVersion]:
        """Version history: version, deployed_at, event and spec of each deploy."""
        row = self.workflow_row(workflow)
        return [
            WorkflowVersion(
                v.version, v.deployed_at, v.event_name, v.spec, v.version == row.deployed_version
            )
            for v in self._store.versions(row.id)
        ]

    def deploy(self, workflow: str) -> int:
        """Check the draft's references and snapshot it as the live version; returns it.
        An unchanged draft re-deploys its latest version instead of adding one."""
        row = self.workflow_row(workflow)
        spec = parse_spec(row.draft)
        if spec.trigger.app_event is None:  # Request, Scheduler, ... (runtime.triggers)
            return self._deploy_bound(row.id, spec, trigger_schema(spec.trigger), None, "")
        event = self._store.app_event(spec.trigger.app_event)
        if event is None:
            names = [r.name for r in self._store.app_events()]
            raise WorkflowSpecError(
                f"workflow {spec.name!r} is triggered by App Event {spec.trigger.app_event!r}, "
                f"which is not defined (defined: {', '.join(names) or 'none'}); define it with "
                "project.define_app_event(name, example={...})"
            )
        return self._deploy_bound(row.id, spec, event.schema, event.id, event.name)

    def _deploy_bound(
        self,
        wf_id: str,
        spec: WorkflowSpec,
        schema: Mapping[str, Any],
        event_id: str | None,
        event_name: str,
    ) -> int:
        check_references(
            spec,
            event_schema=schema,
            function_outputs=self.function_outputs,
            shared_settings=self.shared_setting_ids(),
        )
        history = self._store.versions(wf_id)
        now = self._clock.time()
        if history and history[-1].spec == spec.to_dict() and history[-1].event_id == event_id:
            self._store.set_deployed_version(wf_id, history[-1].version, now=now)
            return int(history[-1].version)
        return self._store.add_version(
            wf_id, spec=spec.to_dict(), event_id=event_id, event_name=event_name, now=now
        )

    def restore(self, workflow: str, version: int) -> Workflow:
        """Copy a past version's spec into the draft (deploy it to make it live again)."""
        row = self.workflow_row(workflow)
        spec = self.version_spec(row.id, int(version))
        other = self._store.workflow_row(spec.name)
        name = spec.name if other is None or other.id == row.id else row.name
        draft = spec.to_dict() | {"name": name}
        self._store.update_draft(row.id, name=name, draft=draft, now=self._clock.time())
        return self.workflow(row.id)

    def undeploy(self, workflow: str) -> None:
        """Take the workflow offline (no new runs); history and user settings are kept."""
        row = self.workflow_row(workflow)
        self._store.set_deployed_version(row.id, None, now=self._clock.time())

    def deployed(self, workflow: str) -> tuple[str, WorkflowSpec]:
        row = self.workflow_row(workflow)
        if row.deployed_version is None:
            raise RuntimeStateError(
                f"workflow {row.name!r} is not deployed; deploy it first "
                f"(project.deploy({row.name!r})): only deployed workflows reach users"
            )
        return row.id, self.version_spec(row.id, row.deployed_version)
