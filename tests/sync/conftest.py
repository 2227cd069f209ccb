"""Fixtures for sync tests: an in-process sandbox on a FakeClock and the messy frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock, import_seconds=0)


@pytest.fixture
def client(app: SandboxApp, clock: FakeClock):
    c = app.client(clock=clock)
    yield c
    c.close()


def messy_frame() -> pd.DataFrame:
    """Every kind of trouble an analyst's export has, on a non-default index."""
    rows = [
        # email, first_name, last_name, company, employees, unsubscribed, date_of_birth, title
        (
            "  Ada@Example.com ",
            "Ada",
            "Lovelace",
            "Analytical Engines",
            12.0,
            "yes",
            "1815-12-10",
            "Countess",
        ),
        (
            "bob@example.com",
            "Bób 🚀",
            "O'Brien",
            'Quote "Co", Ltd',
            "12",
            "NO",
            pd.Timestamp("1990-05-01"),
            None,
        ),
        ("bad-email", "Bad", "Email", "x", 1, "true", None, None),
        (np.nan, "No", "Email", "x", 1, "true", None, None),
        ("carol@example.com", "Carol", "Half", "x", 12.5, None, None, None),
        ("dan@example.com", "Dan", "Date", "x", 3, None, "2021-02-30", None),
        ("erin@example.com", "Erin", "Bool", "x", 3, "maybe", None, None),
        ("frank@example.com", "Frank", "Long", "x", 3, None, None, "t" * 300),
        ("grace@example.com", None, "Hopper", "Navy,\nCOBOL dept", np.nan, 0, "", ""),
        (
            "ada@example.com",
            "Augusta Ada",
            "King",
            "Analytical Engines",
            13,
            "Yes",
            "1815-12-10",
            "Countess of Lovelace",
        ),
        (
            "heidi@example.com",
            "Heidi",
            "Zoné",
            "ÜberCorp",
            np.int64(250),
            True,
            pd.Timestamp("2000-01-31 23:30", tz="Asia/Tokyo"),
            "CTO",
        ),
    ]
    cols = ["email", "first_name", "last_name", "company", "number_of_employees",
            "unsubscribed", "date_of_birth", "title"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols, dtype=object)
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="row_id")
    return df


MESSY_VALID = {"r1", "r8", "r9", "r10"}
MESSY_INVALID = {"r2", "r3", "r4", "r5", "r6", "r7"}
MESSY_DUPLICATE = {"r0"}
MESSY_EMAILS = {"bob@example.com", "grace@example.com", "ada@example.com", "heidi@example.com"}


def big_frame(n: int, *, prefix: str = "u") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": [f"{prefix}{i}@example.com" for i in range(n)],
            "firstName": [f"First {i}" for i in range(n)],
            "lastName": ["Last"] * n,
            "numberOfEmployees": np.arange(n),
        }
    )
