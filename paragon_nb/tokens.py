"""Signing keys and Paragon user tokens (RS256 JWTs), as Paragon's SDK setup describes.

A project keeps only the public half of its :class:`SigningKey`; your app keeps the
private half and signs one short-lived token per user. Verification accepts RS256 only
(never ``none`` or HS*), requires ``sub``/``iat``/``exp`` and says exactly what is wrong::

    key = SigningKey.generate()
    token = sign_user_token(key.private_pem, "user-42", ttl=3600)
    claims = verify_user_token(token, key.public_pem)   # {"sub": "user-42", "iat": .., ...}

Failures raise :class:`~paragon_nb.errors.TokenExpired`,
:class:`~paragon_nb.errors.TokenNotYetValid` or :class:`~paragon_nb.errors.TokenInvalid`;
messages never contain the token or any key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import TokenExpired, TokenInvalid, TokenNotYetValid

__all__ = [
    "ALGORITHM",
    "MAX_TOKEN_LENGTH",
    "MIN_KEY_BITS",
    "SigningKey",
    "peek_user_token",
    "sign_user_token",
    "verify_user_token",
]

ALGORITHM = "RS256"
MIN_KEY_BITS = 2048
DEFAULT_LEEWAY = 30
# A user token with a handful of claims is well under 2 KB; refuse huge inputs early so a
# hostile client cannot make us base64-decode megabytes on every request.
MAX_TOKEN_LENGTH = 16_384

TimeLike = float | int | datetime | Clock | None


# --------------------------------------------------------------------------- keys


def _fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


@lru_cache(maxsize=64)
def _load_public(pem: str) -> rsa.RSAPublicKey:
    """Parse (and cache) an RSA public key PEM; TokenInvalid-free: raises ValueError."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key ({type(exc).__name__})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"not an RSA public key (got {type(key).__name__}); RS256 needs RSA")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"RSA key of {key.key_size} bits is too small; use {MIN_KEY_BITS}+")
    return key


@lru_cache(maxsize=16)
def _load_private(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"not an unencrypted PEM private key ({type(exc).__name__}); pass "
            "SigningKey.private_pem as shown when the key was generated"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"not an RSA private key (got {type(key).__name__}); RS256 needs RSA")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"RSA key of {key.key_size} bits is too small; use {MIN_KEY_BITS}+")
    return key


@dataclass(frozen=True)
class SigningKey:
    """An RSA signing key pair (or only its public half).

    ``private_pem`` is ``None`` for a key loaded with :meth:`from_public_pem` (what a
    project stores). ``kid`` is a short SHA-256 fingerprint of the public key, safe to
    show. The private half never appears in ``repr``/``str``.
    """

    public_pem: str
    private_pem: str | None = field(default=None, repr=False)
    kid: str = ""

    @classmethod
    def generate(cls, *, bits: int = MIN_KEY_BITS) -> SigningKey:
        """A fresh RSA key pair (``bits`` >= 2048; ValueError otherwise)."""
        if bits < MIN_KEY_BITS:
            raise ValueError(f"bits={bits} is too small for RS256; use {MIN_KEY_BITS} or more")
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = private.public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return cls(public_pem=public_pem, private_pem=private_pem, kid=_fingerprint(public))

    @classmethod
    def from_public_pem(cls, pem: str | bytes) -> SigningKey:
        """The public half only (ValueError naming the problem if ``pem`` is not RSA 2048+)."""
        text = pem.decode() if isinstance(pem, bytes) else pem
        key = _load_public(text)
        return cls(public_pem=text, private_pem=None, kid=_fingerprint(key))

    @classmethod
    def from_private_pem(cls, pem: str | bytes) -> SigningKey:
        """Rebuild a pair from its private PEM (e.g. the one your app saved)."""
        text = pem.decode() if isinstance(pem, bytes) else pem
        public = _load_private(text).public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return cls(public_pem=public_pem, private_pem=text, kid=_fingerprint(public))

    @property
    def fingerprint(self) -> str:
        """Alias of :attr:`kid`."""
        return self.kid

    @property
    def has_private(self) -> bool:
        return self.private_pem is not None

    def public_only(self) -> SigningKey:
        """This key without its private half (what may be stored)."""
        return SigningKey(public_pem=self.public_pem, private_pem=None, kid=self.kid)

    def sign(self, sub: str, *, ttl: int = 3600, now: TimeLike = None, **claims: Any) -> str:
        """:func:`sign_user_token` with this key's private half."""
        if self.private_pem is None:
            raise ValueError(
                f"SigningKey {self.kid} has no private half (only the public key is stored); "
                "sign with the private PEM shown when the key was generated"
            )
        return sign_user_token(self.private_pem, sub, ttl=ttl, now=now, **claims)

    def verify(self, token: str, *, leeway: float = DEFAULT_LEEWAY, now: TimeLike = None) -> dict:
        """:func:`verify_user_token` against this key."""
        return verify_user_token(token, self.public_pem, leeway=leeway, now=now)

    def __repr__(self) -> str:
        private = "<hidden>" if self.private_pem is not None else None
        return f"SigningKey(kid={self.kid!r}, algorithm='RS256', private_pem={private})"

    __str__ = __repr__


