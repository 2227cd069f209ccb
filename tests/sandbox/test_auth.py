"""Identity endpoint and token checks (reference §1, §10.2-3)."""

from __future__ import annotations

import re

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp

from .conftest import Api


def _creds(app: SandboxApp, **over: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        **over,
    }


def test_token_is_reused_until_expiry_with_falling_expires_in(
    app: SandboxApp, api: Api, clock: FakeClock
) -> None:
    first = api.http.get("/identity/oauth/token", params=_creds(app))
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3599
    assert re.fullmatch(r"[0-9a-f-]{36}:\w+", body["access_token"])
    clock.advance(100)
    second = api.http.post("/identity/oauth/token", data=_creds(app)).json()  # form body
    assert second["access_token"] == body["access_token"]
    assert second["expires_in"] == 3499
    clock.advance(3500)
    third = api.http.get("/identity/oauth/token", params=_creds(app)).json()
    assert third["access_token"] != body["access_token"] and third["expires_in"] == 3599
    assert app.stats.identity_calls == 3 and app.stats.calls_total == 0


@pytest.mark.parametrize(
    ("over", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "unauthorized"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_bad_credentials_get_oauth_errors(
    app: SandboxApp, api: Api, over: dict, status: int, error: str
) -> None:
    r = api.http.get("/identity/oauth/token", params=_creds(app, **over))
    assert r.status_code == status
    assert r.json()["error"] == error and r.json()["error_description"]
    assert app.client_secret not in r.text


def test_auth_codes_inside_http_200(app: SandboxApp, api: Api, clock: FakeClock) -> None:
    r = api.request("GET", "/rest/v1/leads/describe.json", auth=False)
    assert r.status_code == 200
    assert r.json()["errors"] == [{"code": "600", "message": "Access token not specified"}]
    r = api.request(
        "GET", "/rest/v1/leads/describe.json", headers={"Authorization": "Bearer nope:sb"}
    )
    assert r.json()["errors"][0]["code"] == "601" and r.json()["success"] is False
    token = api.token()
    clock.advance(3600)
    assert api.get("/rest/v1/leads/describe.json")["errors"][0]["code"] == "602"
    api._token = None
    assert api.get("/rest/v1/leads/describe.json")["success"] is True
    assert api.token() != token


def test_access_token_parameter_in_query_or_form_is_accepted(app: SandboxApp, api: Api) -> None:
    token = api.token()
    res = api.get("/rest/v1/leads/describe.json", auth=False, params={"access_token": token})
    assert res["success"] is True
    res = api.post(
        "/rest/v1/leads.json",
        auth=False,
        data={
            "access_token": token,
            "_method": "GET",
            "filterType": "email",
            "filterValues": "x@y.z",
        },
    )
    assert res == {"requestId": res["requestId"], "result": [], "success": True}


def test_expire_tokens_helper_gives_602(app: SandboxApp, api: Api) -> None:
    api.token()
    app.expire_tokens()
    assert api.get("/rest/v1/leads/describe.json")["errors"][0]["code"] == "602"


def test_auth_failures_are_not_counted(app: SandboxApp, api: Api) -> None:
    api.request("GET", "/rest/v1/leads/describe.json", auth=False)
    api.get("/rest/v1/leads/describe.json")
    assert app.stats.calls_total == 2 and app.stats.counted_calls == 1
    assert app.stats.errors_by_code["600"] == 1


def test_request_id_format(api: Api) -> None:
    res = api.get("/rest/v1/leads/describe.json")
    assert re.fullmatch(r"[0-9a-f]+#[0-9a-f]+", res["requestId"])


def test_repr_masks_secret(app: SandboxApp) -> None:
    assert app.client_secret not in repr(app) and "***" in repr(app)
