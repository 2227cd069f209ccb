"""The one redactor (paragon_nb._redact): value, key and pattern rules, for the client and
the runtime alike."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb._redact import MASK, Redactor, mask_secrets


def test_value_key_and_pattern_rules_in_nested_data() -> None:
    recorded = {
        "headers": {"Authorization": "Bearer eyJhbGciOi.J9x-y_z=", "Accept": "json"},
        "url": "https://x/identity/oauth/token?client_id=a&client_secret=zzz&grant_type=c",
        "log": ["sent Bearer abc-123:int", 'body {"access_token": "tok-1", "scope": "s"}'],
        "apiKey": 42,
        "note": "the secret is hunter22 really",
        "count": 3,
    }
    out = mask_secrets(recorded, ["hunter22"])
    assert out == {
        "headers": {"Authorization": MASK, "Accept": "json"},
        "url": "https://x/identity/oauth/token?client_id=a&client_secret=***&grant_type=c",
        "log": ["sent Bearer ***", 'body {"access_token": "***", "scope": "s"}'],
        "apiKey": MASK,
        "note": "the secret is *** really",
        "count": 3,
    }
    assert recorded["note"] == "the secret is hunter22 really"  # a copy, the input untouched


def test_bearer_header_text_is_masked_for_the_runtime_too() -> None:
    # the runtime's old key-only masker let this through
    error = "Marketo call failed: headers={'authorization': 'Bearer 7a1c-e2:ab'}"
    assert "7a1c" not in mask_secrets(error)


def test_runtime_masking_module_is_the_same_redactor() -> None:
    from paragon_nb.runtime import masking

    assert masking.mask_secrets is mask_secrets and masking.MASK == MASK


def test_tokens_registered_later_are_masked_and_short_strings_are_not_secrets() -> None:
    redactor = Redactor("client-secret-1")
    redactor.add("tok-abcdef")
    redactor.add("ab")  # too short to be a secret: never masked
    assert redactor("client-secret-1 tok-abcdef ab") == "*** *** ab"
    assert repr(redactor) == "Redactor(2 secrets)"


@settings(deadline=None)
@given(
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:", min_size=4, max_size=40),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_a_registered_secret_never_survives(secret: str, before: str, after: str) -> None:
    assert secret not in mask_secrets({"text": f"{before}{secret}{after}"}, [secret])["text"]