# --------------------------------------------------------------------------- tokens


def _now(now: TimeLike) -> float:
    if now is None:
        return system_clock.time()
    if isinstance(now, datetime):
        return now.timestamp()
    if isinstance(now, int | float) and not isinstance(now, bool):
        return float(now)
    if hasattr(now, "time"):
        return float(now.time())
    raise TypeError(f"now must be a timestamp, datetime or Clock, not {type(now).__name__}")


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def sign_user_token(
    private_pem: str | bytes | SigningKey,
    sub: str,
    *,
    ttl: int = 3600,
    now: TimeLike = None,
    **claims: Any,
) -> str:
    """An RS256 user token with ``sub``, ``iat`` (now) and ``exp`` (now + ``ttl``).

    Extra ``claims`` are added as given (``sub``/``iat``/``exp`` in them are refused).
    Raises ValueError for an empty ``sub``, a non-positive ``ttl`` or a PEM that is not
    an RSA 2048+ private key.

        token = sign_user_token(key.private_pem, "user-42", ttl=600)
    """
    if isinstance(private_pem, SigningKey):
        return private_pem.sign(sub, ttl=ttl, now=now, **claims)
    if not isinstance(sub, str) or not sub:
        raise ValueError(f"sub must be a non-empty string (your user's id), got {sub!r}")
    if ttl <= 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
    fixed = {"sub", "iat", "exp"} & set(claims)
    if fixed:
        raise ValueError(f"claims {sorted(fixed)} are set by sign_user_token; pass sub/ttl/now")
    text = private_pem.decode() if isinstance(private_pem, bytes) else private_pem
    key = _load_private(text)
    iat = int(_now(now))
    payload = {"sub": sub, "iat": iat, "exp": iat + int(ttl), **claims}
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"typ": "JWT"})


