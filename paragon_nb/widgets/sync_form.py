"""A form over :func:`paragon_nb.sync_leads`: pick a DataFrame, check the column mapping,
choose the lookup field and the list, then Dry run or Sync.

:class:`SyncFormModel` holds the choices and makes exactly one ``sync_leads`` call per
button; :class:`SyncForm` is the view (the progress bar and the ``SyncResult`` display go
to its output area). Headless use, as in the tests::

    form = SyncForm(client, frames={"leads": df})
    form._list.value = "Newsletter"; form._create_list.value = True
    form._sync.click(); form.model.result.summary
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import traitlets as t

from paragon_nb._theme import status_html
from paragon_nb.errors import ParagonError

__all__ = ["IGNORE", "UNMAPPED", "SyncForm", "SyncFormModel"]

IGNORE = "(ignore)"
UNMAPPED = "(no field: choose one or ignore)"


def _frames_in(namespace: Mapping[str, Any]) -> dict[str, Any]:
    import pandas as pd

    return {
        name: value
        for name, value in namespace.items()
        if isinstance(value, pd.DataFrame) and not name.startswith("_")
    }


class SyncFormModel(t.HasTraits):
    """Choices for one sync and its outcome.

    ``mapping`` is column -> REST field name, :data:`IGNORE` (dropped on purpose) or
    :data:`UNMAPPED`. It starts from the caller's ``mapping=`` and, for the other columns,
    what ``sync.mapping`` auto-maps; a column that maps to nothing stays UNMAPPED — never
    silently ignored — and ``error`` carries ``sync.mapping``'s did-you-mean, as
    ``sync_leads`` would stop with it. ``sync_leads`` validates again and is the authority.
    Failure modes: errors a user can fix land in ``error``; nothing is raised to the UI.
    """

    frame_name = t.Unicode("")
    mapping = t.Dict()
    lookup_field = t.Unicode("email")
    list_name = t.Unicode("")
    create_list = t.Bool(False)
    error = t.Unicode("")
    result = t.Any(None, allow_none=True)

    def __init__(
        self,
        client: Any,
        *,
        frames: Mapping[str, Any],
        mapping: Mapping[str, str] | None = None,
        ignore: Any = (),
    ) -> None:
        super().__init__()
        self.client = client
        self.frames = dict(frames)
        self.given = {str(c): str(f) for c, f in (mapping or {}).items()}
        self.given.update({str(c): IGNORE for c in ignore})
        self._fields: list[Any] | None = None
        if self.frames:
            self.frame_name = next(iter(self.frames))

    @property
    def frame(self) -> Any:
        return self.frames.get(self.frame_name)

    def _describe(self) -> list[Any]:
        """The lead fields (``client.describe()``, read once)."""
        if self._fields is None:
            self._fields = list(self.client.describe())
        return self._fields

    def field_names(self) -> list[str]:
        """REST names of the writable lead fields."""
        return sorted(f.name for f in self._describe() if f.name and not f.read_only)

    @t.observe("frame_name")
    def _suggest(self, _change: Any) -> None:
        from paragon_nb.sync.mapping import suggest_mapping

        df = self.frame
        if df is None:
            self.mapping = {}
            return
        try:
            suggested = suggest_mapping(df.columns, self._describe())
        except ParagonError as exc:
            self.error = f"Could not read the lead fields from Marketo: {exc}"
            return
        self.mapping = {c: self.given.get(c) or f or UNMAPPED for c, f in suggested.items()}

    @t.observe("mapping", "lookup_field")
    def _check(self, _change: Any) -> None:
        """``sync.mapping``'s verdict on the current choices (its did-you-mean in ``error``)."""
        from paragon_nb.sync.mapping import build_mapping

        if self.frame is None or not self.mapping:
            return
        kwargs = self._kwargs()
        try:
            build_mapping(
                list(self.frame.columns),
                self._describe(),
                mapping=kwargs["mapping"],
                ignore=kwargs["ignore"],
                lookup_field=self.lookup_field,
            )
        except ParagonError as exc:
            self.error = str(exc)
            return
        self.error = ""

    def _kwargs(self) -> dict[str, Any]:
        mapping = {c: f for c, f in self.mapping.items() if f not in (IGNORE, UNMAPPED)}
        return {
            "list": self.list_name.strip() or None,
            "create_list": self.create_list,
            "lookup_field": self.lookup_field,
            "mapping": mapping,
            "ignore": [c for c, f in self.mapping.items() if f == IGNORE],
        }

    def run(self, *, dry_run: bool, progress: bool | None = None) -> Any:
        """One ``sync_leads`` call with the form's choices; the result or None on error."""
        from paragon_nb.sync.runner import sync_leads

        if self.frame is None:
            self.error = "Pick a DataFrame first (define one in the notebook, then Reload)."
            return None
        try:
            result = sync_leads(
                self.frame, self.client, dry_run=dry_run, progress=progress, **self._kwargs()
            )
        except ParagonError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        self.result = result
        return result


