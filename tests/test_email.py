"""The one email rule (paragon_nb._email): dot-atom local part, one @, ASCII, a dotted domain
of valid labels; the scalar and the vectorised check agree on every input."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb._email import is_email, valid_emails

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
LETTERS_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"

atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
local_parts = st.lists(atoms, min_size=1, max_size=4).map(".".join)
labels = st.builds(
    lambda first, middle, last: first + middle + last if middle or last else first,
    st.sampled_from(LETTERS_DIGITS),
    st.text(alphabet=LETTERS_DIGITS + "-", max_size=20),
    st.text(alphabet=LETTERS_DIGITS, min_size=1, max_size=1) | st.just(""),
).filter(lambda label: not label.endswith("-"))
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)


# no per-example deadline: 2 shared cores make wall-clock limits flaky (the checks are pure)
no_deadline = settings(deadline=None)


def _both(value: str) -> tuple[bool, bool]:
    return is_email(value), bool(valid_emails(pd.Series([value], dtype=object)).iloc[0])


@no_deadline
@given(emails)
def test_every_dot_atom_address_is_valid(address: str) -> None:
    assert _both(address) == (True, True)


@no_deadline
@given(local_parts, domains, st.sampled_from(["lead", "trail", "double"]))
def test_dots_at_the_edges_or_doubled_in_the_local_part_are_invalid(
    local: str, domain: str, where: str
) -> None:
    broken = {"lead": "." + local, "trail": local + ".", "double": local + ".." + local}[where]
    assert _both(f"{broken}@{domain}") == (False, False)


@no_deadline
@given(emails, st.characters(min_codepoint=128, max_codepoint=0x2FFF), st.integers(0, 40))
def test_non_ascii_anywhere_is_invalid(address: str, char: str, at: int) -> None:
    at = min(at, len(address))
    assert _both(address[:at] + char + address[at:]) == (False, False)


@no_deadline
@given(st.text(max_size=40))
def test_scalar_and_vectorised_checks_agree_on_any_text(text: str) -> None:
    scalar, vectorised = _both(text)
    assert scalar == vectorised


@pytest.mark.parametrize(
    "value",
    [
        "dot..dot@example.com",
        ".lead@example.com",
        "trail.@example.com",
        "two@@example.com",
        "a@b@example.com",
        "no-at.example.com",
        "a@localhost",  # the domain needs a dot
        "a@-bad.com",
        "a@bad-.com",
        "a@ex..com",
        "a@.example.com",
        "a@example.com.",
        "a b@example.com",
        "a@exa_mple.com",
        f"a@{'x' * 64}.com",  # a label is at most 63 characters
        "ümlaut@example.com",
        "",
    ],
)
def test_known_invalid_addresses(value: str) -> None:
    assert _both(value) == (False, False)


@pytest.mark.parametrize(
    "value",
    ["a@b.co", "first.last+tag@sub.example-company.com", "o'neil@x.io", "ADA@EXAMPLE.COM",
     f"a@{'x' * 63}.com", "1@2.3"],
)  # fmt: skip
def test_known_valid_addresses(value: str) -> None:
    assert _both(value) == (True, True)


def test_missing_values_are_not_addresses() -> None:
    assert valid_emails(pd.Series(["a@b.co", None, float("nan")])).tolist() == [True, False, False]
    assert valid_emails(pd.Series(["a@b.co", None], dtype="string")).tolist() == [True, False]
    assert not is_email(None) and not is_email(42)