def _b64json(segment: str, what: str) -> dict:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError):
        raise TokenInvalid(f"malformed token: its {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise TokenInvalid(f"malformed token: its {what} is not a JSON object")
    return value


def _split(token: object) -> tuple[dict, dict]:
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise TokenInvalid("malformed token: not ASCII") from None
    if not isinstance(token, str) or not token.strip():
        raise TokenInvalid("no token: send 'Authorization: Bearer <user token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid(f"malformed token: longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenInvalid(
            f"malformed token: a JWT has 3 dot-separated parts, this one has {len(parts)}"
        )
    return _b64json(parts[0], "header"), _b64json(parts[1], "payload")


def peek_user_token(token: str) -> dict:
    """The claims of ``token`` WITHOUT checking its signature (what the browser SDK does).

    Only for client-side convenience (reading ``sub``/``exp``); never for authorization.
    Raises TokenInvalid if it is not a well-formed JWT.
    """
    return _split(token)[1]


def _number(claims: dict, name: str) -> float:
    if name not in claims:
        raise TokenInvalid(f"token has no '{name}' claim; user tokens need sub, iat and exp")
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenInvalid(f"token claim '{name}' must be a number of seconds, got {value!r}")
    return float(value)


def verify_user_token(
    token: str,
    public_pems: str | SigningKey | Sequence[str | SigningKey],
    *,
    leeway: float = DEFAULT_LEEWAY,
    now: TimeLike = None,
) -> dict:
    """Check ``token`` against one or more public keys and return its claims.

    Accepts only RS256 signed by one of ``public_pems``; requires a non-empty string
    ``sub`` and numeric ``iat``/``exp``. ``leeway`` (seconds) tolerates clock skew.

    Raises TokenInvalid (malformed, wrong ``alg``, bad signature / another key, missing or
    mistyped claim, no key configured), TokenExpired (``exp`` passed) or
    TokenNotYetValid (``iat``/``nbf`` in the future).

        claims = verify_user_token(token, project_public_pem)
    """
    if isinstance(public_pems, str | SigningKey):
        public_pems = [public_pems]
    pems = tuple(item.public_pem if isinstance(item, SigningKey) else item for item in public_pems)
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise TokenInvalid("malformed token: not ASCII") from None
    if not isinstance(token, str):
        raise TokenInvalid("no token: send 'Authorization: Bearer <user token>'")
    claims = dict(
        _verified_claims(token.strip(), pems)
    )  # the caller's own copy of the cached claims
    return _check_claims(claims, now=_now(now), leeway=leeway)


@lru_cache(maxsize=1024)
def _verified_claims(text: str, pems: tuple[str, ...]) -> dict:
    """The claims of ``text`` if it is RS256 and one of ``pems`` verifies its signature.

    Cached per (token, keys): an app sends the same token with every call of a session, and
    parsing and the signature check are most of a request's cost. Only successes are
    cached; the time claims (exp, iat, nbf) are checked on every use by the caller, and a
    rotated key changes ``pems``, so a token of the old key is checked (and refused) afresh.
    """
    header, _ = _split(text)
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenInvalid(
            f"token algorithm {alg!r} is not accepted; user tokens must be signed with RS256"
        )
    for pem in pems:
        try:
            _load_public(pem)
        except ValueError as exc:
            raise TokenInvalid(f"the project's public key is unusable: {exc}") from None
    if not pems:
        raise TokenInvalid(
            "the project has no signing key yet; call project.generate_signing_key() and "
            "sign tokens with its private half"
        )
    for pem in pems:
        try:
            return jwt.decode(
                text,
                _load_public(pem),
                algorithms=[ALGORITHM],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    # (U) Paragon's docs do not say whether `aud` ("useparagon.com/<projectId>")
                    # is required or checked; we neither require nor check it.
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,  # checked by _check_claims with our own message
                    "verify_jti": False,
                    "require": [],
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise TokenInvalid(f"malformed token: {type(exc).__name__}") from None
    raise TokenInvalid(
        "token signature does not match the project's signing key (signed with another "
        "or an old key, or altered); sign it with the current private key"
    )


def _check_claims(claims: dict, *, now: float, leeway: float) -> dict:
    sub = claims.get("sub")
    if sub is None:
        raise TokenInvalid("token has no 'sub' claim; set it to your user's id")
    if not isinstance(sub, str) or not sub:
        raise TokenInvalid(f"token claim 'sub' must be a non-empty string, got {sub!r}")
    iat = _number(claims, "iat")
    exp = _number(claims, "exp")
    if exp < iat:
        raise TokenInvalid(f"token expires ({_iso(exp)}) before it was issued ({_iso(iat)})")
    if now - leeway >= exp:
        raise TokenExpired(
            f"token expired at {_iso(exp)} (now {_iso(now)}); sign a new token for {sub!r}"
        )
    if iat > now + leeway:
        raise TokenNotYetValid(
            f"token issued in the future ({_iso(iat)}, now {_iso(now)}, leeway {leeway:g}s); "
            "check the signing machine's clock"
        )
    if "nbf" in claims:
        nbf = _number(claims, "nbf")
        if nbf > now + leeway:
            raise TokenNotYetValid(f"token not valid before {_iso(nbf)} (now {_iso(now)})")
    return claims
