"""The one email-address rule, for a single value (the sandbox's 1003 check) and for a whole
pandas column (the sync's vectorised validation), both from one pattern.

An address is ``local@domain``:

- local part: an RFC 5322 dot-atom — atext characters (letters, digits and
  ``!#$%&'*+/=?^_`{|}~-``) in dot-separated runs, so no leading, trailing or consecutive dots;
- exactly one ``@``; ASCII only (Marketo requires ASCII email values);
- domain: two or more dot-separated labels of letters, digits and hyphens, each 1-63
  characters, neither starting nor ending with a hyphen.

(U) Marketo's exact grammar is not documented. Left out on purpose: quoted local parts and
address literals (``"a b"@x.com``, ``a@[10.0.0.1]``: legal in RFC 5322, unheard of in lead
data), the 64-character local-part limit of RFC 5321, and internationalised addresses. The
field's own length (255 for email) is checked by the callers. Callers trim and lower-case
lookup values for comparison themselves; this rule only says whether a value is an address.

    is_email("ada.lovelace@example.com")   # True
    is_email("ada..lovelace@example.com")  # False
    valid_emails(df["email"].str.strip())  # bool Series, False where missing
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["EMAIL_PATTERN", "is_email", "valid_emails"]

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_LABEL}(?:\.{_LABEL})+"
_EMAIL = re.compile(EMAIL_PATTERN)


def is_email(value: Any) -> bool:
    """True when ``value`` is a string that is an email address by the rule above."""
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def valid_emails(values: pd.Series) -> pd.Series:
    """The same rule over a string Series: a bool Series (False where a value is missing)."""
    return values.str.fullmatch(EMAIL_PATTERN, na=False).astype(bool)