class SyncForm(w.VBox):
    """The sync form view. ``frames`` defaults to the DataFrames in the notebook namespace;
    ``mapping=``/``ignore=`` are what ``sync_leads`` takes (column -> field, dropped columns)."""

    def __init__(
        self,
        client: Any,
        *,
        frames: Mapping[str, Any] | None = None,
        mapping: Mapping[str, str] | None = None,
        ignore: Any = (),
        model: SyncFormModel | None = None,
    ) -> None:
        if frames is None:
            frames = _frames_in(_user_namespace())
        self.model = model or SyncFormModel(client, frames=frames, mapping=mapping, ignore=ignore)
        m = self.model
        self._frame = w.Dropdown(
            options=list(m.frames), value=m.frame_name or None, description="DataFrame"
        )
        self._lookup = w.Dropdown(description="Lookup field")
        self._list = w.Text(description="List", placeholder="static list name or id")
        self._create_list = w.Checkbox(description="create the list if missing", indent=False)
        self._mapping_box = w.VBox([])
        self._dry_run = w.Button(description="Dry run", icon="search")
        self._sync = w.Button(description="Sync", button_style="primary", icon="upload")
        self._status = w.HTML("")
        self._output = w.Output()
        self._columns: dict[str, w.Dropdown] = {}
        self._frame.observe(self._on_frame_change, names="value")
        self._lookup.observe(self._on_lookup_change, names="value")
        self._list.observe(self._on_list_change, names="value")
        self._create_list.observe(self._on_create_list_change, names="value")
        self._dry_run.on_click(self._on_dry_run_click)
        self._sync.on_click(self._on_sync_click)
        m.observe(self._on_mapping_change, names="mapping")
        m.observe(self._on_error_change, names="error")
        super().__init__(
            [
                self._frame,
                w.HTML("<b>Column → Marketo field</b>"),
                self._mapping_box,
                self._lookup,
                w.HBox([self._list, self._create_list]),
                w.HBox([self._dry_run, self._sync]),
                self._status,
                self._output,
            ]
        )
        self.add_class("paragon-sync-form")
        self._build_mapping()
        self._on_error_change({"new": m.error})  # e.g. a column that maps to no field

    # handlers ------------------------------------------------------------------------------
    def _on_frame_change(self, change: dict[str, Any]) -> None:
        self.model.frame_name = change["new"] or ""

    _rendering = False

    def _on_lookup_change(self, change: dict[str, Any]) -> None:
        if change["new"] and not self._rendering:
            self.model.lookup_field = change["new"]

    def _on_list_change(self, change: dict[str, Any]) -> None:
        self.model.list_name = change["new"]

    def _on_create_list_change(self, change: dict[str, Any]) -> None:
        self.model.create_list = bool(change["new"])

    def _on_column_change(self, change: dict[str, Any]) -> None:
        column = change["owner"].description
        self.model.mapping = {**self.model.mapping, column: change["new"]}

    def _on_mapping_change(self, _change: dict[str, Any]) -> None:
        self._build_mapping()

    def _on_error_change(self, change: dict[str, Any]) -> None:
        text = change["new"]
        self._status.value = status_html(text, ok=False) if text else ""

    def _on_dry_run_click(self, _button: w.Button) -> None:
        self._run(dry_run=True)

    def _on_sync_click(self, _button: w.Button) -> None:
        self._run(dry_run=False)

    # view ----------------------------------------------------------------------------------
    def _run(self, *, dry_run: bool) -> None:
        from IPython.display import display

        self._output.clear_output()
        with self._output:
            result = self.model.run(dry_run=dry_run)
            if result is not None:
                display(result)
        if result is not None:
            self._status.value = _status_line(result, dry_run=dry_run)

    def _build_mapping(self) -> None:
        mapping = self.model.mapping
        if set(self._columns) != set(mapping):
            try:
                names = self.model.field_names()
            except ParagonError:
                names = []
            self._columns = {}
            for column, field in mapping.items():
                options = [UNMAPPED, IGNORE, *names] if field == UNMAPPED else [IGNORE, *names]
                dd = w.Dropdown(
                    options=options, value=field if field in options else IGNORE, description=column
                )
                dd.style.description_width = "160px"
                dd.layout.width = "420px"  # room for long REST names (numberOfEmployees)
                dd.observe(self._on_column_change, names="value")
                self._columns[column] = dd
            self._mapping_box.children = list(self._columns.values())
        else:
            for column, field in mapping.items():
                if self._columns[column].value != field:
                    self._columns[column].value = field
        mapped = sorted({f for f in mapping.values() if f not in (IGNORE, UNMAPPED)})
        self._rendering = True  # options= resets the value: not a user choice
        try:
            self._lookup.options = mapped
            if self.model.lookup_field in mapped:
                self._lookup.value = self.model.lookup_field
        finally:
            self._rendering = False


def _calls(n: int) -> str:
    return f"{n:,} API call" + ("" if n == 1 else "s")


def _status_line(result: Any, *, dry_run: bool) -> str:
    """``Dry run: would create 3, invalid 1 · would cost 5 API calls``: counts and calls as
    the result's ``summary`` has them (the same calls count as its display and progress bar)."""
    summary = result.summary
    counts = ", ".join(f"{k} {v:,}" for k, v in summary["counts"].items()) or "no rows"
    if dry_run:
        planned = summary.get("planned_calls")
        cost = f"would cost {_calls(planned)}" if planned is not None else ""
    else:
        cost = _calls(summary["calls"])
    kind = "Dry run" if dry_run else "Sync"
    tail = f" · {cost}" if cost else ""
    return f"<b>{kind}:</b> {html.escape(counts + tail)}"


def _user_namespace() -> Mapping[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}
