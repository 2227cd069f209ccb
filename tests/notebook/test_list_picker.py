from __future__ import annotations

from paragon_nb.errors import MarketoAuthError
from paragon_nb.marketo.models import StaticList
from paragon_nb.widgets.list_picker import ListPicker, ListPickerModel

LISTS = [StaticList(id=i, name=f"List {i:03d}") for i in range(1, 451)]


def test_refresh_loads_every_page_and_filter_narrows() -> None:
    calls = []

    def loader():
        calls.append(1)
        return iter(LISTS)

    picker = ListPicker(loader)
    assert picker._dropdown.options == () and "Refresh" in picker._status.value
    picker._refresh.click()
    assert len(calls) == 1 and len(picker._dropdown.options) == 450
    picker._filter.value = "list 44"
    assert [o[1] for o in picker._dropdown.options] == list(range(440, 450))
    assert "10 of 450" in picker._status.value
    picker._dropdown.value = 445
    assert picker.value == 445
    picker._filter.value = "list 001"
    assert [o[1] for o in picker._dropdown.options] == [445, 1]  # the choice stays visible
    assert picker._dropdown.value == 445


def test_loader_error_is_a_sentence_and_keeps_lists() -> None:
    state = {"fail": False}

    def loader():
        if state["fail"]:
            raise MarketoAuthError("token refused", code="601")
        return LISTS[:2]

    model = ListPickerModel(loader, value=2)
    assert model.refresh() and [o[1] for o in model.options] == [1, 2]
    state["fail"] = True
    assert not model.refresh()
    assert model.error.startswith("Could not load your Marketo lists") and len(model.lists) == 2


def test_no_loader_says_connect_first() -> None:
    picker = ListPicker()
    picker._refresh.click()
    assert "Connect Marketo first" in picker._status.value


def test_widgets_package_exports_sorted() -> None:
    import paragon_nb.widgets as widgets

    assert widgets.__all__ == sorted(widgets.__all__)
    assert all(hasattr(widgets, name) for name in widgets.__all__)
