"""The admin JSON API over real HTTP: auth on every route, keys, accounts, sign-in, usage, OpenAPI."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.admin.conftest import admin_client, generate, wait_for
from tests.stack import Stack

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate Operation ID:UserWarning")
"""Another surface's routes share operation ids; the warning is raised when /openapi.json is built."""


def _admin_operations(stack: Stack) -> list[tuple[str, str, dict]]:
    schema = httpx.get(f"{stack.gateway}/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/admin/api/")
        for method, operation in item.items()
    ]


def test_openapi_documents_every_admin_route_with_bearer_auth_and_a_response_model(stack: Stack) -> None:
    operations = _admin_operations(stack)
    paths = {f"{method} {path}" for method, path, _ in operations}
    for expected in (
        "GET /admin/api/keys",
        "POST /admin/api/keys",
        "PUT /admin/api/keys/{name}/limits",
        "DELETE /admin/api/keys/{name}",
        "GET /admin/api/accounts",
        "POST /admin/api/accounts/import",
        "POST /admin/api/accounts/check",
        "POST /admin/api/accounts/login/start",
        "POST /admin/api/accounts/login/finish",
        "GET /admin/api/usage/series",
        "GET /admin/api/usage/requests",
    ):
        assert expected in paths
    for method, path, operation in operations:
        assert operation.get("security"), f"{method} {path} has no security requirement"
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        if ok != "204":
            assert "schema" in operation["responses"][ok]["content"]["application/json"], (method, path)


