"""The Google OAuth emulator, driven over real HTTP on loopback the way the gateway and a browser use it."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from switchyard.emulators.google_oauth import create_app
from switchyard.emulators.tokens import read_access_token
from tests.servers import serve

CLIENT_ID = "1234-emulator-test.apps.googleusercontent.com"
REDIRECT_URI = "http://localhost:51121/oauth-callback"
SCOPE = "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email"


@pytest.fixture
def client_secret() -> str:
    """Generated per test, so no credential-shaped literal lives in the repository."""
    return "GOCSPX-" + secrets.token_urlsafe(21)


@pytest.fixture
def oauth() -> Iterator[httpx.Client]:
    with serve(create_app()) as base, httpx.Client(base_url=base, follow_redirects=False) as client:
        yield client


def register(client: httpx.Client, name: str, **fields: str) -> dict[str, Any]:
    response = client.post("/_control/accounts", json={"name": name, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def authorize(client: httpx.Client, **params: str) -> httpx.Response:
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": SCOPE,
        "state": "xyz-state",
        "access_type": "offline",
        "prompt": "consent",
        **params,
    }
    return client.get("/o/oauth2/v2/auth", params={k: v for k, v in query.items() if v})


def callback_params(response: httpx.Response) -> dict[str, str]:
    """Follow the redirect by hand: check it goes back to the client and read its query."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def exchange(
    client: httpx.Client, code: str, secret: str, redirect_uri: str = REDIRECT_URI
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "client_secret": secret,
    }
    return client.post("/token", data=form)


def refresh(client: httpx.Client, refresh_token: str, secret: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": secret,
    }
    return client.post("/token", data=form)


# --- authorization-code flow ------------------------------------------------------------------


def test_authorization_code_flow_issues_tokens_for_a_new_user(
    oauth: httpx.Client, client_secret: str
) -> None:
    params = callback_params(authorize(oauth))
    assert params["state"] == "xyz-state"
    assert params["scope"] == SCOPE
    assert params["code"].startswith("4/0A")

    response = exchange(oauth, params["code"], client_secret)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert body["expires_in"] == 3599
    assert body["token_type"] == "Bearer"
    assert body["scope"] == SCOPE
    assert body["refresh_token"].startswith("1//0") and len(body["refresh_token"]) > 60
    token = read_access_token(body["access_token"])
    assert token is not None and not token.expired
    assert (token.account, token.email) == ("user-1", "user-1@example.com")
    assert refresh(oauth, body["refresh_token"], client_secret).status_code == 200


def test_code_is_single_use(oauth: httpx.Client, client_secret: str) -> None:
    code = callback_params(authorize(oauth))["code"]
    assert exchange(oauth, code, client_secret).status_code == 200

    again = exchange(oauth, code, client_secret)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_must_be_redeemed_with_the_redirect_uri_it_was_issued_for(
    oauth: httpx.Client, client_secret: str
) -> None:
    code = callback_params(authorize(oauth))["code"]

    response = exchange(oauth, code, client_secret, redirect_uri="http://localhost:9999/elsewhere")

    assert response.status_code == 400
    assert response.json()["error"] == "redirect_uri_mismatch"
    assert "access_token" not in response.json()


def test_online_access_gets_no_refresh_token_and_openid_gets_an_id_token(
    oauth: httpx.Client, client_secret: str
) -> None:
    code = callback_params(authorize(oauth, access_type="", scope="openid email"))["code"]

    body = exchange(oauth, code, client_secret).json()

    assert "refresh_token" not in body
    claims = json.loads(_b64decode(body["id_token"].split(".")[1]))
    assert claims["email"] == "user-1@example.com"
    assert claims["aud"] == CLIENT_ID


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_login_hint_picks_the_registered_account(oauth: httpx.Client, client_secret: str) -> None:
    registered = register(oauth, "antigravity-1", email="ada@example.org")

    code = callback_params(authorize(oauth, login_hint="ada@example.org"))["code"]
    body = exchange(oauth, code, client_secret).json()

    assert body["refresh_token"] == registered["refresh_token"]
    token = read_access_token(body["access_token"])
    assert token is not None and token.account == "antigravity-1"


def test_unknown_login_hint_creates_an_account_named_after_it(
    oauth: httpx.Client, client_secret: str
) -> None:
    code = callback_params(authorize(oauth, login_hint="grace@example.net"))["code"]
    exchange(oauth, code, client_secret)

    accounts = oauth.get("/_control/accounts").json()

    assert [(a["name"], a["email"]) for a in accounts] == [("grace", "grace@example.net")]


