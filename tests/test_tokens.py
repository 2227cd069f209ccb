"""Signing keys and user tokens: round trip, every attack, exact reasons, masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.errors import TokenError, TokenExpired, TokenInvalid, TokenNotYetValid
from paragon_nb.tokens import (
    SigningKey,
    peek_user_token,
    sign_user_token,
    verify_user_token,
)

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.generate()


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _rs256(key: SigningKey, claims: dict) -> str:
    return jwt.encode(
        claims, serialization.load_pem_private_key(key.private_pem.encode(), None), "RS256"
    )


def test_round_trip_returns_claims(key: SigningKey) -> None:
    token = sign_user_token(key.private_pem, "user-42", ttl=600, now=NOW, plan="pro")
    claims = verify_user_token(token, key.public_pem, now=NOW + 10)
    assert claims == {"sub": "user-42", "iat": NOW, "exp": NOW + 600, "plan": "pro"}
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_accepts_any_of_several_keys_and_signing_key_objects(
    key: SigningKey, other_key: SigningKey
) -> None:
    token = key.sign("u", now=NOW)
    assert verify_user_token(token, [other_key.public_pem, key], now=NOW)["sub"] == "u"
    assert SigningKey.from_public_pem(key.public_pem).verify(token, now=NOW)["sub"] == "u"


def test_repr_masks_private_half(key: SigningKey) -> None:
    text = repr(key) + str(key) + f"{key}"
    assert "PRIVATE" not in text and key.private_pem[40:80] not in text
    assert "<hidden>" in text and key.kid in text
    public = SigningKey.from_public_pem(key.public_pem)
    assert public.private_pem is None and public.kid == key.kid == key.fingerprint
    assert "private_pem=None" in repr(public)
    assert key.public_only() == public


def test_generate_refuses_small_keys_and_public_only_cannot_sign(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="too small"):
        SigningKey.generate(bits=1024)
    with pytest.raises(ValueError, match="no private half"):
        key.public_only().sign("u")


def test_from_private_pem_rebuilds_pair(key: SigningKey) -> None:
    again = SigningKey.from_private_pem(key.private_pem)
    assert again.kid == key.kid and again.public_pem == key.public_pem


def test_from_public_pem_rejects_non_rsa_and_garbage() -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="not an RSA public key"):
        SigningKey.from_public_pem(ec_pem)
    with pytest.raises(ValueError, match="not a PEM public key"):
        SigningKey.from_public_pem("hello")


def test_sign_rejects_bad_arguments(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="sub must be"):
        sign_user_token(key.private_pem, "")
    with pytest.raises(ValueError, match="ttl must be positive"):
        sign_user_token(key.private_pem, "u", ttl=0)
    with pytest.raises(ValueError, match="set by sign_user_token"):
        sign_user_token(key.private_pem, "u", exp=1)
    with pytest.raises(ValueError, match="private key"):
        sign_user_token(key.public_pem, "u")


# --------------------------------------------------------------------------- attacks


def test_alg_none_rejected(key: SigningKey) -> None:
    token = (
        _b64({"alg": "none", "typ": "JWT"})
        + "."
        + _b64({"sub": "u", "iat": NOW, "exp": NOW + 60})
        + "."
    )
    with pytest.raises(TokenInvalid, match="algorithm 'none' is not accepted"):
        verify_user_token(token, key.public_pem, now=NOW)


def test_hs256_with_public_key_as_secret_rejected(key: SigningKey) -> None:
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64({"sub": "u", "iat": NOW, "exp": NOW + 60})
    sig = hmac.new(key.public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    with pytest.raises(TokenInvalid, match="'HS256' is not accepted"):
        verify_user_token(token, key.public_pem, now=NOW)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "no token"),
        ("   ", "no token"),
        ("garbage", "3 dot-separated parts, this one has 1"),
        ("a.b", "this one has 2"),
        ("a.b.c.d", "this one has 4"),
        ("!!!.???.***", "header is not base64url JSON"),
        (_b64({"alg": "RS256"}) + ".bm90IGpzb24.c2ln", "payload is not base64url JSON"),
        (_b64(["x"]) + ".e30.c2ln", "header is not a JSON object"),  # type: ignore[arg-type]
        ("x" * 20_000, "longer than"),
    ],
)
def test_malformed_tokens_rejected(key: SigningKey, token: str, reason: str) -> None:
    with pytest.raises(TokenInvalid, match=reason):
        verify_user_token(token, key.public_pem, now=NOW)


def test_non_string_token_rejected(key: SigningKey) -> None:
    with pytest.raises(TokenInvalid, match="no token"):
        verify_user_token(None, key.public_pem)  # type: ignore[arg-type]


def test_wrong_key_rejected(key: SigningKey, other_key: SigningKey) -> None:
    token = sign_user_token(other_key.private_pem, "u", now=NOW)
    with pytest.raises(TokenInvalid, match="signature does not match"):
        verify_user_token(token, key.public_pem, now=NOW)


def test_tampered_payload_rejected(key: SigningKey) -> None:
    header, _, sig = sign_user_token(key.private_pem, "u", now=NOW).split(".")
    forged = f"{header}.{_b64({'sub': 'admin', 'iat': NOW, 'exp': NOW + 60})}.{sig}"
    with pytest.raises(TokenInvalid, match="signature does not match"):
        verify_user_token(forged, key.public_pem, now=NOW)


def test_expired_rejected_beyond_leeway(key: SigningKey) -> None:
    token = sign_user_token(key.private_pem, "u", ttl=60, now=NOW)
    assert verify_user_token(token, key.public_pem, now=NOW + 60 + 29)["sub"] == "u"
    with pytest.raises(TokenExpired, match="token expired at 2026-01-01T00:01:00"):
        verify_user_token(token, key.public_pem, now=NOW + 60 + 30)
    with pytest.raises(TokenExpired):
        verify_user_token(token, key.public_pem, now=NOW + 61, leeway=0)


def test_iat_in_future_rejected_beyond_leeway(key: SigningKey) -> None:
    token = sign_user_token(key.private_pem, "u", now=NOW + 100)
    assert verify_user_token(token, key.public_pem, now=NOW + 80)["sub"] == "u"
    with pytest.raises(TokenNotYetValid, match="issued in the future"):
        verify_user_token(token, key.public_pem, now=NOW)


def test_nbf_in_future_rejected(key: SigningKey) -> None:
    token = _rs256(key, {"sub": "u", "iat": NOW, "exp": NOW + 600, "nbf": NOW + 300})
    with pytest.raises(TokenNotYetValid, match="not valid before"):
        verify_user_token(token, key.public_pem, now=NOW)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iat": NOW, "exp": NOW + 60}, "no 'sub' claim"),
        ({"sub": "", "iat": NOW, "exp": NOW + 60}, "'sub' must be a non-empty string"),
        ({"sub": 42, "iat": NOW, "exp": NOW + 60}, "'sub' must be a non-empty string"),
        ({"sub": "u", "exp": NOW + 60}, "no 'iat' claim"),
        ({"sub": "u", "iat": NOW}, "no 'exp' claim"),
        ({"sub": "u", "iat": NOW, "exp": "tomorrow"}, "'exp' must be a number"),
        ({"sub": "u", "iat": True, "exp": NOW + 60}, "'iat' must be a number"),
        ({"sub": "u", "iat": NOW, "exp": NOW - 10}, "before it was issued"),
    ],
)
def test_missing_or_bad_claims_rejected(key: SigningKey, claims: dict, reason: str) -> None:
    with pytest.raises(TokenInvalid, match=reason):
        verify_user_token(_rs256(key, claims), key.public_pem, now=NOW)


def test_no_keys_or_bad_key_is_invalid(key: SigningKey) -> None:
    token = key.sign("u", now=NOW)
    with pytest.raises(TokenInvalid, match="no signing key yet"):
        verify_user_token(token, [], now=NOW)
    with pytest.raises(TokenInvalid, match="public key is unusable"):
        verify_user_token(token, "not a pem", now=NOW)


def test_small_rsa_key_signature_rejected(key: SigningKey) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjwt warns about the short key we want to sign with
        token = jwt.encode({"sub": "u", "iat": NOW, "exp": NOW + 60}, small, "RS256")
    with pytest.raises(TokenInvalid, match="signature does not match"):
        verify_user_token(token, key.public_pem, now=NOW)


def test_errors_never_echo_the_token(key: SigningKey, other_key: SigningKey) -> None:
    token = sign_user_token(other_key.private_pem, "secret-user", now=NOW)
    with pytest.raises(TokenError) as info:
        verify_user_token(token, key.public_pem, now=NOW)
    assert token not in str(info.value)
    assert token.split(".")[2] not in str(info.value)


def test_peek_reads_claims_without_verifying(other_key: SigningKey) -> None:
    token = sign_user_token(other_key.private_pem, "u", now=NOW)
    assert peek_user_token(token)["sub"] == "u"
    with pytest.raises(TokenInvalid):
        peek_user_token("nope")


@settings(max_examples=40, deadline=None)
@given(
    sub=st.text(min_size=1, max_size=40),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in {"sub", "iat", "exp", "nbf"}),
        st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()),
        max_size=4,
    ),
    ttl=st.integers(min_value=1, max_value=10**6),
)
def test_round_trip_property(key: SigningKey, sub: str, extra: dict, ttl: int) -> None:
    token = sign_user_token(key.private_pem, sub, ttl=ttl, now=NOW, **extra)
    claims = verify_user_token(token, key.public_pem, now=NOW, leeway=0)
    assert claims == {"sub": sub, "iat": NOW, "exp": NOW + ttl, **extra}


def test_a_cached_signature_still_gets_its_time_and_key_checks() -> None:
    from paragon_nb.errors import TokenExpired, TokenInvalid
    from paragon_nb.tokens import SigningKey, sign_user_token, verify_user_token

    key, other = SigningKey.generate(), SigningKey.generate()
    token = sign_user_token(key.private_pem, "u-1", ttl=60, now=1_000_000)
    first = verify_user_token(token, key.public_pem, now=1_000_010)
    first["sub"] = "mutated"  # callers get their own copy, never the cached one
    assert verify_user_token(token, key.public_pem, now=1_000_020)["sub"] == "u-1"
    with pytest.raises(TokenExpired):
        verify_user_token(token, key.public_pem, now=1_000_000 + 3600)
    with pytest.raises(TokenInvalid, match="signature"):
        verify_user_token(token, other.public_pem, now=1_000_010)  # a rotated key refuses it
