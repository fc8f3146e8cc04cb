"""The console's pages over plain HTTP: what an operator reads on them, and what they never show."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from switchyard.pool import persist
from switchyard.store import accounts
from switchyard.store.db import Store
from tests.admin.conftest import ADMIN_KEY, admin_client, generate, wait_for
from tests.stack import Stack


@pytest.fixture
def browser(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        form = client.get("/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        client.post("/admin/login", data={"admin_key": ADMIN_KEY, "csrf_token": token.group(1)})
        yield client


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_accounts_page_shows_cooldowns_reasons_and_dead_accounts_but_no_secrets(
    stack: Stack, browser: httpx.Client
) -> None:
    async def trouble(store: Store) -> str:
        account = (await accounts.list_accounts(store))[0]
        await persist.save_state(
            store,
            account.id,
            "claude",
            cooldown_until=time.time() + 7200,
            cooldown_reason="quota exhausted",
            quota_remaining=0.0,
            quota_reset_at=time.time() + 7200,
        )
        await persist.save_state(store, account.id, "gemini-flash", quota_remaining=0.35)
        await accounts.add_account(
            store,
            provider="gemini_web",
            name="web-1",
            secret={"psid": "psid-secret-value", "psidts": "ts-secret"},
        )
        await accounts.update_account(store, "web-1", status="dead", status_reason="cookies expired")
        picker = [
            {
                "name": "gemini-flash",
                "display_name": "3.6 Flash",
                "id": "fbb1",
                "number": 1,
                "available": True,
            },
            {"name": "gemini-pro", "display_name": "3.1 Pro", "id": "9d8c", "number": 3, "available": False},
        ]
        await accounts.set_meta(store, "web-1", accounts.WEB_PICKER_META, picker)
        return (await accounts.upstream_account(store, account.name)).secret["refresh_token"]

    # The gateway reads every account's quota at start-up; let it finish before writing beside it.
    with admin_client(stack) as api:
        assert wait_for(lambda: api.get("/admin/api/accounts").json()[0]["models"])
    refresh_token = stack.run(trouble)
    page = browser.get("/admin/accounts")
    assert page.status_code == 200
    html = page.text
    for secret in (refresh_token, "psid-secret-value", "ts-secret", ADMIN_KEY):
        assert secret not in html
    assert "quota exhausted" in html and "cooling" in html and "in 1h 59m" in html
    assert 'class="fill critical" style="width: 0.0%"' in html
    assert 'class="fill low" style="width: 35.0%"' in html
    assert "cookies expired" in html and 'class="badge dead"' in html
    assert "Web picker" in html and 'title="gemini-flash · fbb1">3.6 Flash<' in html
    assert '<span class="picker-entry muted" title="gemini-pro · 9d8c">3.1 Pro</span>' in html
    dashboard = browser.get("/admin").text
    assert re.search(r"state-cooling\">1<", dashboard) and re.search(r"state-dead\">1<", dashboard)


def test_a_created_key_is_shown_once(browser: httpx.Client, stack: Stack) -> None:
    token = _csrf(browser.get("/admin/keys"))
    created = browser.post(
        "/admin/keys", data={"csrf_token": token, "name": "once", "quota_tokens": "5000/day"}
    )
    secret = re.search(r'id="new-key">(sk-sy-[^<]+)<', created.text)
    assert secret and created.headers["cache-control"] == "no-store"
    assert generate(stack, secret.group(1)).status_code == 200
    again = browser.get("/admin/keys").text
    assert secret.group(1) not in again and "once" in again
    assert wait_for(lambda: "/ 5,000 per day" in browser.get("/admin/keys").text)

    bad = browser.post(
        "/admin/keys", data={"csrf_token": token, "name": "bad", "rpm": "lots"}, follow_redirects=True
    )
    assert "rpm must be a whole number" in bad.text


def test_limits_enable_disable_delete_from_the_keys_page(browser: httpx.Client, stack: Stack) -> None:
    token = _csrf(browser.get("/admin/keys"))
    browser.post("/admin/keys", data={"csrf_token": token, "name": "edit-me"})
    saved = browser.post(
        "/admin/keys/edit-me/limits",
        data={"csrf_token": token, "rpm": "5", "models": "gemini-*", "expires": "2099-01-01"},
        follow_redirects=True,
    )
    assert "Saved the limits of edit-me" in saved.text and "models gemini-*; 5 rpm" in saved.text
    assert 'value="2099-01-01T00:00"' in saved.text
    disabled = browser.post("/admin/keys/edit-me/disable", data={"csrf_token": token}, follow_redirects=True)
    assert 'class="badge disabled"' in disabled.text
    deleted = browser.post("/admin/keys/edit-me/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "Deleted edit-me" in deleted.text and 'data-key="edit-me"' not in deleted.text


@pytest.mark.parametrize("range_name", ["hour", "day", "week"])
def test_dashboard_and_request_log_render_every_view(
    browser: httpx.Client, stack: Stack, range_name: str
) -> None:
    key = stack.create_key("viewer")
    assert generate(stack, key).status_code == 200
    assert wait_for(lambda: "viewer" in browser.get("/admin/requests").text)
    for by in ("provider", "model", "key", "account"):
        page = browser.get("/admin", params={"range": range_name, "by": by})
        assert page.status_code == 200 and 'id="legend"' in page.text
        assert 'rect class="seg"' in page.text
    log = browser.get("/admin/requests", params={"key": "viewer", "status": "ok"})
    assert "antigravity-1" in log.text and "gemini-2.5-flash" in log.text
    assert browser.get("/admin/requests", params={"status": "teapot"}).status_code == 400


def test_models_page_and_api_show_the_live_catalogue(stack: Stack, browser: httpx.Client) -> None:
    with admin_client(stack) as api:
        rows = wait_for(lambda: api.get("/admin/api/models").json())
        assert rows, "the gateway reads every account's catalogue at start-up"
        by_id = {row["id"]: row for row in rows}
        sonnet = by_id["claude-sonnet-4-6"]
        assert "claude-sonnet-4-5" in sonnet["aliases"] and sonnet["quota_group"] == "3p"
        assert [a["account"] for a in sonnet["accounts"]] == stack.account_names
        assert "gemini-3.1-pro-high" not in by_id, "forwarded by the upstream's deprecatedModelIds"
        httpx.post(
            f"{stack.cloudcode}/_control/retire",
            json={"model": "gemini-3.6-flash-low", "replacement": "gemini-3.7-flash-low"},
        ).raise_for_status()
        assert api.post("/admin/api/accounts/check", json={}).status_code == 200
        assert "gemini-3.6-flash-low" not in {row["id"] for row in api.get("/admin/api/models").json()}
    page = browser.get("/admin/models")
    assert page.status_code == 200
    assert "Claude Sonnet 4.6 (Thinking)" in page.text and "<code>claude-sonnet-4-5</code>" in page.text
    assert "gemini-3.6-flash-low</code>" not in page.text


def test_an_accounts_user_agent_is_shown_and_set_from_the_accounts_page(
    stack: Stack, browser: httpx.Client
) -> None:
    page = browser.get("/admin/accounts")
    name = re.findall(r'data-account="([^"]+)"', page.text)[0]
    assert "gateway setting" in page.text
    own = "antigravity/cli/1.1.22 darwin/arm64"
    done = browser.post(
        f"/admin/accounts/{name}/user-agent", data={"csrf_token": _csrf(page), "user_agent": own}
    )
    assert done.status_code in (200, 303)
    after = browser.get("/admin/accounts").text
    assert f"<code>{own}</code>" in after
    with admin_client(stack) as api:
        assert {a["name"]: a for a in api.get("/admin/api/accounts").json()}[name]["user_agent"] == own
