"""tests/runtime/fakes.py's FakeClient stands in for MarketoClient in the engine tests: this
proves it has the real client's shape, so a change of the real interface fails here first
(issue 10: "a fake that survives implements the same interface and a test proves it")."""

from __future__ import annotations

import inspect

import pytest

from paragon_nb.marketo.client import MarketoClient

from .fakes import FakeClient

METHODS = sorted(
    name
    for name, member in vars(FakeClient).items()
    if callable(member) and not name.startswith("_")
)


def _named(sig: inspect.Signature) -> dict[str, inspect.Parameter]:
    return {
        n: p
        for n, p in sig.parameters.items()
        if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def test_the_fake_fakes_something() -> None:
    assert {"sync_leads", "add_to_list", "check", "iter_static_lists", "close"} <= set(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_of_the_fake_is_the_real_clients(name: str) -> None:
    real = getattr(MarketoClient, name, None)
    assert callable(real), f"MarketoClient has no {name}(): the fake has drifted"
    fake_params = _named(inspect.signature(getattr(FakeClient, name)))
    real_params = _named(inspect.signature(real))
    for param, fake in fake_params.items():
        assert param in real_params, f"{name}({param}=...) is not a MarketoClient parameter"
        assert real_params[param].kind == fake.kind, f"{name}: {param} passed differently"
    required = [n for n, p in real_params.items() if p.default is p.empty]
    missing = [n for n in required if n not in fake_params]
    assert not missing, f"{name}: the real client requires {missing}, the fake does not take it"


def test_the_limiter_attribute_is_the_real_clients() -> None:
    assert isinstance(inspect.getattr_static(MarketoClient, "limiter"), property)
