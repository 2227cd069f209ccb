"""The App Events and workflows part of :class:`~paragon_nb.runtime.project.Project`:
defining App Events, adding, updating, deploying, restoring and undeploying workflows and
registering the functions of ``python`` steps. Each method is one call into the project's
:class:`~paragon_nb.runtime.catalog.Catalog`; ``Project`` inherits them.

    project.define_app_event("Lead Created", example={"email": "ada@example.com"})
    project.add_workflow(yaml_text); project.deploy("Sync new leads to Marketo")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paragon_nb.runtime.api import AppEvent, WorkflowVersion
from paragon_nb.runtime.catalog import Catalog
from paragon_nb.runtime.workflows import Workflow, WorkflowSpec

__all__ = ["CatalogMethods"]


class CatalogMethods:
    """App Events and workflows (mixed into ``Project``, which sets ``_catalog``)."""

    _catalog: Catalog

    def define_app_event(self, name: str, *, example: Mapping[str, Any]) -> AppEvent:
        """Define (or update the example of) an App Event; its JSON Schema is inferred.
        The example must be a JSON object (RuntimeStateError naming the bad value)."""
        return self._catalog.define_app_event(name, example=example)

    def rename_app_event(self, name: str, new_name: str) -> AppEvent:
        """Rename an App Event; drafts follow, deployed versions stay bound to it by id."""
        return self._catalog.rename_app_event(name, new_name)

    def app_event(self, name: str) -> AppEvent:
        """The App Event (id, name, example, schema); NotFoundError with did-you-mean."""
        return self._catalog.app_event(name)

    def app_events(self) -> list[AppEvent]:
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

    def versions(self, workflow: str) -> list[WorkflowVersion]:
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
