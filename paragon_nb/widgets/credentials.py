"""What the Connect form starts from and says about Marketo credentials.

- :class:`CredentialSource`: what ``ConnectPortal(credentials=...)`` takes (a
  :class:`~paragon_nb.runtime.gateway.MarketoCredentials`, a running sandbox, or anything
  with the same four attributes); :func:`credentials_from_env` is the default.
- :func:`identity_for` / :func:`normalized_endpoint`: the Identity URL and REST endpoint of
  what a user typed.
- :func:`explain_connect_error`: one plain sentence, with the next step, for why connecting
  failed.

No widget lives here; the portal's model and view import these.
"""

from __future__ import annotations

import os
from typing import Protocol
from urllib.parse import urlsplit

from paragon_nb.errors import MarketoAuthError, MarketoError, MarketoNotFound, TransientMarketoError
from paragon_nb.marketo._base import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_ENDPOINT, ENV_IDENTITY
from paragon_nb.marketo._base import _split_endpoint as _split_rest_endpoint
from paragon_nb.runtime.gateway import MarketoCredentials

__all__ = [
    "CredentialSource",
    "credentials_from_env",
    "explain_connect_error",
    "identity_for",
    "normalized_endpoint",
    "source_label",
]


class CredentialSource(Protocol):
    """Marketo credentials to prefill the Connect form from (MarketoCredentials, a
    MarketoSandbox): the secret is read only when connecting, and only for the endpoint and
    client id they name; ``identity`` None means "from the endpoint"."""

    @property
    def endpoint(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...

    @property
    def identity(self) -> str | None: ...


def identity_for(endpoint: str) -> str:
    """Marketo's Identity URL for a REST endpoint: same origin + ``/identity``."""
    parts = urlsplit(endpoint.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/identity"


def normalized_endpoint(endpoint: str) -> str:
    """The REST endpoint as the client uses it: ``https://HOST/rest`` (``/rest/v1``, a
    trailing slash and spaces dropped). ConfigurationError when it is not an http(s) URL."""
    base, rest = _split_rest_endpoint(endpoint.strip())
    return base + rest


def credentials_from_env() -> MarketoCredentials | None:
    """MARKETO_ENDPOINT / MARKETO_CLIENT_ID / MARKETO_CLIENT_SECRET (+ MARKETO_IDENTITY), or
    None unless all three are set."""
    values = [os.environ.get(name, "") for name in (ENV_ENDPOINT, ENV_CLIENT_ID, ENV_CLIENT_SECRET)]
    if not all(values):
        return None
    return MarketoCredentials(*values, identity=os.environ.get(ENV_IDENTITY) or None)


def source_label(credentials: CredentialSource) -> str:
    """Where prefilled values come from, as the form names it."""
    if isinstance(credentials, MarketoCredentials) and credentials == credentials_from_env():
        return "the MARKETO_* environment variables"
    name = type(credentials).__name__
    return "the sandbox" if name == "MarketoSandbox" else f"the {name}"


def explain_connect_error(exc: BaseException, *, endpoint: str) -> str:
    """One plain sentence for why connecting failed, with the next step."""
    if isinstance(exc, MarketoAuthError):
        return (
            "Marketo refused the Client ID / Client Secret. Copy them again from Admin > "
            "LaunchPoint > your custom service > View Details."
        )
    if isinstance(exc, MarketoNotFound):
        return (
            f"{endpoint} answered, but not as Marketo's REST API. The Endpoint URL ends in "
            "/rest (Admin > Web Services > REST API)."
        )
    if isinstance(exc, TransientMarketoError) and exc.code in (None, "502", "503", "504"):
        return (
            f"Could not reach {endpoint}. Check the Endpoint URL (Admin > Web Services > "
            "REST API) and your network, then try again."
        )
    if isinstance(exc, MarketoError):
        return f"Marketo answered with an error: {exc}"
    return str(exc)
