"""The Marketo "List" field: a dropdown of the user's static lists, loaded live.

:class:`ListPickerModel` holds the state (lists, filter text, chosen id, error) and makes the
one call that loads lists (a ``loader`` such as ``client.iter_static_lists``, which handles
Marketo's paging). :class:`ListPicker` is the view: a filter box for accounts with many lists,
the dropdown, a refresh button and a status line. Tests drive either without a browser::

    picker = ListPicker(loader=client.iter_static_lists)
    picker.refresh()                 # or picker._refresh.click()
    picker.value = 1001              # the list id
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w
import traitlets as t

from paragon_nb._theme import status_html
from paragon_nb.errors import ParagonError
from paragon_nb.marketo.models import StaticList

__all__ = ["ListOption", "ListPicker", "ListPickerModel"]

ListLoader = Callable[[], Iterable[StaticList]]
ListOption = tuple[str, int]  # (label shown, list id)


def _option(item: StaticList) -> ListOption:
    return (f"{item.name} (id {item.id})", item.id)


class ListPickerModel(t.HasTraits):
    """State of the list picker. ``refresh()`` makes ONE call to ``loader``.

    Failure modes: a loader error (Marketo refused, endpoint unreachable) lands in ``error``
    as a plain sentence and leaves the previous lists in place; nothing is raised to the UI.
    """

    lists = t.List(help="every (label, id) the loader returned").tag(sync=False)
    filter = t.Unicode("", help="case-insensitive substring filter on the label")
    value = t.Int(None, allow_none=True, help="the chosen list id")
    error = t.Unicode("")
    loaded = t.Bool(False)

    def __init__(self, loader: ListLoader | None = None, *, value: int | None = None) -> None:
        super().__init__()
        self.loader = loader
        if value is not None:
            self.value = int(value)

    def refresh(self) -> bool:
        """Reload the lists; True on success, else ``error`` says why."""
        if self.loader is None:
            self.error = "Connect Marketo first: there is no account to load lists from."
            return False
        try:
            options = [_option(item) for item in self.loader()]
        except ParagonError as exc:
            self.error = f"Could not load your Marketo lists: {exc}"
            return False
        self.error = ""
        self.loaded = True
        self.lists = sorted(options, key=lambda o: o[0].casefold())
        return True

    @property
    def options(self) -> list[ListOption]:
        """The lists matching ``filter``; the chosen one is always kept visible."""
        needle = self.filter.strip().casefold()
        shown = [o for o in self.lists if needle in o[0].casefold()]
        if self.value is not None and all(o[1] != self.value for o in shown):
            chosen = [o for o in self.lists if o[1] == self.value]
            shown = chosen + shown
        return shown


class ListPicker(w.VBox):
    """Filter box + dropdown + refresh button over a :class:`ListPickerModel`.

    ``value`` is the chosen list id (None until one is picked). No ``display()`` here: put
    the widget last in a cell or in a container.
    """

    def __init__(
        self,
        loader: ListLoader | None = None,
        *,
        value: int | None = None,
        description: str = "List",
        model: ListPickerModel | None = None,
        auto_load: bool = False,
    ) -> None:
        self.model = model or ListPickerModel(loader, value=value)
        self._filter = w.Text(placeholder="filter lists", description="Filter")
        self._dropdown = w.Dropdown(options=[], value=None, description=description)
        self._refresh = w.Button(description="Refresh", icon="refresh", tooltip="reload lists")
        self._status = w.HTML("")
        self._filter.observe(self._on_filter_change, names="value")
        self._dropdown.observe(self._on_dropdown_change, names="value")
        self._refresh.on_click(self._on_refresh_click)
        self.model.observe(self._on_model_change, names=["lists", "filter", "error", "value"])
        super().__init__(
            [w.HBox([self._dropdown, self._refresh]), self._filter, self._status],
            layout=w.Layout(border="0", padding="0"),
        )
        self._render()
        if auto_load:
            self.refresh()

    # public ------------------------------------------------------------------------------
    @property
    def value(self) -> int | None:
        return self.model.value

    @value.setter
    def value(self, list_id: int | None) -> None:
        self.model.value = None if list_id is None else int(list_id)

    @property
    def filter(self) -> str:
        """The Filter box's text (the model's ``filter``): set it as a user would type it."""
        return self.model.filter

    @filter.setter
    def filter(self, text: str) -> None:
        self.model.filter = text

    def refresh(self) -> bool:
        return self.model.refresh()

    # handlers ----------------------------------------------------------------------------
    def _on_filter_change(self, change: dict[str, Any]) -> None:
        self.model.filter = change["new"]

    def _on_dropdown_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.model.value = change["new"]

    def _on_refresh_click(self, _button: w.Button) -> None:
        self.model.refresh()

    def _on_model_change(self, _change: dict[str, Any]) -> None:
        self._render()

    # view --------------------------------------------------------------------------------
    _syncing = False

    def _render(self) -> None:
        options = self.model.options
        self._syncing = True
        try:
            if self._filter.value != self.model.filter:  # set from code: show it in the box
                self._filter.value = self.model.filter
            self._dropdown.options = options
            ids = [o[1] for o in options]
            self._dropdown.value = self.model.value if self.model.value in ids else None
        finally:
            self._syncing = False
        if self.model.error:
            self._status.value = status_html(self.model.error, ok=False)
        elif self.model.loaded:
            n, total = len(options), len(self.model.lists)
            shown = f"{n} of {total}" if n != total else f"{total}"
            self._status.value = f"<small>{shown} static list(s)</small>"
        else:
            self._status.value = "<small>press Refresh to load your lists</small>"