def test_every_admin_route_refuses_a_missing_admin_key(stack: Stack) -> None:
    for method, path, _ in _admin_operations(stack):
        url = stack.gateway + re.sub(r"\{[^}]+\}", "someone", path)
        response = httpx.request(method, url, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_client_keys_do_not_open_the_admin_api(stack: Stack) -> None:
    client_key = stack.create_key("someone")
    with admin_client(stack, client_key) as api:
        assert api.get("/admin/api/keys").status_code == 401


def test_key_lifecycle(api: httpx.Client, stack: Stack) -> None:
    created = api.post(
        "/admin/api/keys",
        json={
            "name": "team-a",
            "rpm": 60,
            "quota_requests": "100/day",
            "models": ["gemini-*"],
            "expires": "30d",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["key"]
    assert secret.startswith("sk-sy-") and body["fingerprint"] == "…" + secret[-4:]
    assert body["limits"]["quota_requests"] == "100/day" and body["limits"]["rpm"] == 60

    listed = api.get("/admin/api/keys").json()
    assert [k["name"] for k in listed] == ["team-a"]
    assert "key" not in listed[0] and secret not in api.get("/admin/api/keys").text

    assert generate(stack, secret).status_code == 200
    usage = wait_for(lambda: api.get("/admin/api/keys/team-a").json()["usage"]["requests_in_period"] == 1)
    assert usage

    limits = api.put("/admin/api/keys/team-a/limits", json={"quota_tokens": "5000/month"})
    assert limits.status_code == 200, limits.text
    assert limits.json()["limits"] == {
        "expires_at": None,
        "models": None,
        "rpm": None,
        "max_concurrent": None,
        "quota_requests": None,
        "quota_tokens": "5000/month",
    }
    assert api.post("/admin/api/keys/team-a/disable").json()["enabled"] is False
    assert generate(stack, secret).status_code == 403
    assert api.post("/admin/api/keys/team-a/enable").json()["enabled"] is True
    assert generate(stack, secret).status_code == 200
    assert api.delete("/admin/api/keys/team-a").status_code == 204
    assert api.get("/admin/api/keys/team-a").status_code == 404
    assert generate(stack, secret).status_code == 401


def test_key_errors_are_clear(api: httpx.Client) -> None:
    assert api.post("/admin/api/keys", json={"name": "dup"}).status_code == 201
    duplicate = api.post("/admin/api/keys", json={"name": "dup"})
    assert duplicate.status_code == 409 and "exists already" in duplicate.json()["error"]["message"]
    bad = api.post("/admin/api/keys", json={"name": "x", "quota_requests": "lots"})
    assert bad.status_code == 400 and "N/day" in bad.json()["error"]["message"]
    assert api.put("/admin/api/keys/ghost/limits", json={}).status_code == 404


def test_accounts_add_list_toggle_delete_never_show_secrets(api: httpx.Client) -> None:
    psid = "g.a000-secret-psid-value-ABCD"
    added = api.post("/admin/api/accounts/gemini-web", json={"psid": psid, "psidts": "sidts-secret-XYZ"})
    assert added.status_code == 201, added.text
    name = added.json()["account"]["name"]
    assert added.json()["account"]["provider"] == "gemini-web"
    token = "1//refresh-secret-token-WXYZ"
    added = api.post("/admin/api/accounts/antigravity", json={"refresh_token": token, "check": False})
    assert added.status_code == 201 and added.json()["check"] is None

    listing = api.get("/admin/api/accounts")
    assert {a["name"] for a in listing.json()} >= {name, "antigravity-1"}
    for secret in (psid, "sidts-secret-XYZ", token):
        assert secret not in listing.text
    assert api.get("/admin/api/accounts", params={"provider": "gemini-web"}).json()[0]["name"] == name

    assert api.post(f"/admin/api/accounts/{name}/disable").json()["state"] == "disabled"
    assert api.post(f"/admin/api/accounts/{name}/enable").json()["state"] == "active"
    again = api.post("/admin/api/accounts/gemini-web", json={"psid": psid})
    assert again.status_code == 409 and name in again.json()["error"]["message"]
    assert api.delete(f"/admin/api/accounts/{name}").status_code == 204
    assert api.delete(f"/admin/api/accounts/{name}").status_code == 404


def test_import_an_uploaded_file(api: httpx.Client, tmp_path: Path) -> None:
    export = b"# tokens\n1//import-one-AAAA\n1//import-two-BBBB\n1//import-one-AAAA\n"
    response = api.post(
        "/admin/api/accounts/import",
        files={"file": ("tokens.txt", export, "text/plain")},
        data={"provider": "antigravity"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert len(report["imported"]) == 2 and len(report["skipped"]) == 1
    assert "AAAA" not in response.text.replace("…AAAA", "")


def test_check_reads_quotas_from_the_upstream(api: httpx.Client) -> None:
    results = api.post("/admin/api/accounts/check", json={"names": ["antigravity-1"]})
    assert results.status_code == 200, results.text
    (result,) = results.json()
    assert result["outcome"] == "ok" and result["project_id"]
    assert result["quotas"] and all(0 <= q["remaining_fraction"] <= 1 for q in result["quotas"])
    account = next(a for a in api.get("/admin/api/accounts").json() if a["name"] == "antigravity-1")
    assert {m["model"] for m in account["models"]} == {q["family"] for q in result["quotas"]}
    assert api.post("/admin/api/accounts/check", json={"names": ["ghost"]}).status_code == 404


def test_sign_in_flow_through_the_api(api: httpx.Client, stack: Stack) -> None:
    started = api.post("/admin/api/accounts/login/start", json={})
    assert started.status_code == 200, started.text
    start = started.json()
    assert start["redirect_uri"] == f"{stack.gateway}/admin/accounts/oauth/callback"
    assert start["auth_url"].startswith(f"{stack.oauth}/o/oauth2/v2/auth?")
    consent = httpx.get(start["auth_url"], follow_redirects=False)  # the emulator consents at once
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert callback.startswith(start["redirect_uri"]) and "code" in parse_qs(urlsplit(callback).query)

    wrong = api.post(
        "/admin/api/accounts/login/finish",
        json={"callback_url": callback, "state": "another", "redirect_uri": start["redirect_uri"]},
    )
    assert wrong.status_code == 400 and "state" in wrong.json()["error"]["message"]
    finished = api.post(
        "/admin/api/accounts/login/finish",
        json={"callback_url": callback, "state": start["state"], "redirect_uri": start["redirect_uri"]},
    )
    assert finished.status_code == 200, finished.text
    body = finished.json()
    assert body["created"] is True and body["account"]["email"]
    assert body["check"]["outcome"] == "ok" and body["account"]["models"]


def test_usage_series_and_request_log(api: httpx.Client, stack: Stack) -> None:
    key = stack.create_key("usage-key")
    assert generate(stack, key).status_code == 200
    assert generate(stack, key, model="no-such-model").status_code >= 400

    log = wait_for(lambda: len(api.get("/admin/api/usage/requests").json()["requests"]) == 2)
    assert log
    rows = api.get("/admin/api/usage/requests").json()["requests"]
    ok = next(r for r in rows if r["status"] == 200)
    assert ok["key_name"] == "usage-key" and ok["account"] == "antigravity-1"
    assert ok["model"] == "gemini-2.5-flash" and ok["latency_ms"] > 0 and ok["ttfb_ms"] is not None
    assert ok["prompt_tokens"] > 0
    errors = api.get("/admin/api/usage/requests", params={"status": "error"}).json()["requests"]
    assert [r["model"] for r in errors] == ["no-such-model"]
    assert api.get("/admin/api/usage/requests", params={"key": "nobody"}).json()["requests"] == []
    paged = api.get("/admin/api/usage/requests", params={"limit": 1}).json()
    assert len(paged["requests"]) == 1 and paged["next_before_id"] == paged["requests"][0]["id"]
    assert api.get("/admin/api/usage/requests", params={"status": "teapot"}).status_code == 400

    for by in ("provider", "model", "key", "account"):
        series = api.get("/admin/api/usage/series", params={"range": "hour", "by": by}).json()
        assert series["totals"]["requests"] == 2 and series["totals"]["errors"] == 1
        assert len(series["requests"][series["groups"][0]]) == series["buckets"] == 60
    by_key = api.get("/admin/api/usage/series", params={"range": "week", "by": "key"}).json()
    assert by_key["groups"] == ["usage-key"] and sum(by_key["requests"]["usage-key"]) == 2
    assert api.get("/admin/api/usage/series", params={"range": "year"}).status_code == 400


def test_an_antigravity_accounts_user_agent_is_added_changed_and_cleared(api: httpx.Client) -> None:
    own = "antigravity/cli/1.1.22 darwin/arm64"
    added = api.post(
        "/admin/api/accounts/antigravity",
        json={"refresh_token": "1//refresh-ua-token-QRST", "check": False, "user_agent": own, "name": "ua-1"},
    )
    assert added.status_code == 201, added.text
    assert added.json()["account"]["user_agent"] == own
    changed = api.patch(
        "/admin/api/accounts/ua-1", json={"user_agent": "antigravity/hub/2.12.0 darwin/arm64"}
    )
    assert (
        changed.status_code == 200 and changed.json()["user_agent"] == "antigravity/hub/2.12.0 darwin/arm64"
    )
    assert api.patch("/admin/api/accounts/ua-1", json={"user_agent": "two\nlines"}).status_code == 400
    assert api.patch("/admin/api/accounts/ua-1", json={"user_agent": None}).json()["user_agent"] is None
    assert api.patch("/admin/api/accounts/nobody", json={"user_agent": own}).status_code == 404


def test_admin_input_that_used_to_be_a_500(api: httpx.Client) -> None:
    """Issue 17 #13: each of these was a server error; each is now the documented client error."""
    chosen = "chosen-key-" + "x" * 16
    assert api.post("/admin/api/keys", json={"name": "first", "key": chosen}).status_code == 201
    duplicate = api.post("/admin/api/keys", json={"name": "second", "key": chosen})
    assert duplicate.status_code == 409 and "choose a different one" in duplicate.json()["error"]["message"]
    for limits in ({"rpm": 2**63}, {"max_concurrent": 2**31}, {"quota_requests": f"{2**63}/day"}):
        created = api.post("/admin/api/keys", json={"name": "huge", **limits})
        assert created.status_code in (400, 422), (limits, created.text)
        replaced = api.put("/admin/api/keys/first/limits", json=limits)
        assert replaced.status_code in (400, 422), (limits, replaced.text)
    assert api.get("/admin/api/usage/requests", params={"before_id": 2**63}).status_code == 400
    for name, content in (("..", b"{}"), ("deep.json", b"[" * 100_000 + b"]" * 100_000)):
        imported = api.post("/admin/api/accounts/import", files={"file": (name, content, "application/json")})
        assert imported.status_code == 200, (name, imported.text)
        assert imported.json()["imported"] == [] and imported.json()["skipped"]