@pytest.mark.parametrize(
    ("missing", "status", "expected"),
    [
        ("client_id", 400, "Missing required parameter: client_id"),
        ("redirect_uri", 400, "Missing required parameter: redirect_uri"),
        ("response_type", 400, "Missing required parameter: response_type"),
        ("scope", 400, "Missing required parameter: scope"),
    ],
)
def test_bad_authorization_requests_get_an_error_page(
    oauth: httpx.Client, missing: str, status: int, expected: str
) -> None:
    response = authorize(oauth, **{missing: ""})

    assert response.status_code == status
    assert "Error 400: invalid_request" in response.text
    assert expected in response.text
    assert "location" not in response.headers


def test_only_the_code_response_type_is_supported(oauth: httpx.Client) -> None:
    response = authorize(oauth, response_type="token")

    assert response.status_code == 400
    assert "unsupported_response_type" in response.text


def test_configured_client_ids_refuse_other_clients(client_secret: str) -> None:
    with serve(create_app(client_ids=[CLIENT_ID])) as base, httpx.Client(base_url=base) as client:
        account = register(client, "antigravity-1")
        page = authorize(client, client_id="someone-else.apps.googleusercontent.com")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": account["refresh_token"],
            "client_id": "someone-else",
            "client_secret": client_secret,
        }
        token = client.post("/token", data=form)
        ours = refresh(client, account["refresh_token"], client_secret)

    assert page.status_code == 401 and "The OAuth client was not found." in page.text
    assert token.status_code == 401
    assert token.json() == {"error": "invalid_client", "error_description": "The OAuth client was not found."}
    assert ours.status_code == 200


# --- consent page -----------------------------------------------------------------------------


@pytest.fixture
def consenting() -> Iterator[httpx.Client]:
    with serve(create_app(auto_consent=False)) as base, httpx.Client(base_url=base) as client:
        yield client


def consent_form(page: httpx.Response) -> str:
    """The consent id from the page's form, checking the form posts where the emulator listens."""
    assert page.status_code == 200
    assert 'action="auth/approve"' in page.text
    found = re.search(r'name="consent_id" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_consent_page_shows_the_account_and_allow_redirects_with_a_code(
    consenting: httpx.Client, client_secret: str
) -> None:
    register(consenting, "antigravity-2", email="bob@example.com")
    page = authorize(consenting, login_hint="bob@example.com")
    consent_id = consent_form(page)
    assert "bob@example.com" in page.text and ">Allow<" in page.text

    answer = consenting.post("/o/oauth2/v2/auth/approve", data={"consent_id": consent_id, "action": "allow"})

    params = callback_params(answer)
    assert params["state"] == "xyz-state"
    token = read_access_token(exchange(consenting, params["code"], client_secret).json()["access_token"])
    assert token is not None and token.account == "antigravity-2"
    replay = consenting.post("/o/oauth2/v2/auth/approve", data={"consent_id": consent_id, "action": "allow"})
    assert replay.status_code == 400


def test_consent_page_cancel_redirects_with_access_denied(consenting: httpx.Client) -> None:
    consent_id = consent_form(authorize(consenting))

    answer = consenting.post("/o/oauth2/v2/auth/approve", data={"consent_id": consent_id, "action": "deny"})

    assert callback_params(answer) == {"error": "access_denied", "state": "xyz-state"}


# --- refresh, revoke, faults ------------------------------------------------------------------


def test_refresh_returns_a_new_access_token_only(oauth: httpx.Client, client_secret: str) -> None:
    account = register(oauth, "antigravity-1")

    response = refresh(oauth, account["refresh_token"], client_secret)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert (body["expires_in"], body["token_type"]) == (3599, "Bearer")
    assert "https://www.googleapis.com/auth/cloud-platform" in body["scope"].split()
    token = read_access_token(body["access_token"])
    assert token is not None
    assert (token.account, token.email) == ("antigravity-1", "antigravity-1@example.com")


INVALID_GRANT = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_unknown_refresh_token_is_an_invalid_grant(oauth: httpx.Client, client_secret: str) -> None:
    response = refresh(oauth, "1//0" + secrets.token_urlsafe(40), client_secret)

    assert response.status_code == 400
    assert response.json() == INVALID_GRANT


def test_revoked_refresh_tokens_are_invalid_grants(oauth: httpx.Client, client_secret: str) -> None:
    first = register(oauth, "antigravity-1")
    second = register(oauth, "antigravity-2")

    assert oauth.post("/_control/accounts/antigravity-1/revoke").status_code == 200
    assert oauth.post("/revoke", params={"token": second["refresh_token"]}).status_code == 200

    for account in (first, second):
        response = refresh(oauth, account["refresh_token"], client_secret)
        assert response.status_code == 400
        assert response.json() == INVALID_GRANT
    assert [a["revoked"] for a in oauth.get("/_control/accounts").json()] == [True, True]
    assert oauth.post("/revoke", params={"token": second["refresh_token"]}).status_code == 400


@pytest.mark.parametrize(
    ("drop", "replace", "status", "error"),
    [
        ("client_secret", {}, 400, "invalid_request"),
        ("client_id", {}, 400, "invalid_request"),
        ("refresh_token", {}, 400, "invalid_request"),
        (None, {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_malformed_token_requests(
    oauth: httpx.Client,
    client_secret: str,
    drop: str | None,
    replace: dict[str, str],
    status: int,
    error: str,
) -> None:
    account = register(oauth, "antigravity-1")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": account["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": client_secret,
        **replace,
    }
    form.pop(drop or "", None)

    response = oauth.post("/token", data=form)

    assert response.status_code == status
    assert response.json()["error"] == error


def test_invalid_grant_fault_hits_only_its_account_and_does_not_revoke(
    oauth: httpx.Client, client_secret: str
) -> None:
    first = register(oauth, "antigravity-1")
    second = register(oauth, "antigravity-2")
    queued = oauth.post(
        "/_control/faults", json={"match": {"account": "antigravity-1"}, "fault": "invalid_grant"}
    )
    assert queued.status_code == 200

    other = refresh(oauth, second["refresh_token"], client_secret)
    hit = refresh(oauth, first["refresh_token"], client_secret)
    after = refresh(oauth, first["refresh_token"], client_secret)

    assert other.status_code == 200
    assert (hit.status_code, hit.json()) == (400, INVALID_GRANT)
    assert after.status_code == 200
    assert oauth.get("/_control/faults").json() == []


def test_server_error_and_delay_faults(oauth: httpx.Client, client_secret: str) -> None:
    account = register(oauth, "antigravity-1")
    oauth.post("/_control/faults", json={"fault": "server_error"})
    oauth.post("/_control/faults", json={"fault": "delay_ms", "delay_ms": 300})

    failed = refresh(oauth, account["refresh_token"], client_secret)
    started = time.monotonic()
    delayed = refresh(oauth, account["refresh_token"], client_secret)
    elapsed = time.monotonic() - started

    assert (failed.status_code, failed.json()) == (500, {"error": "internal_failure"})
    assert delayed.status_code == 200
    assert elapsed >= 0.3


# --- userinfo and expiry ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth2/v2/userinfo", "/oauth2/v1/userinfo"])
def test_userinfo_describes_the_token_owner(oauth: httpx.Client, client_secret: str, path: str) -> None:
    account = register(oauth, "antigravity-1", email="ada@example.org")
    access_token = refresh(oauth, account["refresh_token"], client_secret).json()["access_token"]

    response = oauth.get(path, params={"alt": "json"}, headers={"Authorization": f"Bearer {access_token}"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "verified_email", "name", "given_name", "picture"}
    assert (body["email"], body["verified_email"], body["name"]) == ("ada@example.org", True, "antigravity-1")
    assert body["id"].isdigit() and len(body["id"]) == 21


@pytest.mark.parametrize(
    ("authorization", "message_start"),
    [
        (None, "Request is missing required authentication credential"),
        ("Bearer ya29.not-a-real-token", "Request had invalid authentication credentials"),
    ],
)
def test_userinfo_refuses_missing_and_unknown_tokens(
    oauth: httpx.Client, authorization: str | None, message_start: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = oauth.get("/oauth2/v2/userinfo", headers=headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (401, "UNAUTHENTICATED")
    assert error["message"].startswith(message_start)


def test_short_token_lifetime_makes_tokens_expire(oauth: httpx.Client, client_secret: str) -> None:
    account = register(oauth, "antigravity-1")
    settings = oauth.post("/_control/settings", json={"token_lifetime_s": 0.3})
    assert settings.json()["token_lifetime_s"] == 0.3

    access_token = refresh(oauth, account["refresh_token"], client_secret).json()["access_token"]
    token = read_access_token(access_token)
    assert token is not None and not token.expired
    time.sleep(0.4)

    assert token.expired
    response = oauth.get("/oauth2/v2/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 401


def test_bad_settings_are_refused_and_change_nothing(oauth: httpx.Client) -> None:
    response = oauth.post("/_control/settings", json={"token_lifetime_s": -1})

    assert response.status_code == 400
    assert oauth.get("/_control/settings").json() == {"token_lifetime_s": 3599, "auto_consent": True}


# --- control API and the request log --------------------------------------------------------------


def test_registering_generates_distinct_tokens_and_lists_them_masked(oauth: httpx.Client) -> None:
    first = register(oauth, "antigravity-1")
    second = register(oauth, "antigravity-2", email="two@example.com")
    again = register(oauth, "antigravity-1")

    listed = oauth.get("/_control/accounts").json()

    assert first["refresh_token"] != second["refresh_token"]
    assert again["refresh_token"] == first["refresh_token"]
    assert listed == [
        {
            "name": "antigravity-1",
            "email": "antigravity-1@example.com",
            "refresh_token": "…" + first["refresh_token"][-4:],
            "revoked": False,
        },
        {
            "name": "antigravity-2",
            "email": "two@example.com",
            "refresh_token": "…" + second["refresh_token"][-4:],
            "revoked": False,
        },
    ]
    conflict = oauth.post("/_control/accounts", json={"name": "x", "refresh_token": first["refresh_token"]})
    assert conflict.status_code == 409


def test_request_log_masks_every_secret(oauth: httpx.Client, client_secret: str) -> None:
    code = callback_params(authorize(oauth))["code"]
    tokens = exchange(oauth, code, client_secret).json()
    refreshed = refresh(oauth, tokens["refresh_token"], client_secret).json()
    oauth.get("/oauth2/v2/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    oauth.get("/oauth2/v2/userinfo", params={"access_token": tokens["access_token"]})
    oauth.post("/revoke", params={"token": tokens["refresh_token"]})

    log = oauth.get("/_control/requests").json()
    text = json.dumps(log, ensure_ascii=False)

    secrets_used = [
        code,
        client_secret,
        tokens["refresh_token"],
        tokens["access_token"],
        refreshed["access_token"],
    ]
    for secret in secrets_used:
        assert secret not in text
    assert [entry["path"] for entry in log] == [
        "/o/oauth2/v2/auth",
        "/token",
        "/token",
        "/oauth2/v2/userinfo",
        "/oauth2/v2/userinfo",
        "/revoke",
    ]
    assert {entry["account"] for entry in log} == {"user-1"}
    assert log[2]["body"]["refresh_token"] == "…" + tokens["refresh_token"][-4:]
    assert log[2]["body"]["grant_type"] == "refresh_token"


def test_reset_clears_faults_and_log_but_keeps_accounts(oauth: httpx.Client, client_secret: str) -> None:
    account = register(oauth, "antigravity-1")
    refresh(oauth, account["refresh_token"], client_secret)
    oauth.post("/_control/faults", json={"fault": "server_error"})

    assert oauth.post("/_control/reset").status_code == 200

    assert oauth.get("/_control/faults").json() == []
    assert oauth.get("/_control/requests").json() == []
    assert [a["name"] for a in oauth.get("/_control/accounts").json()] == ["antigravity-1"]
    assert refresh(oauth, account["refresh_token"], client_secret).status_code == 200


def test_consent_flow_works_mounted_under_a_prefix(client_secret: str) -> None:
    """`switchyard demo` serves the emulator under `/_emulator/oauth/`; the page's form must follow."""
    outer = Starlette(routes=[Mount("/_emulator/oauth", app=create_app(auto_consent=False))])
    with serve(outer) as base, httpx.Client(base_url=f"{base}/_emulator/oauth") as client:
        page = authorize(client)
        action = urljoin(str(page.url), "auth/approve")
        answer = client.post(action, data={"consent_id": consent_form(page), "action": "allow"})
        tokens = exchange(client, callback_params(answer)["code"], client_secret)

    assert urlsplit(action).path == "/_emulator/oauth/o/oauth2/v2/auth/approve"
    assert tokens.status_code == 200
    assert tokens.json()["refresh_token"].startswith("1//0")


def test_untyped_token_requests_are_understood_and_logged_masked(
    oauth: httpx.Client, client_secret: str
) -> None:
    """A client that forgets the form content type still gets served, and its secrets stay out of the log."""
    account = register(oauth, "antigravity-1")
    content = httpx.QueryParams(
        {
            "grant_type": "refresh_token",
            "refresh_token": account["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": client_secret,
        }
    )

    response = oauth.post("/token", content=str(content).encode(), headers={"content-type": "text/plain"})

    assert response.status_code == 200
    text = json.dumps(oauth.get("/_control/requests").json(), ensure_ascii=False)
    assert account["refresh_token"] not in text and client_secret not in text
